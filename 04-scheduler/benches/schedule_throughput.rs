//! Chapter 4 benchmark: the cost of scheduling work, start to finish, against
//! a plain std thread pool (an mpsc channel feeding threads) in the same run.
//!
//! Run: `cargo bench -p sylar-scheduler --bench schedule_throughput`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use sylar_fiber::yield_now;
use sylar_scheduler::Scheduler;

const TASKS: usize = 1_000_000;
const ROUNDS: usize = 5;

/// The median of `ROUNDS` runs of `f`, which returns nanoseconds per task.
fn median(mut f: impl FnMut() -> f64) -> f64 {
    let mut samples: Vec<f64> = (0..ROUNDS).map(|_| f()).collect();
    samples.sort_by(f64::total_cmp);
    samples[ROUNDS / 2]
}

/// Empty closures through our scheduler: queue them all, then `stop` runs
/// them. With one worker it is the caller (`use_caller`), so nothing competes
/// for the queue; with two, the caller plus one thread. An empty closure
/// captures nothing, so boxing it allocates nothing: this is the scheduler's
/// own cost.
fn sylar_empty(workers: usize) -> f64 {
    let start = Instant::now();
    let scheduler = Scheduler::new(workers, true, "bench");
    scheduler.start().unwrap();
    for _ in 0..TASKS {
        scheduler.schedule(|| {}).unwrap();
    }
    scheduler.stop();
    assert!(scheduler.tasks_executed() >= TASKS as u64);
    start.elapsed().as_nanos() as f64 / TASKS as f64
}

/// Closures that each capture an `Arc` and count: one allocation per task
/// and three atomic operations, as real tasks have.
fn sylar_closures(workers: usize) -> f64 {
    let count = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let scheduler = Scheduler::new(workers, true, "bench");
    scheduler.start().unwrap();
    for _ in 0..TASKS {
        let count = count.clone();
        scheduler
            .schedule(move || {
                count.fetch_add(1, Ordering::Relaxed);
            })
            .unwrap();
    }
    scheduler.stop();
    assert_eq!(count.load(Ordering::Relaxed), TASKS);
    start.elapsed().as_nanos() as f64 / TASKS as f64
}

/// Closures that yield once each, so every one becomes a fiber that goes
/// back in the queue. Run in chunks so that at most `CHUNK` fibers (and
/// stacks) exist at a time.
fn sylar_yielding(workers: usize) -> f64 {
    const CHUNK: usize = 1_000;
    let count = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let scheduler = Scheduler::new(workers, false, "bench");
    scheduler.start().unwrap();
    for chunk in 0..TASKS / CHUNK {
        for _ in 0..CHUNK {
            let count = count.clone();
            scheduler
                .schedule(move || {
                    yield_now();
                    count.fetch_add(1, Ordering::Release);
                })
                .unwrap();
        }
        while count.load(Ordering::Acquire) < (chunk + 1) * CHUNK {
            std::thread::yield_now();
        }
    }
    scheduler.stop();
    start.elapsed().as_nanos() as f64 / TASKS as f64
}

/// The baseline: the same counting closures sent through an mpsc channel to plain threads.
fn std_pool(workers: usize) -> f64 {
    let count = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let (tx, rx) = mpsc::channel::<Box<dyn FnOnce() + Send>>();
    let rx = Arc::new(std::sync::Mutex::new(rx));
    let threads: Vec<_> = (0..workers)
        .map(|_| {
            let rx = rx.clone();
            std::thread::spawn(move || {
                loop {
                    let job = rx.lock().unwrap().recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    for _ in 0..TASKS {
        let count = count.clone();
        tx.send(Box::new(move || {
            count.fetch_add(1, Ordering::Relaxed);
        }))
        .unwrap();
    }
    drop(tx);
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(count.load(Ordering::Relaxed), TASKS);
    start.elapsed().as_nanos() as f64 / TASKS as f64
}

fn main() {
    println!("{TASKS} tasks, start to finish, ns per task (median of {ROUNDS})");
    println!("{:<44}{:>10}{:>18}", "", "ns/task", "vs std pool");
    for workers in [1, 2] {
        let pool = median(|| std_pool(workers));
        let empty = median(|| sylar_empty(workers));
        let closures = median(|| sylar_closures(workers));
        let yielding = median(|| sylar_yielding(workers));
        println!("{workers} worker(s)");
        println!(
            "  {:<42}{pool:>10.1}{:>17.2}x",
            "std thread pool (mpsc), counting closure", 1.0
        );
        println!(
            "  {:<42}{empty:>10.1}{:>17.2}x",
            "Scheduler, empty closure",
            empty / pool
        );
        println!(
            "  {:<42}{closures:>10.1}{:>17.2}x",
            "Scheduler, counting closure",
            closures / pool
        );
        println!(
            "  {:<42}{yielding:>10.1}{:>17.2}x",
            "Scheduler, counting closure yielding once",
            yielding / pool
        );
    }
}
