//! The scheduling loop every worker thread runs (sylar's `Scheduler::run`).

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use sylar_fiber::{Fiber, Outcome, panic_message, yield_to_hold};

use crate::handle::{CurrentGuard, Handle, Shared};
use crate::task::Task;

type Job = Box<dyn FnOnce() + Send + 'static>;

thread_local! {
    /// The job the runner fiber resumed next must call.
    static NEXT_JOB: Cell<Option<Job>> = const { Cell::new(None) };
    /// Set by a runner just before it hands itself back with its job done.
    static JOB_DONE: Cell<bool> = const { Cell::new(false) };
}

// ANCHOR: runner
/// The body of a *runner*: a fiber that calls closures one after another.
///
/// sylar wraps each callback in a fiber it keeps for reuse (`cb_fiber`) and
/// `reset`s it per callback. We go one step further: the runner loops, so a
/// closure costs one switch in and one out, not a new coroutine. After each
/// job it raises `JOB_DONE` and yields to hold, which the worker that resumed
/// it reads as "free again". When a closure parks (waits for I/O), its
/// runner goes with it and the worker uses another one; the parked runner
/// finishes its job on whichever worker wakes it and is reused there.
fn runner_body() {
    while let Some(job) = take_next_job() {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(job)) {
            log::error!(
                target: "system",
                "task panicked in fiber {}: {}",
                sylar_fiber::current_id(),
                panic_message(&*payload)
            );
        }
        if Handle::current_worker().is_none() {
            return; // resumed by hand, outside any scheduler: just end
        }
        mark_job_done();
        if yield_to_hold().is_err() {
            return;
        }
    }
}

/// Never inlined: the runner may have moved threads since it last looked.
#[inline(never)]
fn take_next_job() -> Option<Job> {
    NEXT_JOB.with(Cell::take)
}

#[inline(never)]
fn mark_job_done() {
    JOB_DONE.with(|d| d.set(true));
}
// ANCHOR_END: runner

// ANCHOR: batch
/// What a worker carries between two trips to the shared queue.
#[derive(Default)]
struct Batch {
    /// Tasks taken from the queue (and counted as active) but not yet run.
    taken: std::collections::VecDeque<Task>,
    /// Tasks that yielded and go back to the queue, with their pins.
    requeue: Vec<(Task, Option<usize>)>,
    /// Tasks run since the last trip.
    done: usize,
    /// This worker's free runner fiber, for the next closure.
    runner: Option<Fiber>,
}

impl Batch {
    /// The most tasks one trip takes.
    const MAX: usize = 16;
}
// ANCHOR_END: batch

/// One worker thread's loop and its local state.
pub(crate) struct Worker {
    handle: Handle,
    index: usize,
}

impl Worker {
    pub fn new(shared: Arc<Shared>, index: usize) -> Worker {
        Worker {
            handle: Handle { shared },
            index,
        }
    }

    fn shared(&self) -> &Shared {
        &self.handle.shared
    }

    // ANCHOR: run_loop
    // ANCHOR: run
    /// Runs tasks until the scheduler stops.
    pub fn run(self) {
        let _current = CurrentGuard::set(&self.handle.shared, self.index);
        if let Some(ext) = &self.shared().extension {
            ext.on_thread_start(&self.handle, self.index);
        }
        let mut batch = Batch::default();
        loop {
            let next = match batch.taken.pop_front() {
                Some(task) => Some((task, None)),
                None => self.exchange(&mut batch),
            };
            match next {
                Some((task, pin)) => {
                    if let Some(again) = self.run_task(task, &mut batch.runner) {
                        batch.requeue.push((again, pin));
                    }
                    batch.done += 1;
                }
                None if self.may_leave() => break,
                None => self.idle(),
            }
        }
        if let Some(runner) = batch.runner.take() {
            retire(runner);
        }
        if let Some(ext) = &self.shared().extension {
            ext.on_thread_stop(&self.handle, self.index);
        }
        // Others may be idle, waiting for the last task that just ended.
        self.shared().tickle_all();
    }
    // ANCHOR_END: run

    // ANCHOR: exchange
    /// One trip to the shared queue: report the tasks that ended, put back
    /// those that yielded, and take the next task — plus, when the queue is
    /// long and no other worker is idle, a few more so that the next ones
    /// cost no lock at all. Never while another worker sleeps: a task held in
    /// this worker's batch could not be run by it. (The price: if this
    /// worker's current task blocks its thread, the batch waits with it even
    /// if another worker falls idle meanwhile. Tasks should park, not block.)
    fn exchange(&self, batch: &mut Batch) -> Option<(Task, Option<usize>)> {
        let mut wake = false;
        let next = {
            let mut queue = self.shared().lock();
            queue.active -= batch.done;
            queue.executed += batch.done as u64;
            batch.done = 0;
            for (task, pin) in batch.requeue.drain(..) {
                // A requeued task from this very worker, which is not idle.
                wake |= queue.push(task, pin, Some(self.index));
            }
            let next = queue.pop_for(self.index);
            if next.is_some() {
                let extra = match queue.idle {
                    0 => (queue.global.len() / self.shared().workers).min(Batch::MAX - 1),
                    _ => 0,
                };
                debug_assert!(batch.taken.is_empty(), "exchange runs on an empty batch");
                if extra == queue.global.len() {
                    // All of it (the batch is empty here): swap the two
                    // queues instead of moving the tasks one by one.
                    std::mem::swap(&mut batch.taken, &mut queue.global);
                } else {
                    batch.taken.extend(queue.global.drain(..extra));
                }
                queue.active += 1 + extra;
                // Work is left and a worker sleeps, with no tickle on its
                // way: wake it. The tickle that woke us was spent when we
                // woke, and a task queued before we took ours saw the
                // tickle pending and sent none: without this it waits
                // for our task to end, while a worker sleeps.
                if !queue.global.is_empty() && queue.idle > 0 && !queue.tickled {
                    queue.tickled = true;
                    wake = true;
                }
            }
            next
        };
        if wake {
            self.shared().tickle(false);
        }
        next
    }
    // ANCHOR_END: exchange
    // ANCHOR: run_task
    /// Runs one task; returns it if it must go back in the queue (it yielded).
    fn run_task(&self, task: Task, spare: &mut Option<Fiber>) -> Option<Task> {
        let outcome = match task {
            Task::Fiber(fiber) => fiber.resume(),
            Task::Call(job) => {
                let runner = match spare.take() {
                    Some(runner) => runner,
                    None => match Fiber::try_new(runner_body) {
                        Ok(runner) => runner,
                        Err(e) => {
                            log::error!(target: "system", "no fiber for a task, dropped: {e}");
                            return None;
                        }
                    },
                };
                NEXT_JOB.with(|n| n.set(Some(job)));
                runner.resume()
            }
        };
        match outcome {
            Outcome::Held(runner) if JOB_DONE.with(|d| d.replace(false)) => {
                match spare {
                    None => *spare = Some(runner),
                    Some(_) => retire(runner),
                }
                None
            }
            // Yielded to ready; held with nobody to wake it behaves the same
            // (a spurious wake-up, see the book).
            Outcome::Yielded(fiber) | Outcome::Held(fiber) => Some(Task::Fiber(fiber)),
            Outcome::Parked => None,
            // Dropped here, by name: with every arm taking its fiber, a
            // parked fiber's outcome needs no drop glue at the end.
            Outcome::Finished(fiber) | Outcome::Panicked(fiber) => {
                drop(fiber);
                None
            }
        }
    }
    // ANCHOR_END: run_task
    // ANCHOR_END: run_loop

    // ANCHOR: may_leave
    /// Whether this worker may leave its loop: stop was requested, nothing is
    /// queued or running, and the extension has nothing pending. Once one
    /// worker sees that, the scheduler is stopped for good: later `schedule`
    /// calls are refused, so no task can slip in unseen.
    fn may_leave(&self) -> bool {
        let shared = self.shared();
        if shared.stopped.load(Ordering::Acquire) {
            return true;
        }
        if !shared.stop_requested.load(Ordering::Acquire) {
            return false;
        }
        let queue = shared.lock();
        if !queue.is_empty() || queue.active > 0 {
            return false;
        }
        let ext_done = shared
            .extension
            .as_ref()
            .is_none_or(|ext| ext.stopping(&self.handle));
        if ext_done {
            shared.stopped.store(true, Ordering::Release);
        }
        ext_done
    }
    // ANCHOR_END: may_leave

    // ANCHOR: idle
    /// Nothing to run: sleep until there may be (sylar's idle fiber; see the
    /// book for why a plain call is enough here).
    fn idle(&self) {
        let shared = self.shared();
        let mut queue = shared.lock();
        if queue.has_work_for(self.index) {
            return;
        }
        if queue.pinned_work_for_sleeper() {
            // A tickle meant for another worker woke us: pass it on.
            drop(queue);
            shared.tickle(true);
            queue = shared.lock();
            // While the lock was free, work for us may have come, and its
            // pusher saw us awake and did not tickle: look again.
            if queue.has_work_for(self.index) {
                return;
            }
        }
        queue.idle += 1;
        queue.sleeping[self.index] = true;
        match &shared.extension {
            Some(ext) => {
                drop(queue);
                ext.idle(&self.handle);
                queue = shared.lock();
            }
            None => {
                // Wake for the stop only when everything is done: pinned
                // work for a worker that is not looping yet (worker 0 before
                // `stop` runs it) must not make the others spin.
                let stop_check = |q: &mut crate::queue::Queue| {
                    shared.stop_requested.load(Ordering::Acquire) && q.active == 0 && q.is_empty()
                };
                while !queue.has_work_for(self.index) && !stop_check(&mut queue) {
                    queue = shared.wakeup.wait(queue).unwrap_or_else(|e| e.into_inner());
                    // Whoever was tickled has woken: the next push must
                    // tickle again, even if this worker goes back to sleep.
                    queue.tickled = false;
                }
            }
        }
        queue.idle -= 1;
        queue.sleeping[self.index] = false;
        queue.tickled = false;
    }
    // ANCHOR_END: idle
}

// ANCHOR: retire
/// Ends a free runner properly: resumed with no job, its loop returns.
fn retire(runner: Fiber) {
    NEXT_JOB.with(|n| n.set(None));
    drop(runner.resume());
}
// ANCHOR_END: retire
