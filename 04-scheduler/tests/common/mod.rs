//! Helpers shared by the black-box tests (each test binary uses a subset).
#![allow(dead_code)]

use std::sync::{Condvar, Mutex};

use sylar_scheduler::{Extension, Handle};

/// An extension that lets a test see what the scheduler does: idle workers
/// sleep on a condition variable until tickled, and the extension counts the
/// sleepers and records which threads tickled.
#[derive(Debug, Default)]
pub struct Watch {
    state: Mutex<WatchState>,
    changed: Condvar,
}

/// What a [`Watch`] has seen.
#[derive(Debug, Default)]
pub struct WatchState {
    /// Tickles not yet consumed by an idle worker (a tickle sent before the
    /// worker blocks must not be lost).
    pub pending: usize,
    /// Workers blocked in `idle` right now.
    pub sleeping: usize,
    /// Names of the threads that tickled, each once.
    pub tickled_by: Vec<String>,
}

impl Extension for Watch {
    fn tickle(&self) {
        let mut state = self.state.lock().unwrap();
        state.pending += 1;
        if let Some(name) = std::thread::current().name()
            && !state.tickled_by.iter().any(|n| n == name)
        {
            state.tickled_by.push(name.to_string());
        }
        self.changed.notify_all();
    }

    fn idle(&self, _: &Handle) {
        let mut state = self.state.lock().unwrap();
        state.sleeping += 1;
        self.changed.notify_all();
        let mut state = self.changed.wait_while(state, |s| s.pending == 0).unwrap();
        state.pending -= 1;
        state.sleeping -= 1;
    }
}

impl Watch {
    /// Blocks until `condition` holds for what the extension has seen.
    pub fn wait_until(&self, mut condition: impl FnMut(&WatchState) -> bool) {
        let state = self.state.lock().unwrap();
        drop(self.changed.wait_while(state, |s| !condition(s)).unwrap());
    }
}

/// Runs `f` on a thread of its own and fails the test if it has not returned
/// within `limit`: a hang becomes a failure, not a stuck test run. A panic in
/// `f` is the test's failure, with its own message.
pub fn within(limit: std::time::Duration, f: impl FnOnce() + Send + 'static) {
    use std::sync::mpsc::{RecvTimeoutError, channel};
    let (done_tx, done_rx) = channel();
    let test = std::thread::spawn(move || {
        f();
        done_tx.send(()).unwrap();
    });
    match done_rx.recv_timeout(limit) {
        Ok(()) => {}
        Err(RecvTimeoutError::Timeout) => panic!("did not finish in time (hang?)"),
        Err(RecvTimeoutError::Disconnected) => std::panic::resume_unwind(test.join().unwrap_err()),
    }
}
