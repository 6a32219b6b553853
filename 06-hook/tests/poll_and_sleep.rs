//! poll parks on its fds; sleeps park on a timer and keep their contracts.

mod common;

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{PATIENCE, in_fiber, within};
use sylar_iomanager::{IoHandle, IoManager};

#[test]
fn poll_times_out_with_zero_and_wakes_on_data() {
    let (timed_out, woke) = in_fiber(|| {
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut pfd = libc::pollfd {
            fd: a.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let timed_out = unsafe { libc::poll(&mut pfd, 1, 30) };
        IoHandle::current()
            .unwrap()
            .schedule(move || {
                std::thread::sleep(Duration::from_millis(20));
                b.write_all(b"!").unwrap();
            })
            .unwrap();
        pfd.revents = 0;
        // SAFETY: as above.
        let n = unsafe { libc::poll(&mut pfd, 1, 10_000) };
        (timed_out, (n, pfd.revents & libc::POLLIN != 0))
    });
    assert_eq!(timed_out, 0);
    assert_eq!(woke, (1, true));
}

#[test]
fn poll_on_several_fds_wakes_for_the_one_that_is_ready() {
    let (n, ready) = in_fiber(|| {
        let (a1, _b1) = UnixStream::pair().unwrap();
        let (a2, mut b2) = UnixStream::pair().unwrap();
        IoHandle::current()
            .unwrap()
            .schedule(move || {
                std::thread::sleep(Duration::from_millis(20));
                b2.write_all(b"!").unwrap();
                std::thread::sleep(Duration::from_millis(200));
            })
            .unwrap();
        let mut pfds = [
            libc::pollfd {
                fd: a1.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: a2.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfds.
        let n = unsafe { libc::poll(pfds.as_mut_ptr(), 2, 10_000) };
        (
            n,
            [
                pfds[0].revents & libc::POLLIN != 0,
                pfds[1].revents & libc::POLLIN != 0,
            ],
        )
    });
    assert_eq!((n, ready), (1, [false, true]));
}

#[test]
fn ten_thousand_sleeping_fibers_on_one_thread_take_about_one_sleep() {
    const FIBERS: usize = 10_000;
    let sleep = Duration::from_millis(200);
    let elapsed = within(PATIENCE, move || {
        let iom = IoManager::new(1, false, "sleepers").unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel();
        let start = Instant::now();
        for _ in 0..FIBERS {
            let (done, tx) = (done.clone(), tx.clone());
            iom.schedule(move || {
                std::thread::sleep(sleep);
                if done.fetch_add(1, Ordering::SeqCst) + 1 == FIBERS {
                    tx.send(()).unwrap();
                }
            })
            .unwrap();
        }
        rx.recv().unwrap();
        let elapsed = start.elapsed();
        iom.stop();
        elapsed
    });
    // One after another would take 2,000 s; together, about 0.2 s. Allow a
    // slow, shared machine a wide margin. (`-- --nocapture` shows the figure.)
    eprintln!("{FIBERS} fibers slept {sleep:?} each on one thread in {elapsed:?}");
    assert!(elapsed >= sleep);
    assert!(
        elapsed < sleep * 25,
        "{FIBERS} sleeps of {sleep:?} took {elapsed:?}"
    );
}

#[test]
fn nanosleep_keeps_its_contract() {
    let (ok, einval, sub_ms) = in_fiber(|| {
        let req = libc::timespec {
            tv_sec: 0,
            tv_nsec: 2_000_000,
        };
        let mut rem = libc::timespec {
            tv_sec: 9,
            tv_nsec: 9,
        };
        // SAFETY: valid timespecs.
        let ok = unsafe { libc::nanosleep(&req, &mut rem) };
        let bad = libc::timespec {
            tv_sec: 0,
            tv_nsec: 2_000_000_000,
        };
        // SAFETY: valid pointers; the value is out of range on purpose.
        let rc = unsafe { libc::nanosleep(&bad, std::ptr::null_mut()) };
        let einval = (rc, std::io::Error::last_os_error().raw_os_error());
        let start = Instant::now();
        // SAFETY: usleep takes a plain integer.
        unsafe { libc::usleep(50) };
        (ok, einval, start.elapsed() >= Duration::from_micros(50))
    });
    assert_eq!(ok, 0);
    assert_eq!(einval, (-1, Some(libc::EINVAL)));
    assert!(sub_ms, "a 50 µs sleep is not zero");
}

#[test]
fn clock_nanosleep_until_a_past_deadline_returns_at_once() {
    let (rc, quick) = in_fiber(|| {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
        let start = Instant::now();
        // SAFETY: an absolute deadline already in the past.
        let rc = unsafe {
            libc::clock_nanosleep(
                libc::CLOCK_MONOTONIC,
                libc::TIMER_ABSTIME,
                &now,
                std::ptr::null_mut(),
            )
        };
        (rc, start.elapsed() < Duration::from_secs(1))
    });
    assert_eq!((rc, quick), (0, true));
}

/// One zero-length sleep, by each of the four calls in turn.
fn sleep_zero(i: usize) {
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: plain integers, and a valid timespec with a null `remaining`.
    unsafe {
        match i % 4 {
            0 => assert_eq!(libc::sleep(0), 0),
            1 => assert_eq!(libc::usleep(0), 0),
            2 => assert_eq!(libc::nanosleep(&zero, std::ptr::null_mut()), 0),
            _ => assert_eq!(
                libc::clock_nanosleep(libc::CLOCK_MONOTONIC, 0, &zero, std::ptr::null_mut()),
                0
            ),
        }
    }
}

#[test]
fn zero_sleeps_do_not_park_a_millisecond_each() {
    const SLEEPS: usize = 1000;
    let elapsed = in_fiber(|| {
        let start = Instant::now();
        for i in 0..SLEEPS {
            sleep_zero(i);
        }
        start.elapsed()
    });
    // The real calls return at once. A millisecond each (the timer wheel's
    // tick) would be a second; allow a slow, shared machine half of that.
    assert!(
        elapsed < Duration::from_millis(500),
        "{SLEEPS} zero sleeps took {elapsed:?}"
    );
}

#[test]
fn a_zero_sleep_lets_another_fiber_run() {
    // A fiber that waits for another with a zero-sleep loop, on one thread:
    // if a zero sleep returned without yielding, the other fiber would never
    // run and the loop would spin until it gives up.
    let (others_ran, spins) = in_fiber(|| {
        let flag = Arc::new(AtomicUsize::new(0));
        let set = flag.clone();
        IoHandle::current()
            .unwrap()
            .schedule(move || set.store(1, Ordering::SeqCst))
            .unwrap();
        let mut spins = 0;
        while flag.load(Ordering::SeqCst) == 0 && spins < 100_000 {
            sleep_zero(spins);
            spins += 1;
        }
        (flag.load(Ordering::SeqCst) == 1, spins)
    });
    assert!(
        others_ran,
        "the other fiber never ran ({spins} zero sleeps)"
    );
}

#[test]
fn a_zero_sleep_lets_the_worker_poll_for_io() {
    // Fiber B waits for bytes on a socket; fiber A sends them, then waits
    // for B with a zero-sleep loop, on one thread. B can only be woken by
    // the worker polling epoll, which it does only with nothing queued: a
    // zero sleep that just went to the back of the queue would keep A there
    // and the worker from polling, and A would spin until it gives up.
    let (b_ran, spins) = in_fiber(|| {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let flag = Arc::new(AtomicUsize::new(0));
        let set = flag.clone();
        IoHandle::current()
            .unwrap()
            .schedule(move || {
                let mut byte = [0u8; 1];
                let n = std::io::Read::read(&mut b, &mut byte).unwrap();
                set.store(n, Ordering::SeqCst);
            })
            .unwrap();
        // Let B run and park in its read (no bytes yet).
        sleep_zero(0);
        a.write_all(b"!").unwrap();
        let mut spins = 0;
        while flag.load(Ordering::SeqCst) == 0 && spins < 100_000 {
            sleep_zero(spins);
            spins += 1;
        }
        (flag.load(Ordering::SeqCst) == 1, spins)
    });
    assert!(b_ran, "the reader was never woken ({spins} zero sleeps)");
}
