//! Loading a directory of `*.yml` / `*.yaml` files, and reloading only what changed.
//!
//! sylar's `LoadFromConfDir` remembers each file's modification time and skips the
//! files whose time did not move. Times are coarse on some file systems (one second,
//! or two on FAT) and an editor can save twice within one tick, so here a file counts
//! as changed when its *content* differs from what the last load of the directory
//! read. Config files are small; reading them all on each reload costs little and
//! cannot miss an edit, and touching a file without changing it applies nothing.
//!
//! Files are applied in path order, and when two files set the same name, the later
//! one wins. A reload keeps that rule: unchanged files are not applied again, but they
//! still take part, so a key set by an unchanged later file keeps its precedence over
//! a changed earlier file. A file that disappeared simply stops taking part; the
//! values it set stay as they are.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::ConfigError;
use crate::flatten::{Document, parse_document};
use crate::load::{Layer, deliver};
use crate::registry::{Registry, lock};
use crate::report::LoadReport;

/// What each loaded directory held at its last successful load.
#[derive(Debug, Default)]
pub(crate) struct DirMemory {
    /// By canonical directory path: each file's text and flattened document.
    dirs: HashMap<PathBuf, BTreeMap<PathBuf, Remembered>>,
}

/// One file as the last load read it.
#[derive(Debug)]
struct Remembered {
    /// The exact text, compared with the file's text at the next load.
    text: String,
    /// The text, parsed and flattened.
    doc: Document,
}

impl Registry {
    // ANCHOR: load_dir
    /// Loads every `*.yml` and `*.yaml` file under `dir` (subdirectories included,
    /// names starting with `.` skipped), in path order; a later file wins a name
    /// that an earlier one also sets.
    ///
    /// A second load of the same directory applies only the files whose content
    /// changed since the last successful load (see the module docs), unless `force`
    /// is true. The whole load is one all-or-nothing step: if any file is malformed
    /// or holds a bad value, no file is applied, and the next load tries them again.
    ///
    /// # Errors
    /// [`ConfigError::Io`] if the directory or a file cannot be read (a
    /// `*.yml` link to nothing included); otherwise as
    /// [`Registry::load_file`].
    pub fn load_dir(&self, dir: impl AsRef<Path>, force: bool) -> Result<LoadReport, ConfigError> {
        let dir = dir.as_ref();
        let key = fs::canonicalize(dir).map_err(|err| ConfigError::io(dir, err))?;
        let mut paths = Vec::new();
        find_config_files(dir, &mut paths)?;
        paths.sort();

        let (report, committed) = {
            let mut memory = lock(&self.loads);
            let before = memory.dirs.get(&key);
            let mut now = BTreeMap::new();
            let mut fresh = Vec::new();
            for path in paths {
                let text = fs::read_to_string(&path).map_err(|err| ConfigError::io(&path, err))?;
                let unchanged = before
                    .and_then(|files| files.get(&path))
                    .filter(|old| !force && old.text == text);
                let doc = match unchanged {
                    Some(old) => old.doc.clone(),
                    None => parse_document(&text, Some(&path))?,
                };
                fresh.push(unchanged.is_none());
                now.insert(path, Remembered { text, doc });
            }
            let layers: Vec<Layer<'_>> = now
                .values()
                .zip(fresh)
                .map(|(file, fresh)| Layer {
                    doc: &file.doc,
                    fresh,
                })
                .collect();
            let applied = self.apply(&layers)?;
            drop(layers);
            memory.dirs.insert(key, now);
            applied
        };
        deliver(committed);
        Ok(report)
    }
    // ANCHOR_END: load_dir
}

/// Appends the config files under `dir` to `out`. Symbolic links to files are
/// followed; links to directories are not (they could form a cycle). A `*.yml`
/// or `*.yaml` link to nothing is an error naming it.
fn find_config_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ConfigError> {
    let entries = fs::read_dir(dir).map_err(|err| ConfigError::io(dir, err))?;
    for entry in entries {
        let entry = entry.map_err(|err| ConfigError::io(dir, err))?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue; // hidden files, editor swap and lock files
        }
        let file_type = entry
            .file_type()
            .map_err(|err| ConfigError::io(&path, err))?;
        if file_type.is_dir() {
            find_config_files(&path, out)?;
        } else if is_config_file(&path) {
            // Follows a link: one to nothing (or a loop) is a config file that
            // cannot be read, an error like any unreadable file, not a file
            // quietly left out. A FIFO or a device is not a config file.
            let target = fs::metadata(&path).map_err(|err| ConfigError::io(&path, err))?;
            if target.is_file() {
                out.push(path);
            }
        }
    }
    Ok(())
}

/// Whether the file name ends in `.yml` or `.yaml` (any case).
fn is_config_file(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| ext.eq_ignore_ascii_case("yml") || ext.eq_ignore_ascii_case("yaml"))
}
