//! From YAML text to a flat list of dotted names, each with its YAML node.
//!
//! ```text
//! space:                 space      -> {vec: [10, 20], num: 7}
//!   vec: [10, 20]   ==>  space.vec  -> [10, 20]
//!   num: 7               space.num  -> 7
//! ```
//!
//! Like sylar's `ListAllMember`, every mapping is walked and *every* level gets a
//! name, not only the leaves: a variable may hold a whole section (`space`, as a
//! struct) as well as a single number. Sequences and scalars are not walked.
//!
//! Keys are folded to lowercase ([`fold_key`]). Two keys that land on the same name
//! (`Port` and `port`, or `a: {b: 1}` next to `a.b: 2`) make an ambiguous entry,
//! which the loader rejects if a variable has that name. A key that cannot be a name
//! at all (`max-conn`) is recorded with its parent and not walked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use crate::aliases::check_expansion;
use crate::error::ConfigError;
use crate::name::{fold_key, join};
use crate::nesting::{MAX_FLOW_DEPTH, too_deep_at};
use crate::value::kind_of;

/// One YAML document, flattened.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    /// The file it was read from, for error messages and the report.
    pub(crate) file: Option<PathBuf>,
    /// Every name the document sets, folded, with what it says.
    pub(crate) entries: BTreeMap<String, Entry>,
    /// Keys that cannot be names, in document order.
    pub(crate) invalid_keys: Vec<InvalidKey>,
}

/// What a document says about one name.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    /// One key sets the name.
    Value {
        /// The key path as spelled in the file (`Space.NUM`).
        spelled: String,
        /// The YAML node under the key.
        node: Value,
    },
    /// Several keys fold onto the name; the document does not say which it means.
    Ambiguous {
        /// The key paths as spelled, in document order.
        spellings: Vec<String>,
    },
}

/// A key that is not a valid name even after folding.
#[derive(Debug, Clone)]
pub(crate) struct InvalidKey {
    /// The (folded) name of the mapping that holds it; `None` at the top level.
    pub(crate) parent: Option<String>,
    /// The key path as spelled in the file.
    pub(crate) spelled: String,
}

// ANCHOR: parse_document
/// Parses YAML text and flattens it. Errors carry the file, line and column.
pub(crate) fn parse_document(text: &str, file: Option<&Path>) -> Result<Document, ConfigError> {
    // Before the parser, whose time grows with the square of the nesting depth.
    if let Some((line, column)) = too_deep_at(text) {
        return Err(ConfigError::Yaml {
            file: file.map(Path::to_path_buf),
            line: Some(line),
            column: Some(column),
            message: format!(
                "`[` or `{{` nested deeper than {MAX_FLOW_DEPTH} levels at line {line} column {column}"
            ),
        });
    }
    // Before the tree is built: aliases may not expand it beyond the text's size.
    check_expansion(text).map_err(|err| ConfigError::yaml(file, &err))?;
    let mut root: Value =
        serde_yaml::from_str(text).map_err(|err| ConfigError::yaml(file, &err))?;
    // Resolve `<<: *anchor` merge keys, so shared sections work as YAML users expect.
    root.apply_merge()
        .map_err(|err| ConfigError::yaml(file, &err))?;
    let mut document = Document {
        file: file.map(Path::to_path_buf),
        entries: BTreeMap::new(),
        invalid_keys: Vec::new(),
    };
    match &root {
        Value::Null => {} // an empty file, or only comments
        Value::Mapping(mapping) => walk(mapping, None, None, &mut document),
        other => {
            return Err(ConfigError::NotAMapping {
                file: document.file,
                found: kind_of(other),
            });
        }
    }
    Ok(document)
}
// ANCHOR_END: parse_document

/// The node that loading `value` as the value of `name` also gives the deeper
/// name `inner`, as the loader's walk finds it; `None` if it gives it none (or
/// gives it ambiguously).
pub(crate) fn nested_node(value: &Value, name: &str, inner: &str) -> Option<Value> {
    let Value::Mapping(mapping) = value else {
        return None;
    };
    let mut doc = Document {
        file: None,
        entries: BTreeMap::new(),
        invalid_keys: Vec::new(),
    };
    walk(mapping, Some(name), Some(name), &mut doc);
    match doc.entries.remove(inner) {
        Some(Entry::Value { node, .. }) => Some(node),
        _ => None,
    }
}

// ANCHOR: walk
/// Records every key of `mapping` under `parent`, then walks the nested mappings.
fn walk(mapping: &Mapping, parent: Option<&str>, spelled: Option<&str>, doc: &mut Document) {
    for (key, node) in mapping {
        let text = key_text(key);
        let key_spelled = join(spelled, &text);
        let Some(part) = fold_key(&text) else {
            doc.invalid_keys.push(InvalidKey {
                parent: parent.map(str::to_owned),
                spelled: key_spelled,
            });
            continue;
        };
        let name = join(parent, &part);
        match doc.entries.get_mut(&name) {
            None => {
                let entry = Entry::Value {
                    spelled: key_spelled.clone(),
                    node: node.clone(),
                };
                doc.entries.insert(name.clone(), entry);
            }
            Some(entry) => entry.add_spelling(key_spelled.clone()),
        }
        if let Value::Mapping(children) = node {
            walk(children, Some(&name), Some(&key_spelled), doc);
        }
    }
}
// ANCHOR_END: walk

impl Entry {
    /// Turns the entry into (or extends) an ambiguous one.
    fn add_spelling(&mut self, spelled: String) {
        match self {
            Entry::Value { spelled: first, .. } => {
                let first = std::mem::take(first);
                *self = Entry::Ambiguous {
                    spellings: vec![first, spelled],
                };
            }
            Entry::Ambiguous { spellings } => spellings.push(spelled),
        }
    }
}

/// The text of a mapping key. Numbers and booleans are keys too (`8080:`); anything
/// else (a sequence as a key, null) is shown as YAML and will not fold to a name.
fn key_text(key: &Value) -> String {
    match key {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        other => serde_yaml::to_string(other)
            .map(|text| text.trim_end().to_owned())
            .unwrap_or_else(|_| "?".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(doc: &Document) -> Vec<&str> {
        doc.entries.keys().map(String::as_str).collect()
    }

    #[test]
    fn every_level_of_a_nested_mapping_gets_a_name() {
        let doc = parse_document("space:\n  vec: [1, 2]\n  num: 7\n", None).unwrap();
        assert_eq!(names(&doc), ["space", "space.num", "space.vec"]);
    }

    #[test]
    fn keys_fold_and_collisions_become_ambiguous() {
        let doc = parse_document("Port: 1\nport: 2\na: {b: 1}\na.b: 2\n", None).unwrap();
        let Some(Entry::Ambiguous { spellings }) = doc.entries.get("port") else {
            panic!("port should be ambiguous");
        };
        assert_eq!(spellings, &["Port", "port"]);
        assert!(matches!(
            doc.entries.get("a.b"),
            Some(Entry::Ambiguous { .. })
        ));
    }

    #[test]
    fn invalid_keys_are_recorded_with_their_parent_and_not_walked() {
        let doc = parse_document("server:\n  max-conn: {x: 1}\n", None).unwrap();
        assert_eq!(names(&doc), ["server"]);
        assert_eq!(doc.invalid_keys.len(), 1);
        assert_eq!(doc.invalid_keys[0].parent.as_deref(), Some("server"));
        assert_eq!(doc.invalid_keys[0].spelled, "server.max-conn");
    }

    #[test]
    fn merge_keys_are_resolved() {
        let text = "base: &b {port: 1}\nhttp:\n  <<: *b\n  host: x\n";
        let doc = parse_document(text, None).unwrap();
        assert!(doc.entries.contains_key("http.port"));
    }
}
