//! The registry: variables by name, and values that arrived before their variable.
//!
//! sylar keeps one static map from name to `ConfigVarBase::ptr` and registers its
//! variables in static initialisers, which run before `main` loads any file. Rust has
//! no life before `main`: a later chapter registers `fiber.stack_size` in a lazy
//! static the first time a fiber is made, which is usually *after* the config was
//! loaded. So a loaded key that no variable has yet is not thrown away: the registry
//! keeps it as an *early value*, and the variable registered under that name later
//! starts from it instead of from its default.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::dir::DirMemory;
use crate::error::{ConfigError, Origin};
use crate::flatten::NodeRef;
use crate::global::log_error;
use crate::name::check_name;
use crate::value::{AnyVar, ConfigValue, from_node};
use crate::var::ConfigVar;

/// A set of configuration variables, and the loader that fills them from YAML.
///
/// [`Registry::new`] makes an isolated registry (tests, tools, a second
/// configuration); [`global()`](crate::global) is the process-wide one the framework
/// uses. All methods take `&self` and are safe to call from any thread.
// ANCHOR: registry
pub struct Registry {
    /// Every variable by name. Read-locked by lookups and loads, write-locked only to
    /// register a new variable.
    pub(crate) vars: RwLock<BTreeMap<String, Arc<dyn AnyVar>>>,
    /// Loaded values whose variable is not registered yet, by name.
    pub(crate) early: Mutex<BTreeMap<String, EarlyValue>>,
    /// Serialises loads, and remembers what each loaded directory held.
    pub(crate) loads: Mutex<DirMemory>,
}

/// A value loaded for a name before any variable had it.
#[derive(Debug, Clone)]
pub(crate) enum EarlyValue {
    /// The YAML node and the file it came from.
    Value {
        /// The node, deserialized when the variable is registered. A reference
        /// into the document's tree, shared with the document's other names.
        node: NodeRef,
        /// Its file, for the error message if it does not fit the variable's type.
        file: Option<PathBuf>,
    },
    /// The document set the name with several keys (`Port` and `port`).
    Ambiguous {
        /// The keys as spelled.
        spellings: Vec<String>,
        /// Their file.
        file: Option<PathBuf>,
    },
}
// ANCHOR_END: registry

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry {
            vars: RwLock::new(BTreeMap::new()),
            early: Mutex::new(BTreeMap::new()),
            loads: Mutex::new(DirMemory::default()),
        }
    }

    // ANCHOR: lookup
    /// Returns the variable called `name`, registering it with `default` and
    /// `description` if it does not exist yet.
    ///
    /// A new variable starts from the value an earlier load gave `name`, if any
    /// (see the module docs); otherwise from `default`. If that early value does not
    /// fit `T`, the variable starts from `default` and the problem is logged on the
    /// `system` logger.
    ///
    /// # Errors
    /// [`ConfigError::InvalidName`] if `name` is not lowercase letters, digits, `.`
    /// and `_` in non-empty dot-separated parts; [`ConfigError::TypeMismatch`] if
    /// `name` is registered with a type other than `T` (the existing variable is kept).
    pub fn lookup<T: ConfigValue>(
        &self,
        name: &str,
        default: T,
        description: &str,
    ) -> Result<Arc<ConfigVar<T>>, ConfigError> {
        check_name(name).map_err(|reason| ConfigError::InvalidName {
            name: name.to_owned(),
            reason,
        })?;
        if let Some(var) = self.read_vars().get(name) {
            return downcast(name, var);
        }
        let mut vars = self.write_vars();
        if let Some(var) = vars.get(name) {
            return downcast(name, var); // registered by another thread meanwhile
        }
        // Still under the write lock, so a concurrent load either sees this
        // variable or has already left its value in `early`.
        let value = self.take_early_value(name, &default);
        let var = Arc::new(ConfigVar::new(name, default, value, description));
        vars.insert(name.to_owned(), Arc::clone(&var) as Arc<dyn AnyVar>);
        Ok(var)
    }
    // ANCHOR_END: lookup

    /// The names of all registered variables, sorted.
    pub fn names(&self) -> Vec<String> {
        self.read_vars().keys().cloned().collect()
    }

    /// Removes and converts the early value of `name`, falling back to `default`.
    fn take_early_value<T: ConfigValue>(&self, name: &str, default: &T) -> T {
        let Some(early) = lock(&self.early).remove(name) else {
            return default.clone();
        };
        match early {
            EarlyValue::Value { node, file } => from_node(node.get()).unwrap_or_else(|err| {
                log_error(format_args!(
                    "config {name} (in {}): loaded value is not a valid {}: {err}; \
                         using the default",
                    Origin(file.as_deref()),
                    std::any::type_name::<T>()
                ));
                default.clone()
            }),
            EarlyValue::Ambiguous { spellings, file } => {
                log_error(format_args!(
                    "config {name} (in {}): set by several keys ({}); using the default",
                    Origin(file.as_deref()),
                    spellings.join(", ")
                ));
                default.clone()
            }
        }
    }

    /// The variables map, read-locked (poisoning ignored: no user code runs under it
    /// except serde's, and the map is valid after any panic).
    pub(crate) fn read_vars(&self) -> RwLockReadGuard<'_, BTreeMap<String, Arc<dyn AnyVar>>> {
        self.vars.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The variables map, write-locked.
    fn write_vars(&self) -> RwLockWriteGuard<'_, BTreeMap<String, Arc<dyn AnyVar>>> {
        self.vars.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// Gives back the typed variable, or says which type it really has.
fn downcast<T: ConfigValue>(
    name: &str,
    var: &Arc<dyn AnyVar>,
) -> Result<Arc<ConfigVar<T>>, ConfigError> {
    Arc::clone(var)
        .into_any()
        .downcast::<ConfigVar<T>>()
        .map_err(|_| ConfigError::TypeMismatch {
            name: name.to_owned(),
            registered: var.type_name(),
            requested: std::any::type_name::<T>(),
        })
}

/// Locks a mutex, ignoring poisoning (the registry's data stays valid).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("names", &self.names())
            .field("early_values", &lock(&self.early).len())
            .finish_non_exhaustive()
    }
}
