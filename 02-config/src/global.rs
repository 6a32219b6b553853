//! The process-wide registry.

use std::sync::{Arc, LazyLock};

use crate::error::ConfigError;
use crate::registry::Registry;
use crate::value::ConfigValue;
use crate::var::ConfigVar;

/// The registry behind [`global()`], created on first use.
static GLOBAL: LazyLock<Registry> = LazyLock::new(Registry::new);

/// The process-wide registry.
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
