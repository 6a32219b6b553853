//! A small pool of helper threads for calls that cannot be made
//! non-blocking (the resolver, a file read, a long computation), used by
//! [`IoHandle::run_blocking`](crate::IoHandle::run_blocking).
//!
//! The fiber that makes such a call parks; a helper thread runs the call and
//! then schedules the fiber back, with the result beside it. The worker that
//! ran the fiber is free meanwhile.
//!
//! ```text
//!  worker thread              pool ("sylar-blocking")         reactor
//!  ─────────────              ───────────────────────         ───────
//!  fiber: run_blocking(f)
//!    pending += 1  ───────────────────────────────────────▶  pending: n+1
//!    park ──▶ handoff(fiber):
//!             submit(job) ──▶ queue ──▶ helper wakes
//!  (runs other fibers)                  r = catch_unwind(f)
//!                                       slot = r
//!                             ◀──────── schedule(fiber)  (1)
//!                                       pending -= 1  ─────▶  pending: n   (2)
//!  fiber resumes: takes r,
//!  returns it or resume_unwind
//! ```
//!
//! The pool starts no thread until the first job, runs at most
//! [`MAX_THREADS`] at once, and a helper that has had nothing to do for
//! [`IDLE_EXIT`] exits. Jobs wait in one queue behind a mutex and a condition
//! variable: a blocking call costs a thread switch and a syscall or more, so
//! the queue's lock is never the expensive part.

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, Once};
use std::time::Duration;

// ANCHOR: pool
/// At most this many helper threads at once; more jobs wait in the queue.
pub(crate) const MAX_THREADS: usize = 4;

/// A helper thread with nothing to do for this long exits.
pub(crate) const IDLE_EXIT: Duration = Duration::from_secs(10);

/// One blocking call, packaged with what must happen after it.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// The process-wide pool: a queue, and a count of its threads.
struct Pool {
    state: Mutex<State>,
    /// Signalled when a job is queued.
    ready: Condvar,
}

struct State {
    jobs: VecDeque<Job>,
    /// Helper threads alive.
    threads: usize,
    /// Of those, how many wait for a job.
    idle: usize,
}

static POOL: Pool = Pool {
    state: Mutex::new(State {
        jobs: VecDeque::new(),
        threads: 0,
        idle: 0,
    }),
    ready: Condvar::new(),
};
// ANCHOR_END: pool

impl Pool {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A job never runs under the lock, so a poisoned lock only means a
        // panic in this file's few lines; the state is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Set in the child of a `fork`: the pool's threads did not come along (and
/// one of them may have held its lock), so the child runs jobs inline.
static IN_FORKED_CHILD: AtomicBool = AtomicBool::new(false);

extern "C" fn after_fork_in_child() {
    IN_FORKED_CHILD.store(true, Ordering::Relaxed);
}

// ANCHOR: submit
/// Queues `job` to run on a helper thread, starting one when more jobs wait
/// than helpers are idle and fewer than [`MAX_THREADS`] run. If no thread can
/// be started and none is alive, or in the child of a `fork` (which has
/// none of the pool's threads), the job runs on the calling thread instead:
/// blocking it is better than never running the job (whose fiber would then
/// wait forever).
pub(crate) fn submit(job: Job) {
    static ATFORK: Once = Once::new();
    // SAFETY: registers a child handler that only stores to an atomic.
    ATFORK.call_once(|| unsafe {
        libc::pthread_atfork(None, None, Some(after_fork_in_child));
    });
    if IN_FORKED_CHILD.load(Ordering::Relaxed) {
        return job();
    }
    let mut state = POOL.lock();
    state.jobs.push_back(job);
    // More jobs waiting than idle helpers to take them (an idle helper that
    // was signalled but has not woken yet still counts as idle): start one.
    let start = state.jobs.len() > state.idle && state.threads < MAX_THREADS;
    if start {
        state.threads += 1;
    }
    drop(state);
    POOL.ready.notify_one();
    if !start {
        return; // an idle helper, or the first busy one to finish, takes it
    }
    let spawned = std::thread::Builder::new()
        .name("sylar-blocking".into())
        .spawn(helper);
    if let Err(e) = spawned {
        log::error!(target: "system", "cannot start a blocking-pool thread: {e}");
        let mut state = POOL.lock();
        state.threads -= 1;
        if state.threads == 0 {
            let jobs: Vec<Job> = state.jobs.drain(..).collect();
            drop(state);
            jobs.into_iter().for_each(|job| job());
        }
    }
}
// ANCHOR_END: submit

// ANCHOR: helper
/// A helper thread: runs queued jobs; exits after [`IDLE_EXIT`] without one.
fn helper() {
    let mut state = POOL.lock();
    loop {
        if let Some(job) = state.jobs.pop_front() {
            drop(state);
            // `run_blocking`'s jobs catch their callers' panics; this catches
            // anything else, so that a panic never costs the pool a thread.
            if panic::catch_unwind(AssertUnwindSafe(job)).is_err() {
                log::error!(target: "system", "a blocking-pool job panicked");
            }
            state = POOL.lock();
            continue;
        }
        state.idle += 1;
        let (next, timeout) = POOL
            .ready
            .wait_timeout(state, IDLE_EXIT)
            .unwrap_or_else(|e| e.into_inner());
        state = next;
        state.idle -= 1;
        if timeout.timed_out() && state.jobs.is_empty() {
            state.threads -= 1;
            return;
        }
    }
}
// ANCHOR_END: helper

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::sync::mpsc;

    const PATIENCE: Duration = Duration::from_secs(30);

    /// Jobs running right now, and the most that ever ran at once.
    #[derive(Default)]
    struct Concurrency {
        now: AtomicUsize,
        max: AtomicUsize,
    }

    /// Three times more jobs than threads, each held until the test releases
    /// it. Every job counts itself in while it runs, and `fetch_max` keeps
    /// the highest count seen, so `max` is the real peak of jobs running at
    /// once, whatever the thread count says. The test releases a job only
    /// while exactly MAX_THREADS are held: the peak must reach the cap (no
    /// job waits while a thread could be started) and never pass it. Every
    /// job runs, on a thread named `sylar-blocking`.
    #[test]
    fn runs_every_job_on_named_threads_and_caps_the_count() {
        let jobs = 3 * MAX_THREADS;
        let seen = Arc::new(Concurrency::default());
        let (started_tx, started_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let mut releases = Vec::new();
        for _ in 0..jobs {
            let (release_tx, release_rx) = mpsc::channel::<()>();
            releases.push(release_tx);
            let (started_tx, done_tx, seen) = (started_tx.clone(), done_tx.clone(), seen.clone());
            submit(Box::new(move || {
                let now = seen.now.fetch_add(1, Ordering::SeqCst) + 1;
                seen.max.fetch_max(now, Ordering::SeqCst);
                started_tx.send(()).unwrap();
                release_rx.recv_timeout(PATIENCE).unwrap();
                seen.now.fetch_sub(1, Ordering::SeqCst);
                let name = std::thread::current().name().map(str::to_owned);
                done_tx.send(name).unwrap();
            }));
        }
        let mut releases = releases.into_iter();
        let mut started = 0;
        for finished in 0..jobs {
            // Wait until MAX_THREADS jobs (or all that are left) are held.
            while started - finished < MAX_THREADS.min(jobs - finished) {
                started_rx
                    .recv_timeout(PATIENCE)
                    .expect("a job never started");
                started += 1;
            }
            if finished == 0 {
                // The cap is reached. Give a pool that ignores it a while to
                // start a fifth job; a correct one never does, however long
                // we wait, so the while does not decide the verdict.
                assert_eq!(seen.max.load(Ordering::SeqCst), MAX_THREADS);
                assert!(
                    started_rx.recv_timeout(Duration::from_millis(200)).is_err(),
                    "a job started while MAX_THREADS were held"
                );
            }
            releases.next().unwrap().send(()).unwrap();
            let name = done_rx.recv_timeout(PATIENCE).expect("a job never ended");
            assert_eq!(name.as_deref(), Some("sylar-blocking"));
        }
        assert_eq!(started, jobs);
        assert_eq!(seen.max.load(Ordering::SeqCst), MAX_THREADS);
        assert!(POOL.lock().threads <= MAX_THREADS);
    }
}
