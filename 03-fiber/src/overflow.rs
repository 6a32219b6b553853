//! Turning a fiber stack overflow into a clear message instead of a bare
//! "Segmentation fault".
//!
//! A fiber that overflows its stack touches the guard page below it and the
//! kernel raises SIGSEGV. Rust's own handler only recognises the guard pages of
//! *thread* stacks, so for a fiber it would restore the default action and the
//! process would die without a word. We install a handler that runs on the
//! thread's alternate signal stack (the overflowed stack has no room left),
//! checks whether the faulting address is in the guard page of the fiber this
//! thread is running, and if so writes one line to stderr with `write(2)` —
//! the only output that is safe in a signal handler — and lets the fault kill
//! the process. Any other fault goes to the handler that was installed before.

use std::cell::Cell;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::Once;
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::current::RUNNING;

/// The handlers that were in place before ours, for faults that are not ours.
static PREVIOUS_SEGV: AtomicPtr<libc::sigaction> = AtomicPtr::new(ptr::null_mut());
static PREVIOUS_BUS: AtomicPtr<libc::sigaction> = AtomicPtr::new(ptr::null_mut());

thread_local! {
    /// Whether this thread has been checked for an alternate signal stack.
    static ALTSTACK_CHECKED: Cell<bool> = const { Cell::new(false) };
}

/// Installs the handler, once per process (called when a fiber is created).
pub(crate) fn ensure_handler() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(install);
}

// ANCHOR: ensure_thread_ready
/// Makes sure this thread has an alternate signal stack, for the handler to
/// run on when the fiber's stack is exhausted (called on every resume; one
/// thread-local read after the first time).
#[inline]
pub(crate) fn ensure_thread_ready() {
    if !ALTSTACK_CHECKED.with(|c| c.replace(true)) {
        ensure_altstack();
    }
}
// ANCHOR_END: ensure_thread_ready

fn install() {
    for (signal, previous) in [
        (libc::SIGSEGV, &PREVIOUS_SEGV),
        (libc::SIGBUS, &PREVIOUS_BUS),
    ] {
        // SAFETY: sigaction with a zeroed struct plus our handler and flags is
        // the documented way to install a handler; `old` receives the previous
        // one, which we keep for chaining and never free.
        unsafe {
            let mut action: libc::sigaction = MaybeUninit::zeroed().assume_init();
            action.sa_sigaction = handler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            let old = Box::into_raw(Box::new(
                MaybeUninit::<libc::sigaction>::zeroed().assume_init(),
            ));
            if libc::sigaction(signal, &action, old) == 0 {
                previous.store(old, Ordering::Release);
            } else {
                drop(Box::from_raw(old));
            }
        }
    }
}

/// Gives this thread an alternate signal stack if it has none (threads that
/// Rust's std created already have one; threads created by C code may not).
#[cold]
fn ensure_altstack() {
    const SIZE: usize = 64 * 1024;
    // SAFETY: sigaltstack with a null new stack only reads the current
    // setting into `current` (a zeroed stack_t is a valid value to
    // overwrite). mmap asks for a fresh anonymous region, aliasing nothing;
    // it is checked for MAP_FAILED, installed as this thread's alternate
    // signal stack with its exact size, and never unmapped, so it outlives
    // every signal the thread can take.
    unsafe {
        let mut current: libc::stack_t = MaybeUninit::zeroed().assume_init();
        if libc::sigaltstack(ptr::null(), &mut current) != 0
            || current.ss_flags & libc::SS_DISABLE == 0
        {
            return;
        }
        let memory = libc::mmap(
            ptr::null_mut(),
            SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if memory == libc::MAP_FAILED {
            return;
        }
        let stack = libc::stack_t {
            ss_sp: memory,
            ss_flags: 0,
            ss_size: SIZE,
        };
        // The mapping is deliberately never freed: it must outlive every
        // signal this thread may take, and threads without a Rust-made
        // alternate stack are rare.
        libc::sigaltstack(&stack, ptr::null_mut());
    }
}

// ANCHOR: handler
/// The signal handler. Only async-signal-safe work: reading a `const`
/// thread-local, formatting into a stack buffer, `write(2)`, `sigaction`.
extern "C" fn handler(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t for SA_SIGINFO handlers.
    let address = unsafe { (*info).si_addr() } as usize;
    let running = RUNNING.with(Cell::get);
    let (low, high) = running.guard;
    if running.id != 0 && (low..high).contains(&address) {
        let mut line = Line::new();
        line.push(b"\nfatal: fiber ");
        line.push_number(running.id as usize);
        line.push(b" overflowed its stack (fault at guard page 0x");
        line.push_hex(address);
        line.push(b"); give it a larger stack (config fiber.stack_size)\n");
        // SAFETY: write(2) on fd 2 with a valid buffer; a raw syscall so that
        // no interposed `write` (chapter 6) runs inside a signal handler.
        unsafe { libc::syscall(libc::SYS_write, 2, line.bytes.as_ptr(), line.len) };
        restore_default(signal);
        return; // the faulting instruction runs again and kills the process
    }
    let previous = if signal == libc::SIGBUS {
        PREVIOUS_BUS.load(Ordering::Acquire)
    } else {
        PREVIOUS_SEGV.load(Ordering::Acquire)
    };
    // SAFETY: `previous` is null or the sigaction saved by `install`, never freed.
    match unsafe { previous.as_ref() } {
        Some(old) if old.sa_flags & libc::SA_SIGINFO != 0 => {
            // SAFETY: with SA_SIGINFO the saved handler has this signature.
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { std::mem::transmute(old.sa_sigaction) };
            f(signal, info, context);
        }
        Some(old) if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN => {
            // SAFETY: without SA_SIGINFO the saved handler takes only the signal.
            let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(old.sa_sigaction) };
            f(signal);
        }
        _ => restore_default(signal),
    }
}
// ANCHOR_END: handler

/// Puts back the default action, so that returning re-raises the fault fatally.
fn restore_default(signal: libc::c_int) {
    // SAFETY: installing SIG_DFL with a zeroed sigaction is always valid.
    unsafe {
        let mut action: libc::sigaction = MaybeUninit::zeroed().assume_init();
        action.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(signal, &action, ptr::null_mut());
    }
}

/// A fixed buffer for building the message without allocating.
struct Line {
    bytes: [u8; 256],
    len: usize,
}

impl Line {
    fn new() -> Self {
        Line {
            bytes: [0; 256],
            len: 0,
        }
    }

    fn push(&mut self, text: &[u8]) {
        for &b in text {
            if self.len < self.bytes.len() {
                self.bytes[self.len] = b;
                self.len += 1;
            }
        }
    }

    fn push_number(&mut self, mut n: usize) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }

    fn push_hex(&mut self, mut n: usize) {
        let mut digits = [0u8; 16];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b"0123456789abcdef"[n & 0xf];
            n >>= 4;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }
}

#[cfg(test)]
mod tests {
    use super::Line;

    #[test]
    fn line_formats_numbers_without_allocating() {
        let mut line = Line::new();
        line.push(b"fiber ");
        line.push_number(4096);
        line.push(b" at 0x");
        line.push_hex(0xdead_beef);
        assert_eq!(&line.bytes[..line.len], b"fiber 4096 at 0xdeadbeef");
    }

    #[test]
    fn line_truncates_instead_of_overflowing() {
        let mut line = Line::new();
        for _ in 0..100 {
            line.push(b"abcdef");
        }
        assert_eq!(line.len, 256);
    }
}
