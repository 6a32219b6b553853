//! Loggers described as data (`logs:` in sylar's YAML), and applying such descriptions.
//!
//! Chapter 2's configuration system deserialises a `Vec<LogDefine>` from YAML and calls
//! [`apply_config`] whenever it changes, after [`check_config`] has accepted it; this
//! module knows nothing about YAML itself.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::appender::{Appender, StdoutAppender};
use crate::async_appender::{AsyncAppender, AsyncOptions};
use crate::error::LogError;
use crate::file_appender::FileAppender;
use crate::file_sink::FileSink;
use crate::formatter::PatternFormatter;
use crate::level::Level;
use crate::logger::Logger;
use crate::manager::{ROOT, manager};

// ANCHOR: log_define
/// One logger as configured:
///
/// ```yaml
/// - name: system
///   level: info
///   formatter: "%d%T%m%n"          # optional
///   appenders:
///     - type: file                 # or stdout
///       file: /tmp/system.txt      # for type file
///       level: debug               # optional
///       formatter: "%m%n"          # optional
///       async: true                # optional, file only
/// ```
///
/// Unknown keys are refused (a misspelt `fromatter` is an error, not a silent default).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogDefine {
    /// The logger's name.
    pub name: String,
    /// Its level; `info` when omitted.
    #[serde(default)]
    pub level: Level,
    /// Its pattern; the default pattern when omitted. Parsed leniently: a bad item shows
    /// up in every line instead of failing the whole configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatter: Option<String>,
    /// Its appenders; none means it writes through root.
    #[serde(default)]
    pub appenders: Vec<AppenderDefine>,
}

/// One appender as configured (an item of `appenders:` in [`LogDefine`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppenderDefine {
    /// Where it writes: `stdout` or `file`.
    #[serde(rename = "type")]
    pub kind: AppenderKind,
    /// The file, required for `type: file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// Its own level; when omitted it writes whatever its logger lets through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// Its own pattern; when omitted it uses its logger's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatter: Option<String>,
    /// Write through a background thread (only for `type: file`).
    #[serde(default, rename = "async", skip_serializing_if = "std::ops::Not::not")]
    pub asynchronous: bool,
}

/// The kinds of appender a configuration can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppenderKind {
    /// [`StdoutAppender`].
    Stdout,
    /// [`FileAppender`], or [`AsyncAppender`] with `async: true`.
    File,
}
// ANCHOR_END: log_define

/// The names configured by the previous [`apply_config`], to reset those that disappear.
/// Also serialises concurrent applies.
static CONFIGURED: Mutex<Vec<String>> = Mutex::new(Vec::new());

// ANCHOR: apply_config
/// Applies logger definitions to the global manager.
///
/// Every appender is built first (files opened), so an error (a duplicate name, an
/// unopenable file, a `file` appender without `file`) changes nothing. Then each named
/// logger gets its level, formatter and appenders, replacing the old ones. A logger that
/// the previous call configured and this one does not gets its appenders removed and its
/// level and formatter reset, as sylar does; for `root` that means back to the single
/// stdout appender it starts with.
pub fn apply_config(defs: &[LogDefine]) -> Result<(), LogError> {
    let mut configured = CONFIGURED.lock().unwrap_or_else(PoisonError::into_inner);
    let seen = unique_names(defs)?;
    let mut built = Vec::with_capacity(defs.len());
    for def in defs {
        built.push((def, build_appenders(def)?));
    }

    for (def, appenders) in built {
        let logger = manager().get(&def.name);
        let pattern = def.formatter.as_deref();
        logger.set_formatter(
            pattern.map_or_else(PatternFormatter::default, PatternFormatter::lenient),
        );
        logger.set_appenders(appenders);
        logger.set_level(def.level);
    }
    for name in configured
        .iter()
        .filter(|name| !seen.contains(name.as_str()))
    {
        reset(&manager().get(name));
    }
    *configured = defs.iter().map(|def| def.name.clone()).collect();
    Ok(())
}
// ANCHOR_END: apply_config

/// Builds the appenders of one definition.
fn build_appenders(def: &LogDefine) -> Result<Vec<Arc<dyn Appender>>, LogError> {
    def.appenders
        .iter()
        .map(|a| build_appender(&def.name, a))
        .collect()
}

fn build_appender(logger: &str, def: &AppenderDefine) -> Result<Arc<dyn Appender>, LogError> {
    Ok(match target(logger, def)? {
        Target::Stdout => Arc::new(tuned(
            StdoutAppender::new(),
            def,
            StdoutAppender::with_level,
            StdoutAppender::with_formatter,
        )),
        Target::AsyncFile(path) => Arc::new(tuned(
            AsyncAppender::file(path, AsyncOptions::default())?,
            def,
            AsyncAppender::with_level,
            AsyncAppender::with_formatter,
        )),
        Target::File(path) => Arc::new(tuned(
            FileAppender::new(path)?,
            def,
            FileAppender::with_level,
            FileAppender::with_formatter,
        )),
    })
}

// ANCHOR: check_config
/// Checks logger definitions without applying them: what [`apply_config`] would
/// refuse, this refuses, with the same error. It creates nothing and changes
/// nothing: a file that exists is opened for appending without creating and
/// closed again; for a missing one, the directories the open would create are
/// checked, and the existing directory it would create the first entry in must
/// be writable and searchable. No logger changes and no writer thread starts.
/// Chapter 2 runs it as the validator of the `logs` variable, so a list the
/// loggers cannot take is never stored, and a load refused for another key
/// leaves no files behind.
///
/// Only trying can tell a full disk or quota, so such a list passes here and
/// fails in [`apply_config`] (as one does whose directory changes in between).
///
/// # Errors
/// As [`apply_config`].
pub fn check_config(defs: &[LogDefine]) -> Result<(), LogError> {
    unique_names(defs)?;
    for def in defs {
        for appender in &def.appenders {
            if let Target::File(path) | Target::AsyncFile(path) = target(&def.name, appender)? {
                FileSink::check(path)?;
            }
        }
    }
    Ok(())
}
// ANCHOR_END: check_config

/// The names of `defs`, refusing a name given twice.
fn unique_names(defs: &[LogDefine]) -> Result<HashSet<&str>, LogError> {
    let mut seen = HashSet::with_capacity(defs.len());
    for def in defs {
        if !seen.insert(def.name.as_str()) {
            return Err(LogError::Config(format!(
                "logger `{}` is defined twice",
                def.name
            )));
        }
    }
    Ok(seen)
}

/// Where an appender definition writes, once its fields agree with its kind.
enum Target<'a> {
    /// Standard output.
    Stdout,
    /// A file, written by the caller.
    File(&'a Path),
    /// A file, written by a background thread.
    AsyncFile(&'a Path),
}

/// Reads an appender definition's target, refusing fields its kind does not take.
fn target<'a>(logger: &str, def: &'a AppenderDefine) -> Result<Target<'a>, LogError> {
    match (def.kind, &def.file) {
        (AppenderKind::Stdout, None) if !def.asynchronous => Ok(Target::Stdout),
        (AppenderKind::Stdout, _) => Err(LogError::Config(format!(
            "logger `{logger}`: a stdout appender takes neither `file` nor `async`"
        ))),
        (AppenderKind::File, None) => Err(LogError::Config(format!(
            "logger `{logger}`: a file appender needs `file: <path>`"
        ))),
        (AppenderKind::File, Some(path)) if !names_a_file(path) => Err(LogError::Config(format!(
            "logger `{logger}`: `file: {}` names a directory, not a file",
            path.display()
        ))),
        (AppenderKind::File, Some(path)) if def.asynchronous => Ok(Target::AsyncFile(path)),
        (AppenderKind::File, Some(path)) => Ok(Target::File(path)),
    }
}

/// False for a path that can only name a directory: empty, or ending in `/`, `.` or
/// `..` as its last component. (`Path::file_name` cannot tell: it reads `logs/` and
/// `logs/.` as `logs`.)
fn names_a_file(path: &Path) -> bool {
    let bytes = path.as_os_str().as_encoded_bytes();
    let last = bytes.rsplit(|&b| b == b'/').next().unwrap_or_default();
    !matches!(last, b"" | b"." | b"..")
}

/// Applies an appender definition's optional level and pattern (parsed leniently)
/// through the appender's own builder methods.
fn tuned<A>(
    mut appender: A,
    def: &AppenderDefine,
    with_level: fn(A, Level) -> A,
    with_formatter: fn(A, PatternFormatter) -> A,
) -> A {
    if let Some(level) = def.level {
        appender = with_level(appender, level);
    }
    if let Some(pattern) = &def.formatter {
        appender = with_formatter(appender, PatternFormatter::lenient(pattern));
    }
    appender
}

/// Puts a logger back as it was created.
fn reset(logger: &Logger) {
    logger.set_formatter(PatternFormatter::default());
    if logger.name() == ROOT {
        logger.set_appenders(vec![Arc::new(StdoutAppender::new())]);
    } else {
        logger.clear_appenders();
    }
    logger.set_level(Level::default());
}
