//! The timer manager on its own, driven with explicit times so that nothing
//! depends on how fast the machine is.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sylar_iomanager::{Expired, TimerManager};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn run_all(expired: Vec<Expired>) -> usize {
    let n = expired.len();
    expired.into_iter().for_each(Expired::run);
    n
}

#[test]
fn timers_fire_in_deadline_order_and_not_before_their_deadline() {
    let manager = TimerManager::new(|| {});
    let order = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    // Added out of order, spread across several wheel levels.
    for delay in [5_000, 30, 1, 70_000, 64, 4_100, 2, 300_000] {
        let order = order.clone();
        manager.add(ms(delay), move || order.lock().unwrap().push(delay));
    }
    assert_eq!(manager.len(), 8);
    // Nothing is due before the earliest deadline.
    assert_eq!(run_all(manager.collect_expired(start)), 0);
    for step in [
        0, 1, 2, 29, 30, 63, 64, 4_099, 4_100, 5_000, 69_999, 70_000, 300_001,
    ] {
        run_all(manager.collect_expired(start + ms(step) + ms(1)));
    }
    assert_eq!(
        *order.lock().unwrap(),
        [1, 2, 30, 64, 4_100, 5_000, 70_000, 300_000]
    );
    assert!(manager.is_empty());
}

#[test]
fn a_timer_never_fires_early() {
    let manager = TimerManager::new(|| {});
    let fired = Arc::new(AtomicUsize::new(0));
    let f = fired.clone();
    let timer = manager.add(ms(100), move || {
        f.fetch_add(1, Ordering::SeqCst);
    });
    let deadline = manager.deadline(timer).expect("live");
    assert_eq!(
        run_all(manager.collect_expired(deadline - Duration::from_micros(1))),
        0
    );
    assert_eq!(run_all(manager.collect_expired(deadline + ms(1))), 1);
    assert_eq!(fired.load(Ordering::SeqCst), 1);
    assert!(
        manager.deadline(timer).is_none(),
        "a fired one-shot timer is gone"
    );
}

#[test]
fn next_deadline_is_the_earliest_live_timer() {
    let manager = TimerManager::new(|| {});
    assert!(manager.next_deadline().is_none());
    let late = manager.add(ms(10_000), || {});
    let early = manager.add(ms(50), || {});
    let next = manager.next_deadline().unwrap();
    let early_at = manager.deadline(early).unwrap();
    // To the millisecond, and never after the deadline.
    assert!(
        next <= early_at + ms(1) && next + ms(64) >= early_at,
        "{next:?} vs {early_at:?}"
    );
    assert!(manager.cancel(early));
    let next = manager.next_deadline().unwrap();
    assert!(next <= manager.deadline(late).unwrap() + ms(1));
    assert!(next > early_at, "the cancelled timer no longer counts");
}

#[test]
fn recurring_timers_fire_every_interval_until_cancelled() {
    let manager = TimerManager::new(|| {});
    let fired = Arc::new(AtomicUsize::new(0));
    let f = fired.clone();
    let timer = manager.add_recurring(ms(10), move || {
        f.fetch_add(1, Ordering::SeqCst);
    });
    let mut now = Instant::now();
    for _ in 0..5 {
        now += ms(11);
        run_all(manager.collect_expired(now));
    }
    assert_eq!(fired.load(Ordering::SeqCst), 5);
    assert!(manager.cancel(timer));
    run_all(manager.collect_expired(now + ms(1_000)));
    assert_eq!(fired.load(Ordering::SeqCst), 5);
    assert!(!manager.cancel(timer), "already cancelled");
}

#[test]
fn a_zero_interval_recurring_timer_fires_once_per_collection() {
    let manager = TimerManager::new(|| {});
    let fired = Arc::new(AtomicUsize::new(0));
    let f = fired.clone();
    manager.add_recurring(Duration::ZERO, move || {
        f.fetch_add(1, Ordering::SeqCst);
    });
    let now = Instant::now() + ms(5);
    run_all(manager.collect_expired(now));
    assert_eq!(fired.load(Ordering::SeqCst), 1);
}

#[test]
fn a_timer_already_due_fires_at_the_next_collection_not_the_next_tick() {
    let manager = TimerManager::new(|| {});
    let fired = Arc::new(AtomicUsize::new(0));
    let (f, g) = (fired.clone(), fired.clone());
    let before = Instant::now();
    manager.add(Duration::ZERO, move || {
        f.fetch_add(1, Ordering::SeqCst);
    });
    manager.add_at(before, move || {
        g.fetch_add(1, Ordering::SeqCst);
    });
    // Both deadlines have come: the sleeper is told to wait no longer than
    // now, and the first collection takes both, whatever the time within
    // the current millisecond (rounded up to the next tick, they would wait
    // for it).
    let now = Instant::now();
    assert!(manager.next_deadline().unwrap() <= now);
    assert_eq!(run_all(manager.collect_expired(now)), 2);
    assert_eq!(fired.load(Ordering::SeqCst), 2);
}

#[test]
fn a_condition_timer_whose_owner_was_dropped_never_fires() {
    let manager = TimerManager::new(|| {});
    let fired = Arc::new(AtomicUsize::new(0));
    let alive = Arc::new("owner");
    let gone = Arc::new("owner");
    for owner in [&alive, &gone] {
        let f = fired.clone();
        manager.add_conditional(ms(5), owner, move || {
            f.fetch_add(1, Ordering::SeqCst);
        });
    }
    drop(gone);
    run_all(manager.collect_expired(Instant::now() + ms(10)));
    assert_eq!(
        fired.load(Ordering::SeqCst),
        1,
        "only the live owner's timer ran"
    );
    drop(alive);
}

#[test]
fn refresh_restarts_and_reset_changes_the_interval() {
    let manager = TimerManager::new(|| {});
    let timer = manager.add(ms(100), || {});
    let first = manager.deadline(timer).unwrap();
    std::thread::sleep(ms(5)); // let the clock move, so "from now" differs
    assert!(manager.refresh(timer));
    let refreshed = manager.deadline(timer).unwrap();
    assert!(refreshed > first, "refresh counts the same 100 ms from now");
    assert!(manager.reset(timer, ms(1_000), false));
    let from_start = manager.deadline(timer).unwrap();
    assert!(manager.reset(timer, ms(1_000), true));
    let from_now = manager.deadline(timer).unwrap();
    assert!(from_now >= from_start);
    assert_eq!(
        from_start,
        refreshed - ms(100) + ms(1_000),
        "from the period's start"
    );
    // It fires at the new deadline, not the old one.
    assert_eq!(run_all(manager.collect_expired(first + ms(1))), 0);
    assert_eq!(run_all(manager.collect_expired(from_now + ms(1))), 1);
    assert!(
        !manager.refresh(timer) && !manager.reset(timer, ms(1), true),
        "a fired timer is inert"
    );
}

#[test]
fn cancelled_timers_do_not_fire_and_their_slots_are_reused_safely() {
    let manager = TimerManager::new(|| {});
    let fired = Arc::new(AtomicUsize::new(0));
    let f = fired.clone();
    let old = manager.add(ms(10), move || {
        f.fetch_add(1, Ordering::SeqCst);
    });
    assert!(manager.cancel(old));
    // A new timer may reuse the slot; the old handle must not touch it.
    let f = fired.clone();
    let new = manager.add(ms(10), move || {
        f.fetch_add(100, Ordering::SeqCst);
    });
    assert!(!manager.cancel(old) && !manager.refresh(old));
    run_all(manager.collect_expired(Instant::now() + ms(20)));
    assert_eq!(fired.load(Ordering::SeqCst), 100);
    assert!(manager.deadline(new).is_none());
}

#[test]
fn adding_an_earlier_timer_announces_a_new_front_once() {
    let announced = Arc::new(AtomicUsize::new(0));
    let a = announced.clone();
    let manager = TimerManager::new(move || {
        a.fetch_add(1, Ordering::SeqCst);
    });
    manager.add(ms(1_000), || {});
    assert_eq!(announced.load(Ordering::SeqCst), 1);
    manager.add(ms(2_000), || {}); // later: nothing to announce
    manager.add(ms(500), || {}); // earlier, but the last news is unread
    assert_eq!(announced.load(Ordering::SeqCst), 1);
    manager.next_deadline(); // a sleeper reads the front...
    manager.add(ms(100), || {}); // ...so an earlier timer is news again
    assert_eq!(announced.load(Ordering::SeqCst), 2);
}

#[test]
fn a_handle_works_like_its_key_and_goes_inert_with_its_manager() {
    let manager = TimerManager::new(|| {});
    let id = manager.add(ms(100), || {});
    let handle = manager.handle(id);
    assert_eq!(handle.id(), id);
    assert_eq!(handle.deadline(), manager.deadline(id));
    assert!(handle.reset(ms(200), true));
    assert_eq!(handle.deadline(), manager.deadline(id));
    let other = manager.handle(manager.add(ms(100), || {}));
    drop(manager);
    assert!(other.deadline().is_none(), "the manager is gone");
    assert!(!other.cancel() && !other.refresh() && !other.reset(ms(1), true));
}

#[test]
fn cancel_racing_with_refresh_and_reset_is_never_lost() {
    for _ in 0..200 {
        let manager = TimerManager::new(|| {});
        let fired = Arc::new(AtomicUsize::new(0));
        let f = fired.clone();
        let timer = manager.add(ms(50), move || {
            f.fetch_add(1, Ordering::SeqCst);
        });
        // Handles, so that each thread holds the timer apart from the manager.
        let (t1, t2) = (manager.handle(timer), manager.handle(timer));
        let refresher = std::thread::spawn(move || {
            for i in 0..50 {
                t1.refresh();
                t1.reset(ms(50 + i), i % 2 == 0);
            }
        });
        let canceller = std::thread::spawn(move || t2.cancel());
        refresher.join().unwrap();
        assert!(canceller.join().unwrap(), "the cancel found the timer live");
        assert!(manager.is_empty());
        run_all(manager.collect_expired(Instant::now() + ms(10_000)));
        assert_eq!(fired.load(Ordering::SeqCst), 0, "a cancelled timer fired");
    }
}

#[test]
fn timers_far_in_the_future_wait_their_turn() {
    let manager = TimerManager::new(|| {});
    let fired = Arc::new(AtomicUsize::new(0));
    let f = fired.clone();
    let year = Duration::from_secs(365 * 24 * 3600);
    let timer = manager.add(year, move || {
        f.fetch_add(1, Ordering::SeqCst);
    });
    let start = Instant::now();
    assert_eq!(run_all(manager.collect_expired(start + year / 2)), 0);
    assert_eq!(run_all(manager.collect_expired(start + year - ms(10))), 0);
    assert_eq!(
        run_all(manager.collect_expired(manager.deadline(timer).unwrap() + ms(1))),
        1
    );
    assert_eq!(fired.load(Ordering::SeqCst), 1);
}

#[test]
fn many_timers_all_fire_exactly_once() {
    let manager = TimerManager::new(|| {});
    let fired = Arc::new(AtomicUsize::new(0));
    let mut x: u64 = 12345;
    for _ in 0..50_000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let f = fired.clone();
        manager.add(Duration::from_micros((x >> 33) % 20_000_000), move || {
            f.fetch_add(1, Ordering::Relaxed);
        });
    }
    let start = Instant::now();
    let mut total = 0;
    let mut t = 0;
    while t <= 21_000 {
        total += run_all(manager.collect_expired(start + ms(t)));
        t += 97;
    }
    assert_eq!(total, 50_000);
    assert_eq!(fired.load(Ordering::Relaxed), 50_000);
    assert!(manager.is_empty());
}

#[test]
fn huge_delays_are_capped_instead_of_overflowing() {
    let manager = TimerManager::new(|| {});
    let timer = manager.add(Duration::MAX, || {});
    assert!(
        manager.deadline(timer).unwrap()
            > Instant::now() + Duration::from_secs(50 * 365 * 24 * 3600)
    );
    assert!(manager.reset(timer, Duration::MAX, true));
    assert!(manager.cancel(timer));
}

#[test]
fn collecting_with_a_future_now_does_not_make_later_timers_fire_early() {
    let manager = TimerManager::new(|| {});
    manager.add(ms(60_000), || {});
    // Someone collects "5 s from now": the wheel's clock moves ahead...
    assert_eq!(
        run_all(manager.collect_expired(Instant::now() + ms(5_000))),
        0
    );
    // ...but a timer added afterwards, due in 1 s, is not due at the real now.
    let timer = manager.add(ms(1_000), || {});
    assert_eq!(run_all(manager.collect_expired(Instant::now())), 0);
    assert!(manager.deadline(timer).is_some(), "still waiting");
    assert_eq!(
        run_all(manager.collect_expired(manager.deadline(timer).unwrap() + ms(1))),
        1
    );
}

#[test]
fn a_condition_is_checked_when_the_callback_runs() {
    let manager = TimerManager::new(|| {});
    let fired = Arc::new(AtomicUsize::new(0));
    let owner = Arc::new(());
    let f = fired.clone();
    manager.add_conditional(ms(1), &owner, move || {
        f.fetch_add(1, Ordering::SeqCst);
    });
    let expired = manager.collect_expired(Instant::now() + ms(5));
    assert_eq!(expired.len(), 1);
    // The owner dies between collection and the run: nothing happens.
    drop(owner);
    let (task, _) = expired.into_iter().next().unwrap().into_task().unwrap();
    match task {
        sylar_scheduler::Task::Call(f) => f(),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(fired.load(Ordering::SeqCst), 0);
}
