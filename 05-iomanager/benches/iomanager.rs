//! Chapter 5 benchmark: timers, wake-up latency, and a socket ping-pong,
//! each against a baseline measured in the same process.
//!
//! Run: `cargo bench -p sylar-iomanager --bench iomanager`

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::hint::black_box;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sylar_iomanager::{Event, IoHandle, IoManager, TimerManager};

const TIMERS: usize = 1_000_000;

/// A cheap, deterministic spread of delays (xorshift), 0..10 s.
fn delays(n: usize) -> Vec<Duration> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Duration::from_micros(x % 10_000_000)
        })
        .collect()
}

/// Adds and fires `TIMERS` one-shot timers; returns ns per add, per
/// expire+run. `counting` closures capture an `Arc` and count (an allocation
/// and two atomics each, as real callbacks have); otherwise they are empty,
/// and the figures are the manager's own cost.
fn timer_manager(counting: bool) -> Figures {
    add_and_fire(&TimerManager::new(|| {}), counting, false)
}

/// The same with counting closures, each add also making (and dropping) a
/// [`sylar_iomanager::Timer`] handle, as `IoManager::add_timer` does.
fn timer_manager_with_handles() -> Figures {
    add_and_fire(&TimerManager::new(|| {}), true, true)
}

/// The same into a manager that has already held a million timers, as a
/// running server's has: its slab, free list and wheel slots are allocated.
/// They were cancelled, not fired, as most timeouts are (firing would move
/// the wheel's clock 11 s ahead, and the next million would all be due).
fn warm_timer_manager(counting: bool) -> Figures {
    let manager = TimerManager::new(|| {});
    let timers: Vec<_> = delays(TIMERS)
        .into_iter()
        .map(|d| manager.add(d, || {}))
        .collect();
    for timer in timers {
        assert!(manager.cancel(timer));
    }
    add_and_fire(&manager, counting, false)
}

/// Cancelling: a million live timers, cancelled in the order they were
/// added (so in no particular order of deadline); ns per cancel.
fn cancel_timers() -> f64 {
    let manager = TimerManager::new(|| {});
    let timers: Vec<_> = delays(TIMERS)
        .into_iter()
        .map(|d| manager.add(d, || {}))
        .collect();
    let start = Instant::now();
    for &timer in &timers {
        assert!(manager.cancel(timer));
    }
    let elapsed = start.elapsed();
    assert!(manager.is_empty());
    per(elapsed, TIMERS)
}

/// The baseline for cancelling: a `BTreeMap` keyed by (deadline, id), the
/// structure smol's `async-io` keeps its timers in, removing the same
/// million entries in the same order.
fn cancel_btree() -> f64 {
    let now = Instant::now();
    let mut map: BTreeMap<(Instant, usize), Box<dyn FnOnce()>> = BTreeMap::new();
    let keys: Vec<_> = delays(TIMERS)
        .into_iter()
        .enumerate()
        .map(|(i, d)| (now + d, i))
        .collect();
    for &key in &keys {
        map.insert(key, Box::new(|| {}));
    }
    let start = Instant::now();
    for key in &keys {
        assert!(map.remove(key).is_some());
    }
    per(start.elapsed(), TIMERS)
}

fn add_and_fire(manager: &Arc<TimerManager>, counting: bool, handles: bool) -> Figures {
    let fired = Arc::new(AtomicUsize::new(0));
    let delays = delays(TIMERS);
    let faults = minor_faults();
    let start = Instant::now();
    for &d in &delays {
        if counting {
            let fired = fired.clone();
            let id = manager.add(d, move || {
                fired.fetch_add(1, Ordering::Relaxed);
            });
            if handles {
                black_box(manager.handle(id));
            }
        } else {
            manager.add(d, || {});
        }
    }
    let add = start.elapsed();
    let faults = minor_faults() - faults;
    let start = Instant::now();
    let expired = manager.collect_expired(Instant::now() + Duration::from_secs(11));
    let n = expired.len();
    for e in expired {
        e.run();
    }
    let expire = start.elapsed();
    assert_eq!(n, TIMERS);
    if counting {
        assert_eq!(fired.load(Ordering::Relaxed), TIMERS);
    }
    Figures::new(add, expire, faults)
}

/// The floor: the same work on a bare binary heap of boxed closures.
fn bare_heap() -> Figures {
    let fired = Arc::new(AtomicUsize::new(0));
    let delays = delays(TIMERS);
    let mut heap: BinaryHeap<Reverse<(Instant, u64)>> = BinaryHeap::new();
    let mut callbacks: Vec<Option<Box<dyn FnOnce()>>> = Vec::with_capacity(TIMERS);
    let faults = minor_faults();
    let start = Instant::now();
    for (i, &d) in delays.iter().enumerate() {
        let fired = fired.clone();
        callbacks.push(Some(Box::new(move || {
            fired.fetch_add(1, Ordering::Relaxed);
        })));
        heap.push(Reverse((Instant::now() + d, i as u64)));
    }
    let add = start.elapsed();
    let faults = minor_faults() - faults;
    let start = Instant::now();
    let now = Instant::now() + Duration::from_secs(11);
    while let Some(Reverse((at, i))) = heap.peek().copied() {
        if at > now {
            break;
        }
        heap.pop();
        (callbacks[i as usize].take().unwrap())();
    }
    let expire = start.elapsed();
    assert_eq!(fired.load(Ordering::Relaxed), TIMERS);
    Figures::new(add, expire, faults)
}

/// One run's figures: ns per add, ns per expire+run, and page faults per
/// thousand adds (first touches of memory the kernel had to hand over).
#[derive(Clone, Copy)]
struct Figures {
    add: f64,
    expire: f64,
    faults: f64,
}

impl Figures {
    fn new(add: Duration, expire: Duration, faults: u64) -> Figures {
        Figures {
            add: per(add, TIMERS),
            expire: per(expire, TIMERS),
            faults: faults as f64 * 1000.0 / TIMERS as f64,
        }
    }
}

/// The process's minor page faults so far (field 10 of `/proc/self/stat`).
fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // The command name, in parentheses, may hold spaces: count after it.
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    after_name.split(' ').nth(7).unwrap().parse().unwrap()
}

/// Runs `f` once to warm up, then five times; the median.
fn median_ns(mut f: impl FnMut() -> f64) -> f64 {
    black_box(f());
    middle((0..5).map(|_| f()).collect())
}

/// Runs `f` once to warm up, then five times; the median of each figure.
fn median(mut f: impl FnMut() -> Figures) -> Figures {
    black_box(f());
    let runs: Vec<Figures> = (0..5).map(|_| f()).collect();
    let mid = |pick: fn(&Figures) -> f64| middle(runs.iter().map(pick).collect());
    Figures {
        add: mid(|r| r.add),
        expire: mid(|r| r.expire),
        faults: mid(|r| r.faults),
    }
}

/// The median of five runs.
fn middle(mut runs: Vec<f64>) -> f64 {
    runs.sort_by(f64::total_cmp);
    runs[2]
}

fn per(d: Duration, n: usize) -> f64 {
    d.as_nanos() as f64 / n as f64
}

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// Reads exactly `buf.len()` bytes, parking the fiber while it would block.
fn read_exact_parked(io: &IoHandle, s: &mut UnixStream, buf: &mut [u8]) {
    let mut got = 0;
    while got < buf.len() {
        match s.read(&mut buf[got..]) {
            Ok(0) => panic!("peer closed"),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                io.wait(s.as_raw_fd(), Event::Read, None).unwrap();
            }
            Err(e) => panic!("{e}"),
        }
    }
}

fn write_all_parked(io: &IoHandle, s: &mut UnixStream, mut buf: &[u8]) {
    while !buf.is_empty() {
        match s.write(buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                io.wait(s.as_raw_fd(), Event::Write, None).unwrap();
            }
            Err(e) => panic!("{e}"),
        }
    }
}

/// From a byte written by another thread to the waiting fiber running:
/// median and 99th percentile, in microseconds.
fn wake_latency(samples: usize) -> (f64, f64) {
    let iom = IoManager::new(1, false, "latency").unwrap();
    let (mut fiber_side, mut thread_side) = pair();
    thread_side.set_nonblocking(false).unwrap();
    let (tx, rx) = mpsc::channel();
    iom.schedule(move || {
        let io = IoHandle::current().unwrap();
        let mut byte = [0u8; 1];
        let mut stamps = Vec::with_capacity(samples);
        for _ in 0..samples {
            read_exact_parked(&io, &mut fiber_side, &mut byte);
            stamps.push(Instant::now());
            write_all_parked(&io, &mut fiber_side, &byte);
        }
        tx.send(stamps).unwrap();
    })
    .unwrap();
    let mut sent = Vec::with_capacity(samples);
    let mut byte = [1u8; 1];
    for _ in 0..samples {
        // Let the fiber park first, so we measure a real wake-up.
        std::thread::sleep(Duration::from_micros(50));
        sent.push(Instant::now());
        thread_side.write_all(&byte).unwrap();
        thread_side.read_exact(&mut byte).unwrap();
    }
    let woke = rx.recv().unwrap();
    iom.stop();
    let mut us: Vec<f64> = sent
        .iter()
        .zip(&woke)
        .map(|(s, w)| w.duration_since(*s).as_nanos() as f64 / 1000.0)
        .collect();
    us.sort_by(f64::total_cmp);
    (us[us.len() / 2], us[us.len() * 99 / 100])
}

/// Two fibers on one I/O manager thread bounce a message `rounds` times.
fn fiber_ping_pong(rounds: usize) -> f64 {
    let iom = IoManager::new(1, false, "pingpong").unwrap();
    let (mut a, mut b) = pair();
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    iom.schedule(move || {
        let io = IoHandle::current().unwrap();
        let mut msg = [0u8; 8];
        for _ in 0..rounds {
            read_exact_parked(&io, &mut b, &mut msg);
            write_all_parked(&io, &mut b, &msg);
        }
    })
    .unwrap();
    iom.schedule(move || {
        let io = IoHandle::current().unwrap();
        let mut msg = *b"pingpong";
        for _ in 0..rounds {
            write_all_parked(&io, &mut a, &msg);
            read_exact_parked(&io, &mut a, &mut msg);
        }
        tx.send(()).unwrap();
    })
    .unwrap();
    rx.recv().unwrap();
    let elapsed = start.elapsed();
    iom.stop();
    per(elapsed, rounds)
}

/// The baseline: two plain threads with blocking sockets do the same.
fn thread_ping_pong(rounds: usize) -> f64 {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let start = Instant::now();
    let echo = std::thread::spawn(move || {
        let mut msg = [0u8; 8];
        for _ in 0..rounds {
            b.read_exact(&mut msg).unwrap();
            b.write_all(&msg).unwrap();
        }
    });
    let mut msg = *b"pingpong";
    for _ in 0..rounds {
        a.write_all(&msg).unwrap();
        a.read_exact(&mut msg).unwrap();
    }
    echo.join().unwrap();
    per(start.elapsed(), rounds)
}

fn main() {
    let lines = [
        ("bare BinaryHeap, counting closures", median(bare_heap)),
        (
            "TimerManager, counting closures",
            median(|| timer_manager(true)),
        ),
        (
            "TimerManager, empty closures",
            median(|| timer_manager(false)),
        ),
        (
            "TimerManager, counting, warm manager",
            median(|| warm_timer_manager(true)),
        ),
        (
            "TimerManager, counting + Timer handle",
            median(timer_manager_with_handles),
        ),
    ];
    println!("{TIMERS} timers (delays spread over 10 s), medians of 5 runs");
    println!(
        "  {:<40}{:>8}{:>15}{:>9}",
        "", "add ns", "expire+run ns", "faults"
    );
    let heap = lines[0].1;
    for (i, (name, f)) in lines.iter().enumerate() {
        let ratio = if i == 0 {
            String::new()
        } else {
            format!(
                "   {:.2}x / {:.2}x the heap",
                f.add / heap.add,
                f.expire / heap.expire
            )
        };
        println!(
            "  {name:<40}{:>8.1}{:>15.1}{:>9.1}{ratio}",
            f.add, f.expire, f.faults
        );
    }
    let btree = median_ns(cancel_btree);
    let cancel = median_ns(cancel_timers);
    println!("cancelling {TIMERS} live timers, in the order added, ns per cancel");
    println!("  {:<40}{btree:>8.1}", "BTreeMap<(Instant, id), _>::remove");
    println!(
        "  {:<40}{cancel:>8.1}   {:.2}x the BTreeMap",
        "TimerManager::cancel",
        cancel / btree
    );
    if std::env::var_os("TIMERS_ONLY").is_some() {
        return;
    }

    let (median, p99) = wake_latency(2_000);
    println!("fd ready -> parked fiber running (2000 samples)");
    println!("  median {median:.1} µs, p99 {p99:.1} µs");

    let rounds = 1_000_000;
    let threads = thread_ping_pong(rounds);
    let fibers = fiber_ping_pong(rounds);
    println!("ping-pong over a socketpair, {rounds} round trips");
    println!(
        "  {:<38}{threads:>10.0} ns per round trip   1.00x",
        "two threads, blocking sockets"
    );
    println!(
        "  {:<38}{fibers:>10.0} ns per round trip   {:.2}x",
        "two fibers, one I/O manager thread",
        fibers / threads
    );
    black_box(());
}
