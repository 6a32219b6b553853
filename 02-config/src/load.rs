//! Loading: YAML text and single files, and the all-or-nothing apply step that
//! every load goes through.
//!
//! A load runs in two phases:
//!
//! 1. **stage**: every registered variable the load mentions deserializes its node
//!    into a value of its own type (under the registry's read lock), then each
//!    value meets its variable's validators and is compared with the value held
//!    (and copied for the listeners), with no registry lock held, and nothing is
//!    stored. Every failure is collected, a panic in the program's code too;
//! 2. **commit**: only if there was no failure, every staged value is stored,
//!    which only moves values and so cannot fail half-way, and then, once all
//!    are stored and no registry lock is held, the listeners run.
//!
//! So a file with one bad value changes nothing, and the error lists every bad key,
//! not just the first. A listener for `a` that reads `b` sees `b` from the same load.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{ConfigError, Problem, ProblemKind};
use crate::flatten::{Document, Entry, parse_document};
use crate::name::ancestors;
use crate::registry::{EarlyValue, Registry, lock};
use crate::report::LoadReport;
use crate::value::{AnyVar, Staged, Stored, drop_quietly};

/// A document taking part in a load.
pub(crate) struct Layer<'a> {
    /// The flattened document.
    pub(crate) doc: &'a Document,
    /// Whether its values are applied; an unchanged file of a directory only takes
    /// part so that its keys keep their precedence over earlier files.
    pub(crate) fresh: bool,
}

/// Values stored by a load, whose listeners still have to be called.
pub(crate) type Committed = Vec<Box<dyn Staged>>;

/// What the first step of a load found: values ready to check and store (with
/// the file each came from), problems, and values for names not registered.
#[derive(Default)]
struct Staging {
    staged: Vec<(String, Option<PathBuf>, Box<dyn Staged>)>,
    problems: Vec<Problem>,
    early: Vec<(String, EarlyValue)>,
}

impl Registry {
    /// Loads YAML text, as if it were a file with no name.
    ///
    /// Nested mappings flatten to dotted names (`space: {num: 7}` sets `space.num`;
    /// a dotted key `space.num: 7` does too). Keys are matched case-insensitively:
    /// they are folded to lowercase, so `Space: {NUM: 7}` also sets `space.num`.
    /// Folding stops at a variable: the keys inside its value (struct fields, map
    /// keys) are handed to serde as written. If two keys of one document fold onto
    /// the name of a registered variable, the load is rejected
    /// ([`ProblemKind::Ambiguous`]). Keys no variable has are listed in
    /// [`LoadReport::unregistered`] and kept for a variable registered later.
    ///
    /// The load is all-or-nothing: every value is deserialized before any is
    /// stored, and listeners run once all are stored.
    ///
    /// # Errors
    /// [`ConfigError::Yaml`] with line and column for malformed YAML,
    /// [`ConfigError::NotAMapping`] if the top level is not a mapping, and
    /// [`ConfigError::Rejected`] listing every key whose value does not fit its
    /// variable or is refused by its validators; in every error case no
    /// variable is changed.
    pub fn load_yaml_str(&self, yaml: &str) -> Result<LoadReport, ConfigError> {
        let doc = parse_document(yaml, None)?;
        self.load_documents(&[Layer {
            doc: &doc,
            fresh: true,
        }])
    }

    /// Loads one YAML file (always, whether or not it changed).
    ///
    /// # Errors
    /// As [`Registry::load_yaml_str`], with the file named in each error, plus
    /// [`ConfigError::Io`] if the file cannot be read.
    pub fn load_file(&self, path: impl AsRef<Path>) -> Result<LoadReport, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError::io(path, err))?;
        let doc = parse_document(&text, Some(path))?;
        self.load_documents(&[Layer {
            doc: &doc,
            fresh: true,
        }])
    }

    /// Applies documents under the load lock, then calls the listeners without it.
    fn load_documents(&self, layers: &[Layer<'_>]) -> Result<LoadReport, ConfigError> {
        let (report, committed) = {
            let _serialised = lock(&self.loads);
            self.apply(layers)?
        };
        deliver(committed);
        Ok(report)
    }

    // ANCHOR: apply
    /// Stages every value the fresh layers set, and stores them all only if every
    /// one of them deserialized and passed its validators (which run with no
    /// registry lock held). The caller holds the load lock and must call
    /// [`deliver`] on the result once it has released it.
    pub(crate) fn apply(
        &self,
        layers: &[Layer<'_>],
    ) -> Result<(LoadReport, Committed), ConfigError> {
        // Later layers win: the last document that sets a name decides its value.
        let mut winners: BTreeMap<&str, (&Entry, &Layer<'_>)> = BTreeMap::new();
        for layer in layers {
            for (name, entry) in &layer.doc.entries {
                winners.insert(name, (entry, layer));
            }
        }
        loop {
            // Deserialize, under the registry's read lock.
            let Staging {
                mut staged,
                mut problems,
                early,
            } = self.stage_values(&winners);
            // Validate, then run the values' own comparison and copy, with no
            // registry lock held: a validator may look variables up (it must
            // not load configuration: this is a load). All code of the
            // program's runs here, panics caught, so the stores below cannot
            // stop half-way.
            for (name, file, value) in &mut staged {
                let ready = value
                    .check()
                    .map_err(|reason| ProblemKind::Refused { reason })
                    .and_then(|()| value.prepare());
                if let Err(kind) = ready {
                    problems.push(Problem {
                        key: name.clone(),
                        file: file.clone(),
                        kind,
                    });
                }
            }
            if !problems.is_empty() {
                problems.sort_by(|a, b| a.key.cmp(&b.key));
                return Err(ConfigError::Rejected { problems });
            }
            // Under the read lock again, a variable registered from now on
            // finds the early values. One registered while the validators ran
            // missed this staging: stage again (rare, and it ends).
            let vars = self.read_vars();
            if early.iter().any(|(name, _)| vars.contains_key(name)) {
                continue;
            }
            lock(&self.early).extend(early);
            let mut report = report_keys(&vars, layers);
            drop(vars);

            // Moves only: no code of the values' types runs from here on.
            for (name, _, value) in &mut staged {
                let name = std::mem::take(name);
                match value.store() {
                    Stored::Changed => {
                        report.changed.push(name.clone());
                        report.applied.push(name);
                    }
                    Stored::Unchanged => report.applied.push(name),
                    Stored::Superseded => report.superseded.push(name),
                }
            }
            let committed = staged.into_iter().map(|(_, _, value)| value).collect();
            return Ok((report, committed));
        }
    }

    /// Deserializes every value the winning fresh entries set, under the
    /// registry's read lock; names no variable has become early values.
    fn stage_values(&self, winners: &BTreeMap<&str, (&Entry, &Layer<'_>)>) -> Staging {
        let vars = self.read_vars();
        let mut staging = Staging::default();
        for (&name, &(entry, layer)) in winners.iter().filter(|(_, (_, l))| l.fresh) {
            let file = layer.doc.file.clone();
            match (vars.get(name), entry) {
                (Some(var), Entry::Value { node, .. }) => match Arc::clone(var).stage(node.get()) {
                    Ok(value) => staging.staged.push((name.to_owned(), file, value)),
                    Err(err) => staging.problems.push(Problem {
                        key: name.to_owned(),
                        file,
                        kind: ProblemKind::WrongType {
                            expected: var.type_name(),
                            message: err.to_string(),
                        },
                    }),
                },
                (Some(_), Entry::Ambiguous { spellings }) => staging.problems.push(Problem {
                    key: name.to_owned(),
                    file,
                    kind: ProblemKind::Ambiguous {
                        spellings: spellings.clone(),
                    },
                }),
                (None, entry) => staging
                    .early
                    .push((name.to_owned(), early_value(entry, file))),
            }
        }
        staging
    }
    // ANCHOR_END: apply
}

/// Calls the listeners of every variable a load changed, then drops what the
/// load replaced. No lock is held.
pub(crate) fn deliver(committed: Committed) {
    for value in &committed {
        value.deliver();
    }
    for value in committed {
        let name = value.name().to_owned();
        drop_quietly(&name, value);
    }
}

/// Converts a document entry for an unregistered name into an early value.
fn early_value(entry: &Entry, file: Option<PathBuf>) -> EarlyValue {
    match entry {
        Entry::Value { node, .. } => EarlyValue::Value {
            node: node.clone(),
            file,
        },
        Entry::Ambiguous { spellings } => EarlyValue::Ambiguous {
            spellings: spellings.clone(),
            file,
        },
    }
}

/// How a flattened name relates to the registered variables.
#[derive(Debug, PartialEq, Eq)]
enum Use {
    /// A variable has this name, or an enclosing one: the key is part of a value.
    Value,
    /// No variable has this name, but some have names below it.
    Section,
    /// Nothing uses the key.
    Unused,
}

/// Classifies `name` against the registered variables.
fn use_of(vars: &BTreeMap<String, Arc<dyn AnyVar>>, name: &str) -> Use {
    if vars.contains_key(name) || ancestors(name).any(|a| vars.contains_key(a)) {
        return Use::Value;
    }
    let prefix = format!("{name}.");
    match vars.range(prefix.clone()..).next() {
        Some((below, _)) if below.starts_with(&prefix) => Use::Section,
        _ => Use::Unused,
    }
}

/// Fills in the report's files, unregistered keys and invalid keys.
fn report_keys(vars: &BTreeMap<String, Arc<dyn AnyVar>>, layers: &[Layer<'_>]) -> LoadReport {
    let fresh: Vec<&Document> = layers.iter().filter(|l| l.fresh).map(|l| l.doc).collect();
    let unused: BTreeSet<&str> = fresh
        .iter()
        .flat_map(|doc| doc.entries.keys())
        .map(String::as_str)
        .filter(|name| use_of(vars, name) == Use::Unused)
        .collect();
    let unregistered = unused
        .iter()
        .filter(|name| !ancestors(name).any(|a| unused.contains(a)))
        .map(|name| (*name).to_owned())
        .collect();
    let invalid_keys = fresh
        .iter()
        .flat_map(|doc| &doc.invalid_keys)
        .filter(|key| match &key.parent {
            None => true,
            Some(parent) => use_of(vars, parent) == Use::Section,
        })
        .map(|key| key.spelled.clone())
        .collect();
    LoadReport {
        files: fresh.iter().filter_map(|doc| doc.file.clone()).collect(),
        unchanged_files: layers
            .iter()
            .filter(|l| !l.fresh)
            .filter_map(|l| l.doc.file.clone())
            .collect(),
        unregistered,
        invalid_keys,
        ..LoadReport::default()
    }
}
