//! The bridge from the `log` facade: `log::info!(...)` anywhere in the program (our
//! crates, or any library) ends up in our loggers.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Once, OnceLock};

use crate::level::Level;
use crate::logger::Logger;
use crate::manager::{self, BRIDGE_INSTALLED};

/// The facade target that reaches the logger of the same name (sylar's framework logger).
pub const SYSTEM: &str = "system";

// ANCHOR: bridge
/// Implements `log::Log` by routing each record to a logger: target `"system"` goes to the
/// logger named `system`, every other target (by default the module path) to root.
struct Bridge {
    system: OnceLock<Arc<Logger>>,
}

impl Bridge {
    fn route(&self, target: &str) -> &Logger {
        if target == SYSTEM {
            self.system.get_or_init(|| manager::manager().get(SYSTEM))
        } else {
            ROOT.get_or_init(|| manager::manager().root())
        }
    }
}

/// Root, resolved once so routing to it is a load, not a map lookup.
static ROOT: OnceLock<Arc<Logger>> = OnceLock::new();

impl log::Log for Bridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.route(metadata.target())
            .enabled(Level::from(metadata.level()))
    }

    fn log(&self, record: &log::Record<'_>) {
        self.route(record.target()).emit(
            Level::from(record.level()),
            record.file().unwrap_or("?"),
            record.line().unwrap_or(0),
            *record.args(),
        );
    }

    fn flush(&self) {
        crate::flush();
    }
}
// ANCHOR_END: bridge

static BRIDGE: Bridge = Bridge {
    system: OnceLock::new(),
};

// ANCHOR: init
/// Installs the bridge as the `log` facade's logger and sets the facade's level filter
/// from our loggers' levels (kept in sync from then on). Idempotent and cheap to call
/// again. If another `log` implementation was installed first, says so once on stderr
/// and leaves it in place; our own macros keep working either way.
pub fn init() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| match log::set_logger(&BRIDGE) {
        Ok(()) => {
            BRIDGE_INSTALLED.store(true, Ordering::Release);
            manager::refresh_max_level();
        }
        Err(_) => {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "sylar-log: another logger is already installed for the `log` facade; \
                 log::info!() and friends will not reach sylar-log"
            );
        }
    });
}
// ANCHOR_END: init
