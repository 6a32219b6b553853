//! Busy polling: while events come back to back, an idle worker polls
//! instead of sleeping; once they stop, it sleeps again; timers, readiness
//! and stop work the same while it polls.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::Duration;

use common::{PATIENCE, pair, read_parked, timed_sleep, within, write_parked};
use sylar_iomanager::{IoHandle, IoManager, WakeReason};

/// The kernel thread id of the (single) worker of `iom`.
fn worker_tid(iom: &IoManager) -> libc::pid_t {
    let (tx, rx) = mpsc::channel();
    // SAFETY: gettid has no preconditions.
    iom.schedule(move || tx.send(unsafe { libc::gettid() }).unwrap())
        .unwrap();
    rx.recv_timeout(PATIENCE).unwrap()
}

/// How often thread `tid` of this process has gone to sleep so far.
fn sleeps(tid: libc::pid_t) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a voluntary_ctxt_switches line")
}

/// CPU time used by thread `tid` of this process so far, in clock ticks.
fn cpu_ticks(tid: libc::pid_t) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) in brackets:
    // state is the first, utime and stime the 12th and 13th.
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// `rounds` one-byte round trips between this thread and a fiber of `iom`:
/// the fiber waits for a byte and sends it back; we wait for the answer.
fn ping_pong(iom: &IoManager, rounds: usize) {
    let (mut ours, mut theirs) = pair();
    ours.set_nonblocking(false).unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    iom.schedule(move || {
        let io = IoHandle::current().unwrap();
        let mut byte = [0u8; 1];
        for _ in 0..rounds {
            assert_eq!(read_parked(&io, &mut theirs, &mut byte), Ok(1));
            write_parked(&io, &mut theirs, &byte);
        }
        done_tx.send(theirs).unwrap();
    })
    .unwrap();
    for i in 0..rounds {
        ours.write_all(&[i as u8]).unwrap();
        let mut byte = [0u8; 1];
        ours.read_exact(&mut byte).unwrap();
        assert_eq!(byte[0], i as u8);
    }
    let theirs: UnixStream = done_rx.recv_timeout(PATIENCE).unwrap();
    common::close(&iom.handle(), theirs);
}

#[test]
fn busy_polling_spares_a_busy_worker_its_sleeps() {
    within(PATIENCE * 2, || {
        let iom = IoManager::new(1, false, "spare").unwrap();
        let tid = worker_tid(&iom);
        const ROUNDS: usize = 1_000;
        let before = sleeps(tid);
        ping_pong(&iom, ROUNDS);
        let sleeping = sleeps(tid) - before;
        // A window far longer than a round trip, and than any pause a loaded
        // machine puts between two of them (5 ms once proved too short while
        // valgrind ran on the other core): the worker polls through the run.
        iom.set_busy_poll(Duration::from_secs(1));
        let before = sleeps(tid);
        ping_pong(&iom, ROUNDS);
        let polling = sleeps(tid) - before;
        iom.stop();
        // Without polling the worker sleeps about once per round trip on a
        // quiet machine; on a loaded one far less (this thread and the
        // worker then often share a core, and the next byte is in before the
        // worker gets back to epoll_wait: a run at load 8.7 counted 92), so
        // the floor only checks that there were sleeps to spare.
        assert!(
            sleeping > ROUNDS as u64 / 20,
            "without busy polling the worker slept only {sleeping} times in {ROUNDS} round trips"
        );
        assert!(
            polling * 4 < sleeping,
            "busy polling: {polling} sleeps, against {sleeping} without it"
        );
    });
}

#[test]
fn a_worker_sleeps_again_once_the_events_stop() {
    within(PATIENCE * 2, || {
        let iom = IoManager::new(1, false, "quiet").unwrap();
        iom.set_busy_poll(Duration::from_millis(2));
        let tid = worker_tid(&iom);
        // Back-to-back events arm busy polling.
        ping_pong(&iom, 200);
        let before = cpu_ticks(tid);
        // Wall-clock time passing is the point here, not a synchronisation.
        std::thread::sleep(Duration::from_millis(500));
        let used = cpu_ticks(tid) - before;
        iom.stop();
        // Polling on through the quiet half second would take ~50 ticks
        // (at 100 a second); a worker that went back to sleep takes ~0.
        assert!(used < 10, "the quiet worker used {used} ticks of CPU");
    });
}

#[test]
fn timers_readiness_and_stop_work_while_polling() {
    within(PATIENCE * 2, || {
        let iom = IoManager::new(1, false, "polling").unwrap();
        // Once armed, the worker polls all through this test.
        let window = Duration::from_secs(3600);
        iom.set_busy_poll(window);
        assert_eq!(iom.busy_poll(), window);
        ping_pong(&iom, 100);
        let (reason, slept) = timed_sleep(&iom, Duration::from_millis(30))
            .recv_timeout(PATIENCE)
            .unwrap();
        assert_eq!(reason, WakeReason::Woken);
        assert!(slept >= Duration::from_millis(30), "woke early: {slept:?}");
        // Readiness: the ping-pong again, now with the worker polling.
        ping_pong(&iom, 100);
        // Stop returns although the window has almost an hour left.
        iom.stop();
        iom.set_busy_poll(Duration::ZERO);
        assert_eq!(iom.busy_poll(), Duration::ZERO);
    });
}
