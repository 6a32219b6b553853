//! What a successful load did, for logs and for tools that want to be strict.

use std::path::PathBuf;

/// The outcome of a load that succeeded.
///
/// Unregistered and invalid keys do not fail a load (a config file may carry
/// sections for variables that a later chapter registers, or for other programs),
/// but they are listed here so that a program can warn, or refuse to start.
// ANCHOR: load_report
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadReport {
    /// Files read and applied, in the order applied (empty for YAML text).
    pub files: Vec<PathBuf>,
    /// Files of a directory skipped because their content is the same as at the
    /// previous load of that directory.
    pub unchanged_files: Vec<PathBuf>,
    /// Registered variables that hold the value this load gave them, sorted:
    /// stored, or equal to the value they already held.
    pub applied: Vec<String>,
    /// The subset of `applied` whose value actually changed (their listeners ran).
    pub changed: Vec<String>,
    /// Registered variables whose loaded value was *not* stored, sorted: a
    /// `set` on another thread stored a value between the load's comparison and
    /// its store, and that `set`, the later word, stays. Not in `applied`: the
    /// variable does not hold what the file says. Empty unless a `set` raced
    /// the load.
    pub superseded: Vec<String>,
    /// Keys no variable uses, folded and dotted, sorted. Only the topmost key of an
    /// unused section is listed (`server`, not also `server.port`). Their values are
    /// kept, and a variable registered under such a name later starts from it.
    pub unregistered: Vec<String>,
    /// Keys that can never name a variable (say `max-conn`, a null key or a float
    /// key), in document order, as spelled in the file except where YAML reads a
    /// key as a value: a null key is shown as `~`, a float key as its number
    /// (`1.50:` as `1.5`). Keys inside a variable's value (a map's own keys) are
    /// data, not names, and are never listed.
    pub invalid_keys: Vec<String>,
}
// ANCHOR_END: load_report
