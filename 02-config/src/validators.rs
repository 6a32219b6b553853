//! Validators: checks a value must pass before a load may store it.
//!
//! A type says what a value may look like; a validator says what it may *be*.
//! `fiber.stack_size: 0` deserializes into a `usize` and makes no sense; a `logs`
//! list naming a file in a directory that does not exist deserializes into
//! `Vec<LogDefine>` and cannot be applied. A load runs every validator of every
//! variable it would change while it stages the values, so a refusal rejects
//! the whole load exactly as a wrong type does: nothing is stored, and the
//! error names the key and says why. A refused value therefore never becomes
//! the current one, and loading the same text again once the cause is fixed
//! applies it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, RwLock};

use crate::listeners::panic_message;

/// A validator as stored: shared, so a check can run without holding the list.
type Check<T> = Arc<dyn Fn(&T) -> Result<(), String> + Send + Sync>;

// ANCHOR: validators
/// The validators of one variable, in the order they were added.
pub(crate) struct Validators<T> {
    list: RwLock<Vec<Check<T>>>,
}

impl<T> Validators<T> {
    /// No validators: every value of the type is accepted.
    pub(crate) fn new() -> Self {
        Validators {
            list: RwLock::new(Vec::new()),
        }
    }

    /// Adds a validator; it applies to every check from now on.
    pub(crate) fn add(&self, check: impl Fn(&T) -> Result<(), String> + Send + Sync + 'static) {
        self.list
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(Arc::new(check));
    }

    /// Runs the validators in order and returns the first refusal. A validator
    /// that panics refuses, with its panic message as the reason. None runs
    /// under the list's lock, so one may add validators.
    pub(crate) fn check(&self, value: &T) -> Result<(), String> {
        let list = self
            .list
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        for check in list {
            match catch_unwind(AssertUnwindSafe(|| check(value))) {
                Ok(verdict) => verdict?,
                Err(payload) => {
                    return Err(format!(
                        "its validator panicked: {}",
                        panic_message(payload.as_ref())
                    ));
                }
            }
        }
        Ok(())
    }
}
// ANCHOR_END: validators

impl<T> std::fmt::Debug for Validators<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self
            .list
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len();
        f.debug_struct("Validators").field("count", &count).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_refusal_wins_and_a_panic_refuses() {
        let validators = Validators::<i32>::new();
        assert_eq!(validators.check(&-1), Ok(()));
        validators.add(|v| {
            if *v < 0 {
                Err("negative".into())
            } else {
                Ok(())
            }
        });
        validators.add(|v| if *v == 13 { panic!("unlucky") } else { Ok(()) });
        assert_eq!(validators.check(&-1), Err("negative".to_owned()));
        assert_eq!(validators.check(&7), Ok(()));
        let refusal = validators.check(&13).unwrap_err();
        assert!(refusal.contains("unlucky"), "{refusal}");
    }
}
