//! A value a load has deserialized, on its way to being stored: checked by the
//! validators, then *prepared*, then stored.
//!
//! Storing a value runs code of its type: `PartialEq`, to see whether it
//! changes anything, and `Clone`, to queue a copy for the listeners. That code
//! belongs to the program, but it runs on what a file said, and it may panic.
//! If it ran while the load stored its values one by one, a panic on the third
//! would leave the first two stored: a load applied half-way. So a load runs
//! that code for every value first ([`Staged::prepare`], panics caught), and
//! only if all of it succeeded does it store anything; storing then moves
//! values, and does not even run a `Drop` (what it replaces is dropped once
//! the load is over). The one exception is a race: a listener added after a
//! value was compared and before it is stored needs a copy that the
//! comparison did not make, and that `Clone` runs at the store, contained
//! (see [`ConfigVar::store_planned`]).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::ConfigVar;
use crate::error::ProblemKind;
use crate::global::log_error;
use crate::listeners::panic_message;
use crate::value::{ConfigValue, Staged, Stored, same_value};

// ANCHOR: staged_value
/// A deserialized value and the variable it is for.
pub(super) struct StagedValue<T> {
    /// The variable the value is for.
    pub(super) var: Arc<ConfigVar<T>>,
    /// The value, until [`Staged::store`] moves it into the variable.
    pub(super) value: Option<T>,
    /// What [`Staged::prepare`] found: `None` before, or when the value
    /// changes nothing.
    pub(super) plan: Option<Plan<T>>,
    /// Values taken out of the variable (or not stored), dropped with this
    /// struct once the load is over, so no `Drop` of `T` runs while it stores.
    pub(super) spare: Vec<T>,
}

/// How to store a value that changes its variable, decided before any is stored.
pub(super) struct Plan<T> {
    /// The variable's store count when the value was compared with the one held.
    version: u64,
    /// The copy of the value for the listeners, if there were any.
    copy: Option<T>,
}

impl<T: ConfigValue> Staged for StagedValue<T> {
    fn check(&self) -> Result<(), String> {
        match &self.value {
            Some(value) => self.var.validate(value),
            None => Ok(()), // stored already: it was checked before
        }
    }

    fn prepare(&mut self) -> Result<(), ProblemKind> {
        self.plan = match &self.value {
            Some(value) => self.var.plan(value)?,
            None => None,
        };
        Ok(())
    }

    fn store(&mut self) -> Stored {
        match (self.value.take(), self.plan.take()) {
            (Some(value), Some(plan)) => self.var.store_planned(value, plan, &mut self.spare),
            (value, _) => {
                self.spare.extend(value); // no change: nothing to store
                Stored::Unchanged
            }
        }
    }

    fn deliver(&self) {
        self.var.listeners.deliver(&self.var.name);
    }

    fn name(&self) -> &str {
        &self.var.name
    }
}
// ANCHOR_END: staged_value

// ANCHOR: plan
impl<T: ConfigValue> ConfigVar<T> {
    /// Runs the code of `T` that storing `value` needs, against the value held
    /// now: `None` if it changes nothing, else how to store it. A panic in that
    /// code is caught and becomes [`ProblemKind::Panicked`].
    fn plan(&self, value: &T) -> Result<Option<Plan<T>>, ProblemKind> {
        let (version, same) = {
            let current = self.read();
            let same = catch_unwind(AssertUnwindSafe(|| same_value(&*current, value)));
            (self.version.load(Ordering::Relaxed), same)
        };
        if same.map_err(|payload| panicked("comparing it with the value held", &*payload))? {
            return Ok(None);
        }
        let copy = if self.listeners.any() {
            let copy = catch_unwind(AssertUnwindSafe(|| value.clone()));
            Some(copy.map_err(|payload| panicked("copying it for the listeners", &*payload))?)
        } else {
            None
        };
        Ok(Some(Plan { version, copy }))
    }

    /// Stores `value` as planned, by moves. Leaves in `spare` what is to be
    /// dropped later. If another store (a `set` on another thread) came in
    /// between the plan and now, the comparison is out of date and that store
    /// is the later word: `value` is not stored ([`Stored::Superseded`]).
    fn store_planned(&self, value: T, plan: Plan<T>, spare: &mut Vec<T>) -> Stored {
        let mut current = self.write();
        if self.version.load(Ordering::Relaxed) != plan.version {
            // The copy too: dropped here, under the write lock, its `Drop`
            // could unwind out of the load half-way through its stores.
            spare.extend([Some(value), plan.copy].into_iter().flatten());
            return Stored::Superseded;
        }
        let old = std::mem::replace(&mut *current, value);
        self.count_store();
        if !self.listeners.any() {
            spare.extend([Some(old), plan.copy].into_iter().flatten());
            return Stored::Changed;
        }
        // A listener added since the plan must hear of the change too: then,
        // and only then, the copy is made here. The value is stored already, so
        // a panic costs that listener this change (it is reported), never
        // half a load.
        let copy = plan.copy.or_else(|| {
            catch_unwind(AssertUnwindSafe(|| T::clone(&current)))
                .inspect_err(|payload| {
                    log_error(format_args!(
                        "config {}: copying the new value for a listener added \
                         during the load panicked: {}",
                        self.name,
                        panic_message(payload.as_ref())
                    ));
                })
                .ok()
        });
        match copy {
            // Still under the write lock: the queue order is the store order.
            Some(copy) => self.listeners.enqueue(old, copy),
            None => spare.push(old),
        }
        Stored::Changed
    }
}
// ANCHOR_END: plan

/// The problem for a panic of `T`'s own code while the load was `during` something.
fn panicked(during: &'static str, payload: &(dyn std::any::Any + Send)) -> ProblemKind {
    ProblemKind::Panicked {
        during,
        message: panic_message(payload).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value whose `Drop` panics for 99 (unless a panic is already unwinding).
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Fragile(i32);

    impl Drop for Fragile {
        fn drop(&mut self) {
            if self.0 == 99 && !std::thread::panicking() {
                panic!("dropping 99");
            }
        }
    }

    #[test]
    fn a_store_outdated_by_a_set_drops_no_value_while_storing() {
        let var = Arc::new(ConfigVar::new("v", Fragile(0), Fragile(0), ""));
        var.add_listener(|_, _| {});
        let mut staged = StagedValue {
            var: Arc::clone(&var),
            value: Some(Fragile(99)),
            plan: None,
            spare: Vec::new(),
        };
        staged.prepare().unwrap(); // compared, and copied for the listener
        var.set(Fragile(1)); // a store in between: the plan is out of date
        let stored = catch_unwind(AssertUnwindSafe(|| staged.store()));
        assert_eq!(stored.ok(), Some(Stored::Superseded), "the store unwound");
        assert_eq!(var.get(), Fragile(1));
        // The value and its copy wait in `spare`, for the load to drop them
        // contained; here they would panic.
        assert_eq!(staged.spare.len(), 2);
        std::mem::forget(staged);
    }
}
