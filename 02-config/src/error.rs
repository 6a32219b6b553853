//! Everything that can go wrong, with enough context to fix it.
//!
//! Every error names what it is about: the variable name, the YAML key, the file and,
//! for malformed YAML, the line and column. A failed load changes nothing, so the
//! error is the whole story: no value was half-applied.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// An error from the registry or a load.
// ANCHOR: config_error
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// A name given to [`Registry::lookup`](crate::Registry::lookup) breaks the naming
    /// rules (lowercase letters, digits, `.` and `_`; no empty part).
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it, e.g. "is empty".
        reason: &'static str,
    },
    /// The name is already registered with another Rust type. The registry keeps
    /// the first variable and does not create a second one.
    TypeMismatch {
        /// The variable's name.
        name: String,
        /// The type it was registered with.
        registered: &'static str,
        /// The type this lookup asked for.
        requested: &'static str,
    },
    /// The text is not valid YAML.
    Yaml {
        /// The file it came from (`None` for [`Registry::load_yaml_str`](crate::Registry::load_yaml_str)).
        file: Option<PathBuf>,
        /// 1-based line of the mistake, when the parser knows it.
        line: Option<usize>,
        /// 1-based column of the mistake, when the parser knows it.
        column: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// The document is valid YAML but its top level is not a mapping of names.
    NotAMapping {
        /// The file it came from, if any.
        file: Option<PathBuf>,
        /// What was found instead ("a sequence", "a string", ...).
        found: &'static str,
    },
    /// One or more values could not be applied; the load changed nothing.
    Rejected {
        /// Every bad key of the load, in name order.
        problems: Vec<Problem>,
    },
    /// A file or directory could not be read.
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
}
// ANCHOR_END: config_error

/// One bad key in a rejected load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The variable name the key maps to (lowercase, dotted).
    pub key: String,
    /// The file that holds the key (`None` for YAML text).
    pub file: Option<PathBuf>,
    /// What is wrong.
    pub kind: ProblemKind,
}

/// What is wrong with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The YAML value does not deserialize into the variable's type.
    WrongType {
        /// The variable's Rust type.
        expected: &'static str,
        /// serde's explanation, e.g. "invalid type: string \"abc\", expected i32".
        message: String,
    },
    /// The value has the right type, but one of the variable's validators
    /// (see [`ConfigVar::add_validator`](crate::ConfigVar::add_validator))
    /// refused it.
    Refused {
        /// The validator's reason, e.g. "cannot open log file /nope/a.txt".
        reason: String,
    },
    /// The value deserialized and passed its validators, but the type's own
    /// code panicked on it while the load prepared to store it: its `PartialEq`
    /// comparing it with the value held, or its `Clone` copying it for the
    /// listeners. The load stores nothing, as for any other bad value.
    Panicked {
        /// What the load was doing, e.g. "comparing it with the value held".
        during: &'static str,
        /// The panic's message.
        message: String,
    },
    /// Several keys in one document fold to this name (`Port` and `port`, or
    /// `a: {b: 1}` and `a.b: 2`), so the file does not say which one it means.
    Ambiguous {
        /// The keys as spelled in the file, in document order.
        spellings: Vec<String>,
    },
}

impl ConfigError {
    /// Builds a [`ConfigError::Yaml`] from serde_yaml's error, keeping its location.
    pub(crate) fn yaml(file: Option<&Path>, err: &serde_yaml::Error) -> Self {
        let location = err.location();
        ConfigError::Yaml {
            file: file.map(Path::to_path_buf),
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
            message: err.to_string(),
        }
    }

    /// Builds a [`ConfigError::Io`] for `path`.
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        ConfigError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Shows a file name, or `<string>` for YAML given as text.
pub(crate) struct Origin<'a>(pub(crate) Option<&'a Path>);

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, "{}", path.display()),
            None => f.write_str("<string>"),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::InvalidName { name, reason } => {
                write!(f, "invalid config name {name:?}: the name {reason}")
            }
            ConfigError::TypeMismatch {
                name,
                registered,
                requested,
            } => write!(
                f,
                "config variable {name:?} is registered as {registered}, \
                 not {requested}"
            ),
            ConfigError::Yaml {
                file,
                line,
                column,
                message,
            } => {
                write!(f, "{}", Origin(file.as_deref()))?;
                if let (Some(line), Some(column)) = (line, column) {
                    write!(f, ":{line}:{column}")?;
                }
                write!(f, ": invalid YAML: {message}")
            }
            ConfigError::NotAMapping { file, found } => write!(
                f,
                "{}: the top level of a config document must be a mapping, found {found}",
                Origin(file.as_deref())
            ),
            ConfigError::Rejected { problems } => {
                write!(f, "config not applied, {} bad key(s)", problems.len())?;
                for problem in problems {
                    write!(f, "; {problem}")?;
                }
                Ok(())
            }
            ConfigError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (in {}): ", self.key, Origin(self.file.as_deref()))?;
        match &self.kind {
            ProblemKind::WrongType { expected, message } => {
                write!(f, "not a valid {expected}: {message}")
            }
            ProblemKind::Refused { reason } => write!(f, "refused: {reason}"),
            ProblemKind::Panicked { during, message } => {
                write!(f, "its own code panicked while {during}: {message}")
            }
            ProblemKind::Ambiguous { spellings } => {
                write!(f, "set by several keys: {}", spellings.join(", "))
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
