//! Where an event's context comes from: the clock since program start, the calling
//! thread's id and name, and the running fiber's id (through a provider that a later
//! crate registers).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::SystemTime;

// ---------------------------------------------------------------------------------------
// Elapsed time since program start (`%r`).
// ---------------------------------------------------------------------------------------

/// The time the program started, captured before `main` by [`CAPTURE_START`], or at the
/// first log call on a platform without `.init_array`.
static PROGRAM_START: OnceLock<SystemTime> = OnceLock::new();

/// Runs before `main`: the dynamic loader calls every function listed in `.init_array`.
extern "C" fn capture_start() {
    PROGRAM_START.get_or_init(SystemTime::now);
    #[cfg(test)]
    tests::CAPTURED_BY_LOADER.store(true, Ordering::Relaxed);
}

// ANCHOR: capture_start
/// Puts [`capture_start`] in the ELF `.init_array`, so `%r` counts from program start
/// rather than from the first log call (sylar's `%r` printed 0 forever: a pitfall).
/// `#[used]` keeps the otherwise unreferenced static in the binary.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
#[used]
// SAFETY: `.init_array` entries are called once by the loader before `main`, with no
// arguments; `capture_start` takes none, returns nothing, cannot unwind (it only reads
// the wall clock, `SystemTime`, and fills a `OnceLock`) and needs nothing that is set
// up in `main`.
#[unsafe(link_section = ".init_array")]
static CAPTURE_START: extern "C" fn() = capture_start;
// ANCHOR_END: capture_start

// ANCHOR: elapsed_ms
/// Milliseconds since the program started (what `%r` prints).
pub fn elapsed_ms() -> u64 {
    elapsed_ms_at(SystemTime::now())
}

/// Milliseconds from program start to `now`.
///
/// Measured on the wall clock, as log4j's `%r` is: an event already reads the wall
/// clock for `%d`, and a second (monotonic) clock read costs about a tenth of a whole
/// log call (`clock_gettime` under a VM is not free). The price: `%r` jumps with the wall clock when an
/// administrator steps it (and stays at 0 while the clock is behind the start time).
pub(crate) fn elapsed_ms_at(now: SystemTime) -> u64 {
    let start = PROGRAM_START.get_or_init(SystemTime::now);
    now.duration_since(*start)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
// ANCHOR_END: elapsed_ms

// ---------------------------------------------------------------------------------------
// The calling thread (`%t`, `%N`).
// ---------------------------------------------------------------------------------------

/// The kernel's id for this thread (what `top -H` and `gettid` show), cached per thread.
struct ThreadInfo {
    id: u64,
    name: Box<str>,
}

impl ThreadInfo {
    fn current() -> ThreadInfo {
        let name = std::thread::current()
            .name()
            .unwrap_or("<unnamed>")
            .to_owned()
            .into_boxed_str();
        ThreadInfo {
            id: os_thread_id(),
            name,
        }
    }
}

thread_local! {
    /// Built on a thread's first event; a std thread's name never changes afterwards.
    static THREAD: ThreadInfo = ThreadInfo::current();
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn os_thread_id() -> u64 {
    // SAFETY: `gettid` takes no arguments, cannot fail and touches no memory.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) };
    u64::try_from(tid).unwrap_or(0)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn os_thread_id() -> u64 {
    // Elsewhere, fall back to a process-wide counter: still unique per thread.
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

// ANCHOR: with_thread
/// Calls `f` with the calling thread's id and name. The cached copy lives in a
/// thread-local; during thread teardown (when the thread-local is gone) the values are
/// computed afresh, so logging from a destructor still works instead of panicking.
pub(crate) fn with_thread<R>(f: impl FnOnce(u64, &str) -> R) -> R {
    let mut f = Some(f);
    let cached = THREAD.try_with(|t| (f.take().expect("called once"))(t.id, &t.name));
    match cached {
        Ok(r) => r,
        Err(_) => {
            let t = ThreadInfo::current();
            (f.take().expect("not called when try_with failed"))(t.id, &t.name)
        }
    }
}
// ANCHOR_END: with_thread

// ---------------------------------------------------------------------------------------
// The running fiber (`%f`).
// ---------------------------------------------------------------------------------------

// ANCHOR: fiber_provider
/// The registered fiber-id function as a raw pointer; null until one is registered.
///
/// # Invariant
/// Holds either null or a pointer obtained from a `fn() -> u64` by `as *mut ()`.
static FIBER_ID_PROVIDER: AtomicPtr<()> = AtomicPtr::new(std::ptr::null_mut());

/// Registers the function `%f` calls to learn the running fiber's id.
///
/// The logger is chapter 1 and fibers are chapter 3: the log crate cannot name the fiber
/// crate, so the dependency is inverted. sylar-fiber calls this once at start-up with a
/// function that reads its thread-local "current fiber". Until then `%f` prints 0.
/// Registering again replaces the previous provider.
pub fn set_fiber_id_provider(provider: fn() -> u64) {
    FIBER_ID_PROVIDER.store(provider as *mut (), Ordering::Release);
}

/// The running fiber's id from the registered provider, or 0 if there is none. One
/// atomic load on the hot path.
pub fn current_fiber_id() -> u64 {
    let raw = FIBER_ID_PROVIDER.load(Ordering::Acquire);
    if raw.is_null() {
        return 0;
    }
    // SAFETY: by the invariant on `FIBER_ID_PROVIDER`, a non-null value was made from a
    // `fn() -> u64`, and function pointers and data pointers have the same size and
    // representation on every platform Rust supports with `AtomicPtr`.
    let provider = unsafe { std::mem::transmute::<*mut (), fn() -> u64>(raw) };
    provider()
}
// ANCHOR_END: fiber_provider

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_ms_counts_from_start_and_never_goes_negative() {
        let start = *PROGRAM_START.get_or_init(SystemTime::now);
        let later = start + std::time::Duration::from_millis(1234);
        assert_eq!(elapsed_ms_at(later), 1234);
        assert_eq!(elapsed_ms_at(start - std::time::Duration::from_secs(5)), 0);
    }

    /// Set only by `capture_start`, which nothing but the loader calls.
    pub(super) static CAPTURED_BY_LOADER: std::sync::atomic::AtomicBool =
        std::sync::atomic::AtomicBool::new(false);

    #[test]
    fn start_was_captured_before_main() {
        assert!(CAPTURED_BY_LOADER.load(Ordering::Relaxed));
        assert!(*PROGRAM_START.get().expect("captured before main") <= SystemTime::now());
    }

    #[test]
    fn thread_info_reports_names_and_distinct_ids() {
        let main_id = with_thread(|id, _| id);
        let (child_id, child_name) = std::thread::Builder::new()
            .name("ctx-child".into())
            .spawn(|| with_thread(|id, name| (id, name.to_owned())))
            .unwrap()
            .join()
            .unwrap();
        assert_ne!(main_id, child_id);
        assert_eq!(child_name, "ctx-child");
        let unnamed = std::thread::spawn(|| with_thread(|_, name| name.to_owned()))
            .join()
            .unwrap();
        assert_eq!(unnamed, "<unnamed>");
    }
}
