//! `%f` in a log pattern prints the running fiber's id: this crate registers
//! the provider with chapter 1's logger.

use std::sync::{Arc, Mutex};

use sylar_fiber::{Fiber, Outcome, current_id, main_fiber_id};
use sylar_log::{Appender, PatternFormatter, sylar_info};

#[derive(Debug, Default)]
struct Lines(Mutex<Vec<String>>);

impl Appender for Lines {
    fn write_line(&self, line: &[u8]) {
        self.0
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(line).into_owned());
    }
}

#[test]
fn percent_f_prints_the_running_fiber_id() {
    let lines = Arc::new(Lines::default());
    let logger = sylar_log::logger("fiber_id_test");
    logger.set_formatter(PatternFormatter::new("%f %m%n").unwrap());
    logger.add_appender(lines.clone());
    let inner = logger.clone();
    let fiber = Fiber::new(move || sylar_info!(inner, "inside"));
    let id = fiber.id();
    assert!(matches!(fiber.resume(), Outcome::Finished(_)));
    sylar_info!(logger, "outside");
    assert_eq!(current_id(), main_fiber_id());
    let lines = lines.0.lock().unwrap();
    assert_eq!(
        *lines,
        [
            format!("{id} inside\n"),
            format!("{} outside\n", main_fiber_id())
        ]
    );
}
