//! Busy polling: a worker whose sleeps keep ending almost as soon as they
//! begin polls epoll without sleeping for a short window instead.
//!
//! Sleeping in `epoll_wait` is not free when the next event is only a few
//! microseconds away: whoever makes the fd ready must wake the sleeping
//! thread (on another CPU, an inter-processor interrupt), and the thread
//! must be switched back in. A worker that polls with a zero timeout is
//! never asleep, so neither cost is paid — at the price of the CPU the
//! polls burn. The price is only worth paying while events come back to
//! back, so the worker learns: a sleep that ended with an event within the
//! window arms polling; a window of polls that found nothing disarms it
//! until a sleep ends that quickly again. An idle server sleeps, as before.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

// ANCHOR: busy_poll
/// How long a worker may poll without sleeping before it sleeps again; one
/// per I/O manager, zero (the default) for never.
#[derive(Default)]
pub(crate) struct BusyPoll {
    window_ns: AtomicU64,
}

thread_local! {
    /// This worker's last sleep ended with an event within the window.
    static ARMED: Cell<bool> = const { Cell::new(false) };
    /// When this worker's current stretch of polls must end.
    static UNTIL: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// What the next `epoll_wait` of the idle loop is to be.
pub(crate) enum IdleWait {
    /// Look and return at once (timeout 0).
    Poll,
    /// Sleep until an event or a timer; the start time when busy polling is
    /// on, so that the sleep can be timed.
    Sleep(Option<Instant>),
}

impl BusyPoll {
    /// Decides the calling worker's next wait.
    pub fn plan(&self) -> IdleWait {
        let window = self.window();
        if window.is_zero() {
            return IdleWait::Sleep(None);
        }
        let now = Instant::now();
        if ARMED.get() {
            let until = UNTIL.get().unwrap_or(now + window);
            if now < until {
                UNTIL.set(Some(until));
                return IdleWait::Poll;
            }
            // A whole window of polls found nothing: back to sleeping.
            ARMED.set(false);
            UNTIL.set(None);
        }
        IdleWait::Sleep(Some(now))
    }

    /// Learns from the wait that just returned; `found` is whether epoll
    /// reported anything.
    pub fn learn(&self, wait: IdleWait, found: bool) {
        match wait {
            // Work: the next idle stretch gets a fresh window.
            IdleWait::Poll if found => UNTIL.set(None),
            IdleWait::Sleep(Some(start)) if found && start.elapsed() < self.window() => {
                ARMED.set(true);
                UNTIL.set(None);
            }
            _ => {}
        }
    }
    // ANCHOR_END: busy_poll

    /// The window (zero: busy polling is off).
    pub fn window(&self) -> Duration {
        Duration::from_nanos(self.window_ns.load(Ordering::Relaxed))
    }

    /// Sets the window; zero turns busy polling off.
    pub fn set_window(&self, window: Duration) {
        let ns = u64::try_from(window.as_nanos()).unwrap_or(u64::MAX);
        self.window_ns.store(ns, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The state is per thread: each test runs on its own thread.

    #[test]
    fn off_means_always_sleep_untimed() {
        let busy = BusyPoll::default();
        assert!(matches!(busy.plan(), IdleWait::Sleep(None)));
        busy.learn(IdleWait::Sleep(Some(Instant::now())), true);
        assert!(matches!(busy.plan(), IdleWait::Sleep(None)));
    }

    #[test]
    fn a_short_sleep_arms_polling_and_an_empty_window_disarms_it() {
        let busy = BusyPoll::default();
        busy.set_window(Duration::from_millis(20));
        let IdleWait::Sleep(Some(start)) = busy.plan() else {
            panic!("starts by sleeping, timed");
        };
        busy.learn(IdleWait::Sleep(Some(start)), true);
        assert!(matches!(busy.plan(), IdleWait::Poll));
        // Found work: the window starts again each time.
        busy.learn(IdleWait::Poll, true);
        let began = Instant::now();
        assert!(matches!(busy.plan(), IdleWait::Poll));
        // Nothing found until the window is over: sleep again.
        loop {
            match busy.plan() {
                IdleWait::Poll => busy.learn(IdleWait::Poll, false),
                IdleWait::Sleep(Some(_)) => break,
                IdleWait::Sleep(None) => panic!("busy polling is on"),
            }
            assert!(began.elapsed() < Duration::from_secs(10), "never disarmed");
        }
        assert!(began.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn a_long_sleep_or_one_with_nothing_leaves_it_disarmed() {
        let busy = BusyPoll::default();
        busy.set_window(Duration::from_millis(5));
        let long_ago = Instant::now() - Duration::from_millis(50);
        busy.learn(IdleWait::Sleep(Some(long_ago)), true);
        assert!(matches!(busy.plan(), IdleWait::Sleep(Some(_))));
        // A timer's expiry is not an event: nothing found.
        busy.learn(IdleWait::Sleep(Some(Instant::now())), false);
        assert!(matches!(busy.plan(), IdleWait::Sleep(Some(_))));
    }
}
