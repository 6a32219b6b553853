//! Change listeners: kept by id, called in the order the changes were stored, and
//! never under a lock that a listener could need.
//!
//! sylar's `ConfigVar::setValue` calls the listeners *before* storing the new value
//! and, in some versions, while holding the variable's lock, so a listener that reads
//! the variable sees the old value or deadlocks. Here a change goes through three
//! steps:
//!
//! 1. the variable stores the new value under its own write lock and, still under
//!    it, appends `(old, new)` to this queue ([`Listeners::enqueue`]), so the queue
//!    order is the store order;
//! 2. the lock is released;
//! 3. [`Listeners::deliver`] drains the queue and calls every listener, holding no
//!    lock while a listener runs.
//!
//! Only one thread delivers a given variable's changes at a time (the `delivering`
//! flag). A thread that stores a change while another is delivering leaves its change
//! in the queue for that thread, and a listener that sets its own variable leaves the
//! nested change for the loop it is running in. Every listener therefore sees the
//! changes one at a time, in store order: each `old` is the previous `new`.

use std::collections::VecDeque;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::global::log_error;
use crate::value::drop_quietly;

/// Identifies one listener of one variable, for
/// [`ConfigVar::remove_listener`](crate::ConfigVar::remove_listener).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerId(u64);

impl fmt::Display for ListenerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "listener #{}", self.0)
    }
}

/// A listener as stored: shared, so a delivery can call it without holding the list.
type Callback<T> = Arc<dyn Fn(&T, &T) + Send + Sync>;

/// The listeners of one variable and its queue of changes not yet delivered.
// ANCHOR: listeners
pub(crate) struct Listeners<T> {
    /// The next id to hand out; ids are never reused.
    next_id: AtomicU64,
    /// How many listeners there are: with none, a change is not even queued.
    count: AtomicUsize,
    /// The listeners, in the order they were added.
    list: Mutex<Vec<(ListenerId, Callback<T>)>>,
    /// Changes waiting to be delivered, and whether some thread is delivering.
    queue: Mutex<Queue<T>>,
}

/// The delivery queue of one variable.
struct Queue<T> {
    /// `(old, new)` pairs in the order the values were stored.
    changes: VecDeque<(T, T)>,
    /// True while a thread runs [`Listeners::deliver`]'s loop for this variable.
    delivering: bool,
}
// ANCHOR_END: listeners

/// Locks a mutex, ignoring poisoning: no listener ever runs under these locks, and
/// the data they guard is valid after any panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<T> Listeners<T> {
    /// No listeners, no queued changes.
    pub(crate) fn new() -> Self {
        Listeners {
            next_id: AtomicU64::new(1),
            count: AtomicUsize::new(0),
            list: Mutex::new(Vec::new()),
            queue: Mutex::new(Queue {
                changes: VecDeque::new(),
                delivering: false,
            }),
        }
    }

    /// Adds a listener; it sees the changes stored from now on.
    pub(crate) fn add(&self, callback: Callback<T>) -> ListenerId {
        let id = ListenerId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let mut list = lock(&self.list);
        list.push((id, callback));
        self.count.store(list.len(), Ordering::Release);
        id
    }

    /// Removes a listener; returns whether it was there. A delivery already running
    /// may still call it once for the change it is delivering.
    pub(crate) fn remove(&self, id: ListenerId) -> bool {
        let mut list = lock(&self.list);
        let before = list.len();
        list.retain(|(listener, _)| *listener != id);
        self.count.store(list.len(), Ordering::Release);
        list.len() != before
    }

    /// Whether any listener is registered (so the change is worth a clone).
    pub(crate) fn any(&self) -> bool {
        self.count.load(Ordering::Acquire) > 0
    }

    /// Queues a change. The caller holds the variable's write lock, which makes the
    /// queue order the store order.
    pub(crate) fn enqueue(&self, old: T, new: T) {
        lock(&self.queue).changes.push_back((old, new));
    }

    /// Calls the listeners for every queued change, unless another call is already
    /// doing so (on this thread further up the stack, or on another thread): that
    /// call then delivers these changes too, in order. `name` is for the report of a
    /// panicking listener.
    // ANCHOR: deliver
    pub(crate) fn deliver(&self, name: &str) {
        {
            let mut queue = lock(&self.queue);
            if queue.delivering || queue.changes.is_empty() {
                return;
            }
            queue.delivering = true;
        }
        loop {
            // Take the next change and clear the flag under the same lock, so that a
            // change queued concurrently is either seen here or finds the flag clear.
            let (old, new) = {
                let mut queue = lock(&self.queue);
                match queue.changes.pop_front() {
                    Some(change) => change,
                    None => {
                        queue.delivering = false;
                        return;
                    }
                }
            };
            let callbacks: Vec<Callback<T>> = lock(&self.list)
                .iter()
                .map(|(_, f)| Arc::clone(f))
                .collect();
            for callback in callbacks {
                // No lock is held here: the listener may read or set any variable,
                // add or remove listeners, or load configuration.
                let outcome = catch_unwind(AssertUnwindSafe(|| callback(&old, &new)));
                if let Err(payload) = outcome {
                    log_error(format_args!(
                        "config {name}: a change listener panicked: {}",
                        panic_message(payload.as_ref())
                    ));
                }
            }
            drop_quietly(name, (old, new));
        }
    }
    // ANCHOR_END: deliver
}

/// The text of a panic payload (`panic!("...")` carries a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "(a non-text panic payload)"
    }
}

impl<T> fmt::Debug for Listeners<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listeners")
            .field("count", &self.count.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}
