//! The logger manager: every logger by name, created on first use, `root` always there.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

use crate::appender::StdoutAppender;
use crate::level::Level;
use crate::logger::Logger;

/// The name of the logger that always exists.
pub const ROOT: &str = "root";

// ANCHOR: manager
/// Owns every logger. There is one per process, reached through [`manager()`]; loggers live
/// until the process exits (handles are `Arc`s, so a logger can be kept in a `static`
/// or a struct field and used without a lookup).
pub struct LoggerManager {
    root: Arc<Logger>,
    loggers: RwLock<HashMap<String, Arc<Logger>>>,
}
// ANCHOR_END: manager

impl LoggerManager {
    fn new() -> LoggerManager {
        let root = Arc::new(Logger::new(ROOT, None));
        root.add_appender(Arc::new(StdoutAppender::new()));
        let mut loggers = HashMap::new();
        loggers.insert(ROOT.to_owned(), Arc::clone(&root));
        LoggerManager {
            root,
            loggers: RwLock::new(loggers),
        }
    }

    // ANCHOR: get
    /// The logger called `name`, created with the default level and formatter and no
    /// appenders (so it writes through root) if it does not exist yet.
    pub fn get(&self, name: &str) -> Arc<Logger> {
        if let Some(logger) = self.read().get(name) {
            return Arc::clone(logger);
        }
        let logger = {
            let mut loggers = self.loggers.write().unwrap_or_else(PoisonError::into_inner);
            // Another thread may have created it between our two locks.
            let logger = loggers
                .entry(name.to_owned())
                .or_insert_with(|| Arc::new(Logger::new(name, Some(Arc::clone(&self.root)))));
            Arc::clone(logger)
        };
        refresh_max_level();
        logger
    }
    // ANCHOR_END: get

    /// The root logger.
    pub fn root(&self) -> Arc<Logger> {
        Arc::clone(&self.root)
    }

    /// The names of all loggers, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.read().keys().cloned().collect();
        names.sort();
        names
    }

    /// Every logger.
    pub fn loggers(&self) -> Vec<Arc<Logger>> {
        self.read().values().cloned().collect()
    }

    /// The most verbose level of any logger: what the `log` facade must let through.
    pub fn most_verbose_level(&self) -> Level {
        self.read()
            .values()
            .map(|logger| logger.level())
            .min()
            .unwrap_or_default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Logger>>> {
        self.loggers.read().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for LoggerManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoggerManager")
            .field("loggers", &self.names())
            .finish()
    }
}

/// The process's logger manager.
pub fn manager() -> &'static LoggerManager {
    static MANAGER: OnceLock<LoggerManager> = OnceLock::new();
    MANAGER.get_or_init(LoggerManager::new)
}

/// Set once our bridge is the `log` facade's logger; until then the facade's max level
/// belongs to whoever installed theirs, and we leave it alone.
pub(crate) static BRIDGE_INSTALLED: AtomicBool = AtomicBool::new(false);

// ANCHOR: refresh_max_level
/// Sets the `log` facade's global filter to the most verbose level any logger has, so
/// that `log::debug!` costs one comparison when no logger wants debug events.
/// Serialised, so that two concurrent level changes cannot leave a stale filter behind.
pub(crate) fn refresh_max_level() {
    static SERIAL: Mutex<()> = Mutex::new(());
    if !BRIDGE_INSTALLED.load(Ordering::Acquire) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    log::set_max_level(manager().most_verbose_level().to_level_filter());
}
// ANCHOR_END: refresh_max_level
