//! A ready fd wakes exactly the fiber waiting on it; read and write waiters
//! share an fd; one waiter per direction; bad fds are errors; a tracked
//! wait hears of an edge another wait took.

mod common;

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{PATIENCE, pair, read_parked, within, write_parked};
use sylar_iomanager::{Event, EventError, IoHandle, IoManager, WakeReason};

#[test]
fn a_readable_socket_wakes_exactly_the_fiber_waiting_on_it() {
    within(PATIENCE * 2, || {
        let iom = IoManager::new(2, false, "exact").unwrap();
        let (mut a_read, mut a_write) = pair();
        let (mut b_read, _b_write) = pair();
        let b_woke = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        iom.schedule(move || {
            let io = IoHandle::current().unwrap();
            let mut buf = [0u8; 16];
            let n = read_parked(&io, &mut a_read, &mut buf).unwrap();
            tx.send(buf[..n].to_vec()).unwrap();
        })
        .unwrap();
        let flag = b_woke.clone();
        iom.schedule(move || {
            let io = IoHandle::current().unwrap();
            let mut buf = [0u8; 16];
            // Ends only when stop cancels it.
            let r = read_parked(&io, &mut b_read, &mut buf);
            flag.store(r.is_ok(), Ordering::SeqCst);
        })
        .unwrap();
        a_write.write_all(b"ping").unwrap();
        assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), b"ping");
        assert!(
            !b_woke.load(Ordering::SeqCst),
            "the other fiber must still wait"
        );
        iom.stop();
        assert!(
            !b_woke.load(Ordering::SeqCst),
            "stop wakes it with Cancelled, not data"
        );
    });
}

#[test]
fn read_and_write_waiters_on_one_fd_are_woken_separately() {
    within(PATIENCE * 2, || {
        let iom = IoManager::new(2, false, "both").unwrap();
        let (mut left, mut right) = pair();
        // Fill left's send buffer so that a write on it must wait.
        let chunk = vec![7u8; 64 * 1024];
        let mut queued = 0usize;
        while let Ok(n) = left.write(&chunk) {
            queued += n;
        }
        let mut left2 = left.try_clone().unwrap();
        let (tx, rx) = mpsc::channel();
        let tx2 = tx.clone();
        iom.schedule(move || {
            let io = IoHandle::current().unwrap();
            write_parked(&io, &mut left2, b"after the flood");
            tx2.send("written").unwrap();
        })
        .unwrap();
        iom.schedule(move || {
            let io = IoHandle::current().unwrap();
            let mut buf = [0u8; 8];
            let n = read_parked(&io, &mut left, &mut buf).unwrap();
            assert_eq!(&buf[..n], b"reply");
            tx.send("read").unwrap();
        })
        .unwrap();
        // The peer drains the flood: the writer wakes; then it replies: the reader wakes.
        iom.schedule(move || {
            let io = IoHandle::current().unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            let mut drained = 0;
            while drained < queued + b"after the flood".len() {
                drained += read_parked(&io, &mut right, &mut buf).unwrap();
            }
            write_parked(&io, &mut right, b"reply");
        })
        .unwrap();
        let mut got = vec![
            rx.recv_timeout(PATIENCE).unwrap(),
            rx.recv_timeout(PATIENCE).unwrap(),
        ];
        got.sort();
        assert_eq!(got, ["read", "written"]);
        iom.stop();
    });
}

#[test]
fn a_second_waiter_for_the_same_event_is_an_error_not_an_abort() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "second").unwrap();
        let (a, _b) = pair();
        let fd = a.as_raw_fd();
        iom.add_event(fd, Event::Read, |_| {}).unwrap();
        match iom.add_event(fd, Event::Read, |_| {}) {
            Err(EventError::AlreadyWaiting(f, Event::Read)) => assert_eq!(f, fd),
            other => panic!("expected AlreadyWaiting, got {other:?}"),
        }
        // The other direction is free.
        iom.add_event(fd, Event::Write, |_| {}).unwrap();
        // A fiber asking for the taken direction is refused too, and is not parked.
        let (tx, rx) = mpsc::channel();
        iom.schedule(move || {
            let io = IoHandle::current().unwrap();
            tx.send(matches!(
                io.wait(fd, Event::Read, None),
                Err(EventError::AlreadyWaiting(..))
            ))
            .unwrap();
        })
        .unwrap();
        assert!(rx.recv_timeout(PATIENCE).unwrap());
        iom.forget_fd(fd);
        iom.stop();
    });
}

#[test]
fn invalid_and_closed_fds_are_errors() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "badfd").unwrap();
        assert!(matches!(
            iom.add_event(-1, Event::Read, |_| {}),
            Err(EventError::InvalidFd(-1))
        ));
        assert!(matches!(
            iom.add_event(i32::MAX, Event::Read, |_| {}),
            Err(EventError::InvalidFd(_))
        ));
        // A number that is no open fd: epoll refuses it with EBADF.
        let err = iom.add_event(19_999, Event::Read, |_| {}).unwrap_err();
        match err {
            EventError::Register(fd, e) => {
                assert_eq!(fd, 19_999);
                assert_eq!(e.raw_os_error(), Some(libc::EBADF));
            }
            other => panic!("expected Register(EBADF), got {other:?}"),
        }
        iom.stop();
    });
}

#[test]
fn waiting_outside_a_fiber_is_an_error() {
    let iom = IoManager::new(1, false, "nofiber").unwrap();
    let (a, _b) = pair();
    assert!(matches!(
        iom.wait(a.as_raw_fd(), Event::Read, None),
        Err(EventError::NotInFiber)
    ));
    assert!(iom.sleep(std::time::Duration::from_millis(1)).is_err());
    iom.stop();
}

#[test]
fn callbacks_get_the_reason_they_were_called() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "reasons").unwrap();
        let (a, mut b) = pair();
        let (tx, rx) = mpsc::channel();
        let tx2 = tx.clone();
        iom.add_event(a.as_raw_fd(), Event::Read, move |r| {
            tx.send(("read", r)).unwrap()
        })
        .unwrap();
        b.write_all(b"x").unwrap();
        assert_eq!(
            rx.recv_timeout(PATIENCE).unwrap(),
            ("read", WakeReason::Woken)
        );
        let (c, _d) = pair();
        iom.add_event(c.as_raw_fd(), Event::Read, move |r| {
            tx2.send(("c", r)).unwrap()
        })
        .unwrap();
        assert!(iom.cancel_event(c.as_raw_fd(), Event::Read));
        assert_eq!(
            rx.recv_timeout(PATIENCE).unwrap(),
            ("c", WakeReason::Cancelled)
        );
        assert!(
            !iom.cancel_event(c.as_raw_fd(), Event::Read),
            "nothing left to cancel"
        );
        iom.stop();
    });
}

#[test]
fn fibers_woken_in_one_round_resume_each_on_its_own_scheduler() {
    within(PATIENCE * 2, || {
        let a = IoManager::new(1, false, "round_a").unwrap();
        let b = IoManager::new(1, false, "round_b").unwrap();
        // Two fds for one socket: a single write makes both readable, and
        // epoll reports them together, so one round of `a`'s idle loop
        // wakes a fiber of `b` and a fiber of `a`.
        let (x, mut y) = pair();
        let x2 = x.try_clone().unwrap();
        let (tx, rx) = mpsc::channel();
        for (on, fd) in [(b.handle(), x.as_raw_fd()), (a.handle(), x2.as_raw_fd())] {
            let (reactor, tx) = (a.handle(), tx.clone());
            on.schedule(move || {
                let reason = reactor.wait(fd, Event::Read, None).unwrap();
                let thread = std::thread::current().name().unwrap().to_owned();
                tx.send((fd, reason, thread)).unwrap();
            })
            .unwrap();
        }
        while a.pending_events() < 2 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        y.write_all(b"!").unwrap();
        let mut woken: Vec<_> = (0..2).map(|_| rx.recv_timeout(PATIENCE).unwrap()).collect();
        woken.sort_by_key(|(fd, _, _)| *fd);
        let mut expected = vec![
            (x.as_raw_fd(), WakeReason::Woken, "round_b_0".to_owned()),
            (x2.as_raw_fd(), WakeReason::Woken, "round_a_0".to_owned()),
        ];
        expected.sort_by_key(|(fd, _, _)| *fd);
        assert_eq!(woken, expected, "each fiber resumes where it ran");
        a.stop();
        b.stop();
    });
}

#[test]
fn a_callback_registered_from_another_scheduler_runs_there() {
    within(PATIENCE * 2, || {
        let watcher = IoManager::new(1, false, "cb_watcher").unwrap();
        let runner = IoManager::new(1, false, "cb_runner").unwrap();
        let (ours, mut theirs) = pair();
        let watcher_io = watcher.handle();
        let fd = ours.as_raw_fd();
        let (tx, rx) = mpsc::channel();
        let (registered_tx, registered_rx) = mpsc::channel();
        runner
            .schedule(move || {
                watcher_io
                    .add_event(fd, Event::Read, move |reason| {
                        let thread = std::thread::current().name().map(str::to_string);
                        tx.send((reason, thread)).unwrap();
                    })
                    .unwrap();
                registered_tx.send(()).unwrap();
            })
            .unwrap();
        registered_rx.recv_timeout(PATIENCE).unwrap();
        theirs.write_all(b"x").unwrap();
        let (reason, thread) = rx.recv_timeout(PATIENCE).unwrap();
        assert_eq!(reason, WakeReason::Woken);
        assert_eq!(thread.as_deref(), Some("cb_runner_0"));
        watcher.forget_fd(fd);
        drop(ours);
        runner.stop();
        watcher.stop();
    });
}

#[test]
fn a_tracked_wait_returns_at_once_after_another_wait_took_the_edge() {
    // A caller that waits without trying its read first (chapter 6 after a
    // short read) would sleep through bytes whose one edge woke a wait of
    // someone else's: the tracked wait says "try again" instead.
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "tracked").unwrap();
        let (tx, rx) = mpsc::channel();
        iom.schedule(move || {
            let (mut a, b) = pair();
            let fd = a.as_raw_fd();
            let io = IoHandle::current().unwrap();
            let writer = b.try_clone().unwrap(); // `b` stays open: no hang-up
            io.schedule(move || (&writer).write_all(b"ping").unwrap())
                .unwrap();
            let plain = io.wait(fd, Event::Read, None).unwrap();
            let soon = Instant::now() + Duration::from_secs(2);
            let start = Instant::now();
            let tracked = IoHandle::wait_current_tracked(fd, Event::Read, Some(soon)).unwrap();
            let at_once = start.elapsed() < Duration::from_secs(1);
            // Emptied, and no edge since: a tracked wait waits, as any other.
            let mut buf = [0u8; 8];
            assert_eq!(a.read(&mut buf).unwrap(), 4);
            let brief = Instant::now() + Duration::from_millis(50);
            let empty = IoHandle::wait_current_tracked(fd, Event::Read, Some(brief)).unwrap();
            tx.send((plain, tracked, at_once, empty)).unwrap();
            drop(b);
        })
        .unwrap();
        let got = rx.recv_timeout(PATIENCE).unwrap();
        iom.stop();
        assert_eq!(
            got,
            (
                WakeReason::Woken,
                WakeReason::Woken,
                true,
                WakeReason::TimedOut
            )
        );
    });
}
