//! The process-wide registry, and the `logs` variable that configures chapter 1's
//! loggers from YAML, as sylar does.
//!
//! ```yaml
//! logs:
//!   - name: system
//!     level: info
//!     formatter: "%d%T[%p]%T%m%n"
//!     appenders:
//!       - type: file
//!         file: /var/log/app/system.txt
//! ```
//!
//! The variable's validator runs [`sylar_log::check_config`] on every list a load
//! brings (it creates no file, so a refused load leaves nothing behind on disk), and
//! its listener hands every accepted list to [`sylar_log::apply_config`],
//! so a reload of a changed file reconfigures the loggers while the program runs.

use std::fmt;
use std::io::{self, Write as _};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, LazyLock};

use sylar_log::LogDefine;

use crate::error::ConfigError;
use crate::registry::Registry;
use crate::value::ConfigValue;
use crate::var::ConfigVar;

/// The name of the variable holding the logger definitions.
pub(crate) const LOGS: &str = "logs";

// ANCHOR: global
/// The registry behind [`global()`], created on first use with `logs` registered.
static GLOBAL: LazyLock<Registry> = LazyLock::new(|| {
    let registry = Registry::new();
    register_logs(&registry);
    registry
});

/// The process-wide registry. It always has the variable `logs`
/// (`Vec<sylar_log::LogDefine>`), whose changes are applied to the loggers.
pub fn global() -> &'static Registry {
    &GLOBAL
}

/// Shortcut for `global().lookup(name, default, description)`.
///
/// # Errors
/// As [`Registry::lookup`].
pub fn lookup<T: ConfigValue>(
    name: &str,
    default: T,
    description: &str,
) -> Result<Arc<ConfigVar<T>>, ConfigError> {
    global().lookup(name, default, description)
}
// ANCHOR_END: global

// ANCHOR: register_logs
/// Registers `logs`, the validator that lets through only lists the loggers can
/// take, and the listener that applies them.
fn register_logs(registry: &Registry) {
    let logs = registry
        .lookup::<Vec<LogDefine>>(LOGS, Vec::new(), "the loggers: level, pattern, appenders")
        .expect("`logs` is a valid name registered first, with one type");
    // A list the loggers would refuse (a file that cannot be opened) rejects the
    // load, so it is never stored: once the cause is fixed, the same text loads.
    logs.add_validator(|defs| sylar_log::check_config(defs).map_err(|err| err.to_string()))
        .expect("the empty list `logs` starts with passes its check");
    logs.add_listener(|_old, new| {
        if let Err(err) = sylar_log::apply_config(new) {
            // Accepted a moment ago, refused now (the directory removed in
            // between, say): the loggers keep their previous setup.
            log_error(format_args!(
                "config logs: not applied to the loggers: {err}"
            ));
        }
    });
}
// ANCHOR_END: register_logs

// ANCHOR: log_error
/// Reports a problem that has no caller to return to (a listener's failure, an
/// early value that does not fit) on sylar's framework logger, `system`. It goes
/// straight to that logger, so it is seen whether or not the `log` facade bridge
/// (`sylar_log::init`) is installed.
///
/// The report runs whatever appenders the program gave that logger, and a custom
/// one may panic. That panic is contained here, and the message goes to stderr
/// instead: a report is often made in the middle of delivering changes to
/// listeners, and a panic escaping from it would end that delivery half-way.
pub(crate) fn log_error(message: fmt::Arguments<'_>) {
    let logged = catch_unwind(AssertUnwindSafe(|| {
        sylar_log::sylar_error!(sylar_log::logger("system"), "{message}");
    }));
    if logged.is_err() {
        // Not `eprintln!`, which panics when stderr is closed.
        let _ = writeln!(
            io::stderr(),
            "sylar-config: {message} (logging this on `system` panicked)"
        );
    }
}
// ANCHOR_END: log_error
