//! The run queue every worker shares, and the bookkeeping that makes
//! "is there anything left to do?" a question with a correct answer.

use std::collections::VecDeque;

use crate::task::Task;

// ANCHOR: queue
/// The state behind the scheduler's one mutex.
///
/// Keeping the counts of running and idle workers under the same lock as the
/// tasks is what makes two decisions exact: a worker only goes idle after
/// seeing, under the lock, that there is nothing for it (so a task pushed
/// after that point sees it counted as idle and wakes it), and a stopping
/// worker only leaves when, under the lock, the queue is empty and no task is
/// running anywhere (so no task can appear after it looked).
#[derive(Debug, Default)]
pub(crate) struct Queue {
    /// Tasks any worker may run, oldest first.
    pub global: VecDeque<Task>,
    /// Tasks pinned to one worker, by worker index.
    pub pinned: Vec<VecDeque<Task>>,
    /// Tasks being run right now, on all workers.
    pub active: usize,
    /// Workers blocked in `idle`, by index.
    pub sleeping: Vec<bool>,
    /// How many entries of `sleeping` are true.
    pub idle: usize,
    /// A tickle was sent and no worker has woken from it yet: don't send another.
    pub tickled: bool,
    /// Tasks run so far (to their end, a yield or a park), for statistics.
    pub executed: u64,
}
// ANCHOR_END: queue

impl Queue {
    pub fn new(workers: usize) -> Self {
        Queue {
            pinned: (0..workers).map(|_| VecDeque::new()).collect(),
            sleeping: vec![false; workers],
            ..Queue::default()
        }
    }

    // ANCHOR: pop_for
    /// The next task for worker `index`, its own pinned tasks first, with
    /// the pin it had (so that a fiber which yields goes back where it was).
    pub fn pop_for(&mut self, index: usize) -> Option<(Task, Option<usize>)> {
        if let Some(task) = self.pinned[index].pop_front() {
            return Some((task, Some(index)));
        }
        self.global.pop_front().map(|task| (task, None))
    }
    // ANCHOR_END: pop_for

    /// Whether worker `index` has something to run.
    pub fn has_work_for(&self, index: usize) -> bool {
        !self.global.is_empty() || !self.pinned[index].is_empty()
    }

    /// Whether any task is waiting at all.
    pub fn is_empty(&self) -> bool {
        self.global.is_empty() && self.pinned.iter().all(VecDeque::is_empty)
    }

    // ANCHOR: push
    /// Queues a task and says whether a sleeping worker must be tickled.
    /// `from` is the worker pushing, if a worker of this scheduler is: a
    /// worker pushing from inside its own `idle` (the I/O manager scheduling
    /// the fibers it just woke) is about to run them, and needs no tickle.
    #[inline] // once per task, and short: no call
    pub fn push(&mut self, task: Task, pin: Option<usize>, from: Option<usize>) -> bool {
        match pin {
            Some(index) => {
                self.pinned[index].push_back(task);
                self.sleeping[index] && from != Some(index)
            }
            None => {
                self.global.push_back(task);
                let me = usize::from(from.is_some_and(|i| self.sleeping[i]));
                self.idle > me && !std::mem::replace(&mut self.tickled, true)
            }
        }
    }
    // ANCHOR_END: push

    /// Pinned work waits for a worker that sleeps: someone must wake it.
    pub fn pinned_work_for_sleeper(&self) -> bool {
        self.pinned
            .iter()
            .zip(&self.sleeping)
            .any(|(tasks, &asleep)| asleep && !tasks.is_empty())
    }
}
