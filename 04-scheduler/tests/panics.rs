//! A panicking task is contained and reported through the log; the worker
//! carries on. Alone in its binary because it installs a `log` logger.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sylar_fiber::Fiber;
use sylar_scheduler::Scheduler;

static RECORDS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        if record.level() == log::Level::Error {
            RECORDS
                .lock()
                .unwrap()
                .push(format!("{}: {}", record.target(), record.args()));
        }
    }
    fn flush(&self) {}
}

#[test]
fn panics_in_closures_and_fibers_are_contained_and_logged() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Error);
    let done = Arc::new(AtomicUsize::new(0));
    let scheduler = Scheduler::new(1, false, "panicky");
    scheduler.start().unwrap();
    for i in 0..20 {
        let done = done.clone();
        scheduler
            .schedule(move || {
                if i % 2 == 0 {
                    panic!("closure {i} fails");
                }
                done.fetch_add(1, Ordering::Relaxed);
            })
            .unwrap();
    }
    scheduler
        .schedule_fiber(Fiber::new(|| panic!("fiber fails")))
        .unwrap();
    scheduler.stop();
    assert_eq!(done.load(Ordering::Relaxed), 10, "the odd tasks still ran");
    let records = RECORDS.lock().unwrap();
    assert!(
        records
            .iter()
            .any(|r| r.starts_with("system:") && r.contains("closure 4 fails")),
        "{records:?}"
    );
    assert!(
        records.iter().any(|r| r.contains("fiber fails")),
        "{records:?}"
    );
}
