//! `ConfigVar<T>`: one typed configuration variable.
//!
//! A variable has a name, a description, a default and a current value behind a
//! read-write lock. Readers take a clone under the read lock, so no reader ever sees
//! half of a value being replaced. Writers store under the write lock and queue the
//! change for the listeners, which run after the lock is released (see
//! [`listeners`](crate::listeners)).

mod staged;

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_yaml::Value;

use crate::error::{ConfigError, Problem, ProblemKind};
use crate::global::log_error;
use crate::listeners::{ListenerId, Listeners};
use crate::validators::Validators;
use crate::value::{AnyVar, ConfigValue, Staged, from_node, same_value, to_node, to_yaml_text};
use staged::StagedValue;

/// A typed configuration variable, shared as `Arc<ConfigVar<T>>` by the registry and
/// everyone who looked it up.
///
/// Get one from [`Registry::lookup`](crate::Registry::lookup) or the global
/// [`lookup`](crate::lookup); there is no public constructor, so every variable has a
/// checked name and a place in a registry.
// ANCHOR: config_var
pub struct ConfigVar<T> {
    /// The dotted, lowercase name it is registered under.
    name: String,
    /// What the value means, for people reading a dump.
    description: String,
    /// The value given at registration, kept for [`ConfigVar::reset`].
    default: T,
    /// The current value.
    value: RwLock<T>,
    /// How many times a value was stored, changed under the write lock: a load
    /// compares its value with the one held before it stores any, and stores
    /// it only if no other store came in between.
    version: AtomicU64,
    /// Who wants to hear about changes.
    listeners: Listeners<T>,
    /// What a loaded value must pass before it is stored.
    validators: Validators<T>,
}
// ANCHOR_END: config_var

impl<T: ConfigValue> ConfigVar<T> {
    /// A new variable whose current value is `value` (the default, or a value a
    /// load supplied before the variable was registered).
    pub(crate) fn new(name: &str, default: T, value: T, description: &str) -> Self {
        ConfigVar {
            name: name.to_owned(),
            description: description.to_owned(),
            default,
            value: RwLock::new(value),
            version: AtomicU64::new(0),
            listeners: Listeners::new(),
            validators: Validators::new(),
        }
    }

    /// The variable's name, e.g. `tcp.connect.timeout`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The description given at registration.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The default given at registration.
    pub fn default_value(&self) -> &T {
        &self.default
    }

    /// The Rust type of the value, e.g. `alloc::vec::Vec<i32>`.
    pub fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }

    // ANCHOR: get_set
    /// A clone of the current value.
    pub fn get(&self) -> T {
        self.read().clone()
    }

    /// Stores `value`; if it differs from the current value, calls every listener
    /// with `(old, new)` after the value is stored and with no lock held.
    ///
    /// When `set` returns, the listeners have seen this change, unless another
    /// thread (or a listener further up this thread's stack) was delivering changes
    /// of this variable at that moment: that delivery then includes this change, in
    /// order, right after the one it is on.
    pub fn set(&self, value: T) {
        if self.store(value) {
            self.listeners.deliver(&self.name);
        }
    }

    /// Stores `value` and queues `(old, new)` for the listeners, without calling
    /// them; returns whether the value changed.
    fn store(&self, value: T) -> bool {
        let mut current = self.write();
        if same_value(&*current, &value) {
            return false;
        }
        let copy = self.listeners.any().then(|| value.clone());
        let old = std::mem::replace(&mut *current, value);
        // Counted only once stored: a load that compared its value with the
        // old one will not store it over this one (see `var/staged.rs`).
        self.count_store();
        if let Some(copy) = copy {
            // Still under the write lock: the queue order is the store order.
            self.listeners.enqueue(old, copy);
        }
        true
    }
    // ANCHOR_END: get_set

    /// Counts a store in `version`. Only a holder of the write lock calls it,
    /// so there is one writer at a time: a plain load and store, no atomic
    /// read-modify-write on the path of every `set`.
    fn count_store(&self) {
        let next = self.version.load(Ordering::Relaxed) + 1;
        self.version.store(next, Ordering::Relaxed);
    }

    // ANCHOR: validate
    /// Adds a validator: a check every value a load (or [`ConfigVar::try_set`])
    /// would store must pass. A refusal rejects the whole load, as a wrong type
    /// does, with `Err(reason)` as the key's [`ProblemKind::Refused`]; a
    /// validator that panics refuses too. Validators run in the order they were
    /// added, during a load but with no registry lock held: one may read and
    /// look up variables, and must not load configuration (the load it is part
    /// of would wait for itself).
    ///
    /// The value held now is checked too: a value loaded before the variable
    /// was registered (an early value) has met no validator yet. If it is
    /// refused, the variable goes back to its default (its listeners hear of
    /// it), the refusal is reported on the `system` logger and returned. Add
    /// validators right after [`Registry::lookup`](crate::Registry::lookup),
    /// before loads run on other threads: a load that staged its values before
    /// the validator existed may still store one it would refuse.
    ///
    /// A value given to [`ConfigVar::set`] is not checked: validators guard
    /// what comes from outside the program.
    ///
    /// # Errors
    /// [`ConfigError::Rejected`] with one [`ProblemKind::Refused`] problem if
    /// the value held was refused (and replaced by the default).
    pub fn add_validator(
        &self,
        check: impl Fn(&T) -> Result<(), String> + Send + Sync + 'static,
    ) -> Result<(), ConfigError> {
        self.validators.add(check);
        let Err(reason) = self.validate(&self.get()) else {
            return Ok(());
        };
        log_error(format_args!(
            "config {}: the value held is refused by a new validator ({reason}); \
             back to the default",
            self.name
        ));
        self.reset();
        Err(self.refused(reason))
    }

    /// The error for a value of this variable that a validator refused.
    fn refused(&self, reason: String) -> ConfigError {
        ConfigError::Rejected {
            problems: vec![Problem {
                key: self.name.clone(),
                file: None,
                kind: ProblemKind::Refused { reason },
            }],
        }
    }

    /// Whether the validators would accept `value`: `Err` holds the first
    /// refusal's reason.
    pub fn validate(&self, value: &T) -> Result<(), String> {
        self.validators.check(value)
    }

    /// Stores `value` as [`ConfigVar::set`] does, if the validators accept it.
    ///
    /// # Errors
    /// [`ConfigError::Rejected`] with one [`ProblemKind::Refused`] problem for this
    /// variable; the value is then unchanged.
    pub fn try_set(&self, value: T) -> Result<(), ConfigError> {
        self.validate(&value)
            .map_err(|reason| self.refused(reason))?;
        self.set(value);
        Ok(())
    }
    // ANCHOR_END: validate

    /// Sets the value back to the default (listeners are called if it changes).
    pub fn reset(&self) {
        self.set(self.default.clone());
    }

    /// The current value as YAML text, e.g. `"7\n"` or `"- 1\n- 2\n"`. If the
    /// type's `Serialize` fails or panics, a YAML comment saying why.
    pub fn to_yaml(&self) -> String {
        to_yaml_text(&*self.read())
    }

    // ANCHOR: add_listener
    /// Adds a listener called with `(old, new)` after each change of the value.
    ///
    /// The listener runs on the thread that delivers the change, with no lock held:
    /// it may read this variable (it sees `new` or a later value), set this or any
    /// other variable, add or remove listeners, or load configuration. A panic in a
    /// listener is caught and logged on the `system` logger; the other listeners
    /// still run.
    pub fn add_listener(&self, listener: impl Fn(&T, &T) + Send + Sync + 'static) -> ListenerId {
        self.listeners.add(Arc::new(listener))
    }
    // ANCHOR_END: add_listener

    /// Removes a listener; returns `false` if it was not registered (or was
    /// removed already).
    pub fn remove_listener(&self, id: ListenerId) -> bool {
        self.listeners.remove(id)
    }

    /// The read lock, ignoring poisoning: the value is always whole (a store is a
    /// single assignment), so a panic elsewhere cannot leave it inconsistent.
    fn read(&self) -> RwLockReadGuard<'_, T> {
        self.value
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The write lock, ignoring poisoning (see [`ConfigVar::read`]).
    fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.value
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<T: ConfigValue> fmt::Debug for ConfigVar<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigVar")
            .field("name", &self.name)
            .field("type", &self.type_name())
            .field("value", &self.to_yaml().trim_end())
            .field("listeners", &self.listeners)
            .field("validators", &self.validators)
            .finish_non_exhaustive()
    }
}

// ANCHOR: any_var_impl
impl<T: ConfigValue> AnyVar for ConfigVar<T> {
    fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }

    // ANCHOR: yaml_value
    fn yaml_value(&self) -> Result<Value, serde_yaml::Error> {
        let node = to_node(&*self.read())?;
        // A form that does not load back (a field never serialized, a `u128`
        // beyond 64 bits) would make the whole dump fail to load.
        match from_node::<T>(&node) {
            Ok(_) => Ok(node),
            Err(err) => Err(serde::de::Error::custom(format_args!(
                "its YAML form does not load back: {err}"
            ))),
        }
    }
    // ANCHOR_END: yaml_value

    fn stage(self: Arc<Self>, node: &Value) -> Result<Box<dyn Staged>, serde_yaml::Error> {
        let value = from_node::<T>(node)?;
        Ok(Box::new(StagedValue {
            var: self,
            value: Some(value),
            plan: None,
            spare: Vec::new(),
        }))
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}
// ANCHOR_END: any_var_impl
