//! Chapter 3 benchmark: what a fiber switch and a fiber's whole life cost,
//! against raw corosensei and glibc's `swapcontext` (what the C++ uses), all
//! measured in this one process.
//!
//! Run: `cargo bench -p sylar-fiber --bench fiber_switch`

use std::hint::black_box;
use std::time::Instant;

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, Yielder};
use sylar_fiber::{DEFAULT_STACK_SIZE, Fiber, Outcome, STACK_POOL, yield_now};

/// Nanoseconds per iteration: the median of `ROUNDS` timed runs of `iters`.
fn ns_per_iter(iters: u64, mut run: impl FnMut(u64)) -> f64 {
    const ROUNDS: usize = 7;
    run(iters / 10 + 1); // warm up
    let mut samples: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            run(iters);
            start.elapsed().as_nanos() as f64 / iters as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[ROUNDS / 2]
}

#[inline(never)]
fn raw_suspend(yielder: &Yielder<(), ()>) {
    yielder.suspend(());
}

fn raw_corosensei_round_trip(iters: u64) -> f64 {
    let mut co: Coroutine<(), (), ()> =
        Coroutine::with_stack(DefaultStack::new(DEFAULT_STACK_SIZE).unwrap(), |y, ()| {
            loop {
                raw_suspend(y)
            }
        });
    ns_per_iter(iters, |n| {
        for _ in 0..n {
            black_box(co.resume(()));
        }
    })
}

fn fiber_round_trip(iters: u64) -> f64 {
    let mut slot = Some(Fiber::new(|| {
        loop {
            yield_now()
        }
    }));
    ns_per_iter(iters, |n| {
        let mut fiber = slot.take().unwrap();
        for _ in 0..n {
            fiber = match fiber.resume() {
                Outcome::Yielded(f) => f,
                other => panic!("unexpected {other:?}"),
            };
        }
        slot = Some(fiber);
    })
}

fn create_run_drop(iters: u64) -> f64 {
    ns_per_iter(iters, |n| {
        for _ in 0..n {
            black_box(Fiber::new(|| {}).resume());
        }
    })
}

#[cfg(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]
mod ucontext {
    //! glibc's getcontext/makecontext/swapcontext, as the C++ sylar uses them.
    use std::mem::MaybeUninit;

    static mut MAIN: MaybeUninit<libc::ucontext_t> = MaybeUninit::zeroed();
    static mut FIBER: MaybeUninit<libc::ucontext_t> = MaybeUninit::zeroed();

    extern "C" fn body() {
        loop {
            // SAFETY: single-threaded benchmark; both contexts were set up by
            // `round_trip` before the first switch into this function.
            unsafe {
                libc::swapcontext(
                    (&raw mut FIBER).cast::<libc::ucontext_t>(),
                    (&raw const MAIN).cast::<libc::ucontext_t>(),
                );
            }
        }
    }

    pub fn round_trip(iters: u64) -> f64 {
        let mut stack = vec![0u8; super::DEFAULT_STACK_SIZE];
        // SAFETY: the standard ucontext recipe: getcontext fills FIBER, we
        // point it at our stack and entry function, then ping-pong with
        // swapcontext on one thread. The stack outlives every switch.
        unsafe {
            let fiber = (&raw mut FIBER).cast::<libc::ucontext_t>();
            libc::getcontext(fiber);
            (*fiber).uc_stack.ss_sp = stack.as_mut_ptr().cast();
            (*fiber).uc_stack.ss_size = stack.len();
            (*fiber).uc_link = std::ptr::null_mut();
            libc::makecontext(fiber, body, 0);
        }
        let ns = super::ns_per_iter(iters, |n| {
            for _ in 0..n {
                // SAFETY: see above; `body` switches straight back to MAIN.
                unsafe {
                    libc::swapcontext(
                        (&raw mut MAIN).cast::<libc::ucontext_t>(),
                        (&raw const FIBER).cast::<libc::ucontext_t>(),
                    );
                }
            }
        });
        drop(stack);
        ns
    }
}

fn main() {
    let raw = raw_corosensei_round_trip(5_000_000);
    let ours = fiber_round_trip(5_000_000);
    println!("resume + yield round trip (one switch in, one out)");
    println!("  raw corosensei       {raw:8.1} ns   1.00x");
    println!(
        "  sylar_fiber::Fiber   {ours:8.1} ns   {:.2}x raw",
        ours / raw
    );
    #[cfg(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]
    {
        let uc = ucontext::round_trip(500_000);
        println!(
            "  glibc swapcontext    {uc:8.1} ns   {:.2}x raw, {:.1}x Fiber",
            uc / raw,
            uc / ours
        );
    }

    let pooled = create_run_drop(500_000);
    let capacity = STACK_POOL.capacity();
    STACK_POOL.set_capacity(0);
    let fresh = create_run_drop(20_000);
    STACK_POOL.set_capacity(capacity);
    println!("create + run + drop an empty fiber (128 KiB stack)");
    println!("  pooled stack         {pooled:8.1} ns   1.00x");
    println!(
        "  fresh mmap'd stack   {fresh:8.1} ns   {:.1}x pooled",
        fresh / pooled
    );
}
