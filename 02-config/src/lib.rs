//! # sylar-config: typed configuration variables, loaded from YAML
//!
//! Chapter 2 of sylar-rs. A program declares what it can be configured with, as
//! typed variables with a name, a description and a default; YAML files then change
//! those values without a rebuild, and listeners react to the changes.
//!
//! ```text
//! YAML tree           flattened names        registry           variables, listeners
//! space:              space      -> {..}     "space.num" ---->  ConfigVar<i32>  --> (old, new)
//!   vec: [1, 2]  -->  space.vec  -> [1, 2]   "space.vec" ---->  ConfigVar<Vec<i32>>
//!   num: 7            space.num  -> 7        (no "space": kept as an early value)
//! ```
//!
//! Any `T: Serialize + DeserializeOwned + Clone + PartialEq + Send + Sync + 'static`
//! can be a value ([`ConfigValue`]): serde replaces sylar's `LexicalCast` templates.
//!
//! ```
//! use sylar_config::Registry;
//!
//! let registry = Registry::new();
//! let vec = registry.lookup("space.vec", vec![1, 2], "a list of ints")?;
//! let num = registry.lookup("space.num", 0_i32, "a number")?;
//! num.add_listener(|old, new| println!("space.num: {old} -> {new}"));
//!
//! let report = registry.load_yaml_str("space:\n  vec: [10, 20]\n  num: 7\n")?;
//! assert_eq!(vec.get(), [10, 20]);
//! assert_eq!(num.get(), 7);
//! assert_eq!(report.changed, ["space.num", "space.vec"]);
//!
//! // A bad value is an error naming the key, and nothing is applied.
//! let err = registry.load_yaml_str("space:\n  vec: [1]\n  num: seven\n").unwrap_err();
//! assert!(err.to_string().contains("space.num"));
//! assert_eq!(vec.get(), [10, 20]);
//! # Ok::<(), sylar_config::ConfigError>(())
//! ```
//!
//! ## Rules, decided once
//! - **Names** are lowercase ASCII letters, the ten digits, `_` and `.`, in non-empty
//!   dot-separated parts. [`Registry::lookup`] rejects anything else.
//! - **Keys** in YAML are matched case-insensitively: `Port:` sets `port`. Two keys
//!   that fold onto the name of a variable (`Port` and `port`) reject the load.
//!   A null, float, sequence or mapping key names nothing and is listed as an
//!   invalid key; a tagged section (`server: !tls {port: 1}`) is walked through
//!   its tag. An integer beyond 64 bits fails only a variable that reads it.
//! - **Loads are all-or-nothing**: every value is deserialized, validated and
//!   compared with the value held first; if any fails (a panic in the value
//!   type's own code included), nothing is stored and the error lists every bad
//!   key.
//! - **Listeners** run after the value is stored, only when it changed, in store order,
//!   with no lock held.
//! - **Directories** are reloaded by content: only files whose text changed are
//!   applied again, unless `force`.
//! - **Unregistered keys** are listed in the [`LoadReport`] and kept, so a variable
//!   registered later (a lazy static in a later chapter) starts from its loaded value.
//!
//! ## Layout
//! - `value`: [`ConfigValue`], and the type-erased view the registry keeps.
//! - `var`: [`ConfigVar`], one typed variable (get, set, YAML text, listeners).
//! - `var::staged`: a loaded value on its way in: checked, prepared (the type's
//!   own code run, panics caught), then stored by moves alone.
//! - `listeners`: [`ListenerId`], and in-order delivery without locks held.
//! - `validators`: the checks a value must pass before a load may store it.
//! - `name`: the naming rules and how YAML keys fold onto names.
//! - `flatten`: YAML text to dotted names, each with its node.
//! - `tree`: the parsed tree, an integer beyond 64 bits kept as a marker.
//! - `nesting`: refusing absurdly deep `[`/`{` nesting before the parser sees it.
//! - `aliases`: refusing aliases that expand a document far beyond its text.
//! - `registry`: [`Registry`] and `lookup`, early values.
//! - `load`: loading text and files, and the all-or-nothing apply step.
//! - `dir`: loading a directory, and reloading only what changed.
//! - `dump`: [`Registry::dump_yaml`], every variable as one nested document.
//! - `report`, `error`: [`LoadReport`], [`ConfigError`].
//! - `global`: the process-wide registry, with the `logs` variable that configures
//!   chapter 1's loggers.

#![warn(missing_docs, missing_debug_implementations)]

mod aliases;
mod dir;
mod dump;
mod error;
mod flatten;
mod global;
mod listeners;
mod load;
mod name;
mod nesting;
mod registry;
mod report;
mod tree;
mod validators;
mod value;
mod var;

pub use error::{ConfigError, Problem, ProblemKind};
pub use global::{global, lookup};
pub use listeners::ListenerId;
pub use registry::Registry;
pub use report::LoadReport;
pub use value::ConfigValue;
pub use var::ConfigVar;
