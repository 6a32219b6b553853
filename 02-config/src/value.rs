//! What a config value is, and how the registry handles values whose type it
//! cannot name.
//!
//! sylar converts between text and values with `LexicalCast<From, To>`, a template
//! specialised by hand for every container. serde does that job for every type that
//! derives or implements `Serialize` and `Deserialize`, so [`ConfigValue`] is just a
//! name for the bounds a variable needs.
//!
//! The registry stores variables of many types in one map, so it sees them through
//! the object-safe trait [`AnyVar`]: parse a YAML node into the variable's type
//! *without storing it* ([`AnyVar::stage`]), then store what was staged
//! ([`Staged::store`]). That split is what makes a load all-or-nothing.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_yaml::Value;

use crate::error::ProblemKind;
use crate::global::log_error;
use crate::listeners::panic_message;
use crate::tree::beyond_64_bits;

/// Any type usable as a config value: serde for the YAML round trip, `Clone` to hand
/// out copies, `PartialEq` to notice real changes, `Send + Sync + 'static` to live in
/// the process-wide registry.
///
/// It is implemented for every type with these bounds: integers, strings, `Vec`,
/// `VecDeque`, `LinkedList`, `BTreeSet`, `HashSet`, maps with string keys, tuples,
/// `Option`, and your own `#[derive(Serialize, Deserialize, Clone, PartialEq)]` types.
// ANCHOR: config_value
pub trait ConfigValue:
    Serialize + DeserializeOwned + Clone + PartialEq + Send + Sync + 'static
{
}

impl<T> ConfigValue for T where
    T: Serialize + DeserializeOwned + Clone + PartialEq + Send + Sync + 'static
{
}
// ANCHOR_END: config_value

/// A variable seen without its type: what the registry, the loader and the dump need.
// ANCHOR: any_var
pub(crate) trait AnyVar: Send + Sync {
    /// The variable's Rust type, for error messages.
    fn type_name(&self) -> &'static str;
    /// The current value as a YAML tree (for `dump_yaml`), if it loads back
    /// into the variable's type.
    fn yaml_value(&self) -> Result<Value, serde_yaml::Error>;
    /// Deserializes `node` into the variable's type without storing it.
    fn stage(self: Arc<Self>, node: &Value) -> Result<Box<dyn Staged>, serde_yaml::Error>;
    /// The variable as `Any`, so that `lookup::<T>` can downcast it back.
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

/// What [`Staged::store`] did with a loaded value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stored {
    /// Stored, and it changed the value held.
    Changed,
    /// Equal to the value held: nothing to store, the variable already says it.
    Unchanged,
    /// Not stored: a `set` on another thread stored a value after the load
    /// compared this one, and that `set` is the later word.
    Superseded,
}

/// A value that deserialized successfully and waits to be stored.
pub(crate) trait Staged: Send {
    /// Runs the variable's validators on the value: `Err` is the first
    /// refusal's reason.
    fn check(&self) -> Result<(), String>;
    /// Runs the code of the value's type that storing it needs (`PartialEq`
    /// against the value held, `Clone` for the listeners), catching a panic:
    /// `Err` is [`ProblemKind::Panicked`], and nothing is stored.
    fn prepare(&mut self) -> Result<(), ProblemKind>;
    /// Stores the prepared value, running no code of its type, and says what
    /// became of it. Listeners are not called yet: the change is queued for
    /// [`Staged::deliver`].
    fn store(&mut self) -> Stored;
    /// Calls the variable's listeners for the queued changes.
    fn deliver(&self);
    /// The variable's name, for reports.
    fn name(&self) -> &str;
}
// ANCHOR_END: any_var

// ANCHOR: same_value
/// Whether storing `new` over `old` changes nothing, so that no listener runs.
///
/// The type's own `PartialEq` decides, except for a value that is not equal to
/// itself. `f64::NAN != f64::NAN`, so with `==` alone a variable holding a NaN
/// (or a list or a struct with one inside) would change on every load of the
/// same file, and its listeners would run each time for nothing. So when
/// `new != new`, the two values are compared as YAML trees instead, where there
/// is one NaN (YAML has a single `.nan`, and a file cannot say more): what a
/// file can tell apart is what counts as a change. A `Serialize` that fails
/// (or panics) counts as a change, as before.
///
/// Wherever `==` is reflexive it is the only judge, so the rule needs no new
/// bound on value types and changes nothing for them: `-0.0 == 0.0`, so loading
/// `-0.0` over `0.0` is no change and the value held keeps its sign, as
/// [`ConfigVar::set`](crate::ConfigVar::set) always did; a type whose
/// `PartialEq` ignores a field (a cache) is taken at its word. The extra
/// `new == new` runs only on a change.
pub(crate) fn same_value<T: ConfigValue>(old: &T, new: &T) -> bool {
    if old == new {
        return true;
    }
    #[expect(clippy::eq_op, reason = "a NaN inside is what this detects")]
    let reflexive = new == new;
    if reflexive {
        return false;
    }
    match (to_node(old), to_node(new)) {
        (Ok(old), Ok(new)) => old == new,
        _ => false,
    }
}
// ANCHOR_END: same_value

// ANCHOR: from_node
/// Deserializes `node` into a `T`. `T`'s `Deserialize` is program code that runs on
/// what a file says, and a hand-written one may panic on input it did not expect
/// (an `unwrap` on a parse): the panic is contained here and becomes an error, so
/// the value is refused as one of the wrong type would be, instead of unwinding
/// out of the load.
pub(crate) fn from_node<T: ConfigValue>(node: &Value) -> Result<T, serde_yaml::Error> {
    // No type reads it: serde_yaml cannot hand a number that wide to serde.
    if let Some(digits) = beyond_64_bits(node) {
        return Err(serde::de::Error::custom(format_args!(
            "integer {digits} is out of range: a config number must fit in 64 bits \
             (i64 or u64)"
        )));
    }
    // From a reference to the tree: no copy of the node first.
    contained("Deserialize", || T::deserialize(node))
}

/// Runs serde code of a value type (its `what`: `Deserialize`, `Serialize`),
/// turning a panic into an error that says so, with the panic's message.
fn contained<R>(
    what: &str,
    run: impl FnOnce() -> Result<R, serde_yaml::Error>,
) -> Result<R, serde_yaml::Error> {
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|payload| {
        Err(serde::de::Error::custom(format_args!(
            "its {what} panicked: {}",
            panic_message(payload.as_ref())
        )))
    })
}
// ANCHOR_END: from_node

// ANCHOR: to_node
/// Serializes `value` into a YAML tree. A hand-written `Serialize` may return an
/// error, or panic on a value it did not expect (one a file brought): the panic
/// is contained here and becomes an error, as in [`from_node`], so that showing
/// the configuration (a dump, a `Debug`) never unwinds into its caller.
pub(crate) fn to_node<T: Serialize>(value: &T) -> Result<Value, serde_yaml::Error> {
    contained("Serialize", || serde_yaml::to_value(value))
}
// ANCHOR_END: to_node

/// Drops `value`, containing a panic of its `Drop` (program code, like a
/// listener): it is reported on the `system` logger as about the variable
/// `name`, instead of unwinding out of a load that has finished its work, or
/// out of a delivery of changes, which would leave the variable's listeners
/// marked as busy and never called again.
pub(crate) fn drop_quietly<V>(name: &str, value: V) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        log_error(format_args!(
            "config {name}: dropping an old value panicked: {}",
            panic_message(payload.as_ref())
        ));
    }
}

/// The YAML text of a value, as `ConfigVar::to_yaml` shows it.
///
/// Serializing a config value fails only for a hand-written `Serialize` that
/// returns an error or panics; the text then is a YAML comment saying so (it
/// still parses, as null).
pub(crate) fn to_yaml_text<T: Serialize>(value: &T) -> String {
    let text = to_node(value).and_then(|node| serde_yaml::to_string(&node));
    text.unwrap_or_else(|err| format!("# {}\n", cannot_show(&err)))
}

/// One line saying why a value cannot be shown as YAML, for a YAML comment.
pub(crate) fn cannot_show(err: &serde_yaml::Error) -> String {
    format!("this value cannot be shown as YAML: {err}").replace(['\n', '\r'], " ")
}

/// A word for the kind of YAML node, for error messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a sequence",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}
