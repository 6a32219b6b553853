//! Signals that interrupt `epoll_wait` must not hold timers back. A worker
//! that slept until the next timer and was interrupted by a signal (a
//! profiler's SIGPROF, a SIGCHLD...) used to wait again for the whole
//! timeout it had computed before, so a steady stream of signals kept the
//! timer from ever firing.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{PATIENCE, timed_sleep, within};
use sylar_iomanager::{IoManager, WakeReason};

extern "C" fn ignore(_: libc::c_int) {}

/// Installs a handler that does nothing for SIGUSR1: the signal then
/// interrupts `epoll_wait` (EINTR) instead of killing the process.
fn catch_sigusr1() {
    // SAFETY: a zeroed sigaction with a valid handler and an empty mask.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore as *const () as usize;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            0
        );
    }
}

#[test]
fn a_timer_fires_on_time_while_signals_interrupt_the_wait() {
    catch_sigusr1();
    let (slept, took) = within(PATIENCE, || {
        let iom = IoManager::new(1, false, "signalled").unwrap();
        let (tid_tx, tid_rx) = mpsc::channel();
        // SAFETY: pthread_self has no preconditions.
        iom.schedule(move || tid_tx.send(unsafe { libc::pthread_self() }).unwrap())
            .unwrap();
        let worker = tid_rx.recv().unwrap();
        let start = Instant::now();
        let rx = timed_sleep(&iom, Duration::from_millis(200));
        // A signal every 20 ms for 6 s, unless the sleeper is done first.
        let result = loop {
            if let Ok(result) = rx.try_recv() {
                break result;
            }
            if start.elapsed() > Duration::from_secs(6) {
                break rx.recv().unwrap();
            }
            // SAFETY: the worker thread is alive (the I/O manager runs).
            unsafe { libc::pthread_kill(worker, libc::SIGUSR1) };
            std::thread::sleep(Duration::from_millis(20));
        };
        let took = start.elapsed();
        iom.stop();
        (result, took)
    });
    assert_eq!(slept.0, WakeReason::Woken);
    assert!(
        took < Duration::from_secs(3),
        "a 200 ms sleep took {took:?} while signals kept coming"
    );
}
