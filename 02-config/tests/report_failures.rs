//! Problems the configuration reports on the `system` logger, when reporting them
//! fails too. In a binary of its own: it makes that logger's only appender panic.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sylar_config::Registry;
use sylar_log::Appender;

/// An appender (user code, like any custom appender) that panics on every line.
#[derive(Debug, Default)]
struct PanickingAppender {
    lines: AtomicUsize,
}

impl Appender for PanickingAppender {
    fn write_line(&self, _line: &[u8]) {
        self.lines.fetch_add(1, Ordering::SeqCst);
        panic!("the system logger's appender panics on purpose");
    }
}

/// A listener panics, and the report of that panic panics in the appender. Both
/// are contained: `set` returns, the next listener still runs, and so do the
/// listeners of every later change (before, the second panic escaped from `set`
/// and left the variable marked as being delivered, so no listener of it ever
/// ran again).
#[test]
fn a_report_whose_logging_panics_stops_neither_set_nor_later_changes() {
    let appender = Arc::new(PanickingAppender::default());
    sylar_log::logger("system").set_appenders(vec![appender.clone()]);

    let registry = Registry::new();
    let var = registry.lookup("v", 0, "").unwrap();
    var.add_listener(|_, _| panic!("a listener panics on purpose"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_in = Arc::clone(&seen);
    var.add_listener(move |_, new| seen_in.lock().unwrap().push(*new));

    for value in 1..=3 {
        let set = std::panic::catch_unwind(|| var.set(value));
        assert!(set.is_ok(), "set({value}) panicked");
    }
    assert_eq!(*seen.lock().unwrap(), [1, 2, 3]);
    assert_eq!(
        appender.lines.load(Ordering::SeqCst),
        3,
        "each panic was reported"
    );
    assert_eq!(var.get(), 3);
    sylar_log::logger("system").clear_appenders();
}
