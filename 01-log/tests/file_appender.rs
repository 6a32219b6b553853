//! The file appender: appends, whole lines from many threads, reopens after rotation or
//! deletion, flushes on drop / periodically / at exit, and survives write errors.

mod common;

use std::fs;
use std::os::unix::fs::OpenOptionsExt as _;
use std::sync::Arc;

use common::{eventually, temp_path};
use sylar_log::{FileAppender, LogError, PatternFormatter, sylar_info};

/// A logger named `name` writing `%m%n` lines to a new file appender on `path`.
fn file_logger(name: &str, path: &std::path::Path) -> (Arc<sylar_log::Logger>, Arc<FileAppender>) {
    let appender = Arc::new(
        FileAppender::new(path)
            .unwrap()
            .with_formatter(PatternFormatter::new("%m%n").unwrap()),
    );
    let logger = sylar_log::logger(name);
    logger.set_appenders(vec![appender.clone()]);
    (logger, appender)
}

#[test]
fn lines_are_appended_to_an_existing_file() {
    let path = temp_path("append.log");
    fs::write(&path, "already here\n").unwrap();
    let (logger, appender) = file_logger("file-append", &path);
    sylar_info!(logger, "one");
    sylar_info!(logger, "two");
    sylar_log::Appender::flush(&*appender);
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "already here\none\ntwo\n"
    );
    assert_eq!(appender.path(), path);
    fs::remove_file(&path).unwrap();
}

#[test]
fn missing_parent_directories_are_created() {
    let dir = temp_path("nested-dir");
    let path = dir.join("a/b/c.log");
    let (logger, appender) = file_logger("file-nested", &path);
    sylar_info!(logger, "deep");
    sylar_log::Appender::flush(&*appender);
    assert_eq!(fs::read_to_string(&path).unwrap(), "deep\n");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unopenable_path_is_an_error_naming_it() {
    let dir = temp_path("a-directory");
    fs::create_dir(&dir).unwrap();
    let Err(LogError::Open { path, .. }) = FileAppender::new(&dir) else {
        panic!("a directory cannot be a log file");
    };
    assert_eq!(path, dir);

    let file = temp_path("a-file");
    fs::write(&file, "").unwrap();
    let error = FileAppender::new(file.join("under-a-file.log")).unwrap_err();
    assert!(
        error.to_string().starts_with("cannot open log file"),
        "{error}"
    );
    assert!(std::error::Error::source(&error).is_some());
    fs::remove_dir(&dir).unwrap();
    fs::remove_file(&file).unwrap();
}

#[test]
fn lines_from_many_threads_never_interleave() {
    const THREADS: usize = 4;
    const LINES: usize = 3000;
    let path = temp_path("threads.log");
    let (logger, appender) = file_logger("file-threads", &path);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let logger = &logger;
            s.spawn(move || {
                for i in 0..LINES {
                    // Lengths from 1 byte to well past the 64 KiB buffer.
                    let len = if i % 500 == 0 { 70_000 } else { i % 300 };
                    let fill = char::from(b'a' + t as u8).to_string().repeat(len);
                    sylar_info!(logger, "{t} {i} {len} {fill}");
                }
            });
        }
    });
    sylar_log::Appender::flush(&*appender);
    let text = fs::read_to_string(&path).unwrap();
    let mut next = [0usize; THREADS];
    for line in text.lines() {
        let mut parts = line.splitn(4, ' ');
        let t: usize = parts.next().unwrap().parse().unwrap();
        let i: usize = parts.next().unwrap().parse().unwrap();
        let len: usize = parts.next().unwrap().parse().unwrap();
        let fill = parts.next().unwrap_or("");
        assert_eq!(i, next[t], "thread {t}'s lines stay in order");
        assert_eq!(fill.len(), len, "line {t}/{i} is whole");
        assert!(
            fill.bytes().all(|b| b == b'a' + t as u8),
            "line {t}/{i} is unmixed"
        );
        next[t] += 1;
    }
    assert_eq!(next, [LINES; THREADS]);
    fs::remove_file(&path).unwrap();
}

#[test]
fn a_rotated_file_is_reopened_at_its_path() {
    let path = temp_path("rotate.log");
    let rotated = path.with_extension("log.1");
    let (logger, appender) = file_logger("file-rotate", &path);
    sylar_info!(logger, "before rotation, still buffered");
    fs::rename(&path, &rotated).unwrap();
    // (The background thread may get there first; the outcome is the same.)
    appender.reopen_if_moved();
    sylar_info!(logger, "after rotation");
    sylar_log::Appender::flush(&*appender);
    assert_eq!(
        fs::read_to_string(&rotated).unwrap(),
        "before rotation, still buffered\n",
        "the buffer went to the old file before the switch"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "after rotation\n");
    fs::remove_file(&path).unwrap();
    fs::remove_file(&rotated).unwrap();
}

#[test]
fn a_deleted_file_is_recreated() {
    let path = temp_path("deleted.log");
    let (logger, appender) = file_logger("file-deleted", &path);
    sylar_info!(logger, "lost with the deleted file");
    sylar_log::Appender::flush(&*appender);
    fs::remove_file(&path).unwrap();
    appender.reopen_if_moved();
    sylar_info!(logger, "in the new file");
    sylar_log::Appender::flush(&*appender);
    assert_eq!(fs::read_to_string(&path).unwrap(), "in the new file\n");
    fs::remove_file(&path).unwrap();
}

#[test]
fn rotation_is_noticed_without_being_asked() {
    let path = temp_path("rotate-auto.log");
    let rotated = path.with_extension("log.1");
    let (logger, appender) = file_logger("file-rotate-auto", &path);
    sylar_info!(logger, "old");
    sylar_log::Appender::flush(&*appender);
    fs::rename(&path, &rotated).unwrap();
    // The background thread checks once a second; keep logging until a line lands in a
    // new file at the old path.
    let reopened = eventually(|| {
        sylar_info!(logger, "new");
        sylar_log::Appender::flush(&*appender);
        fs::read_to_string(&path).is_ok_and(|text| text.starts_with("new\n"))
    });
    assert!(reopened, "the path was never reopened");
    assert!(fs::read_to_string(&rotated).unwrap().starts_with("old\n"));
    fs::remove_file(&path).unwrap();
    fs::remove_file(&rotated).unwrap();
}

#[test]
fn buffered_lines_are_written_when_the_appender_is_dropped() {
    let path = temp_path("drop.log");
    let (logger, appender) = file_logger("file-drop", &path);
    sylar_info!(logger, "kept by drop");
    logger.clear_appenders();
    drop(appender);
    assert_eq!(fs::read_to_string(&path).unwrap(), "kept by drop\n");
    fs::remove_file(&path).unwrap();
}

#[test]
fn buffered_lines_are_flushed_within_about_a_second() {
    let path = temp_path("periodic.log");
    let (logger, _appender) = file_logger("file-periodic", &path);
    sylar_info!(logger, "no explicit flush");
    assert!(eventually(
        || fs::read_to_string(&path).unwrap() == "no explicit flush\n"
    ));
    fs::remove_file(&path).unwrap();
}

#[test]
fn the_global_flush_reaches_every_logger() {
    let path = temp_path("global-flush.log");
    let (logger, _appender) = file_logger("file-global-flush", &path);
    sylar_info!(logger, "flushed by sylar_log::flush");
    sylar_log::flush();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "flushed by sylar_log::flush\n"
    );
    fs::remove_file(&path).unwrap();
}

#[test]
fn buffered_lines_are_written_at_process_exit() {
    if common::is_child() {
        let path = std::env::var("LOG_PATH").unwrap();
        let (logger, _appender) = file_logger("file-exit", path.as_ref());
        sylar_info!(logger, "written by the exit handler");
        // `exit` runs the handler; no flush, no drop (the logger is global anyway).
        std::process::exit(0);
    }
    let path = temp_path("exit.log");
    let out = common::run_child(
        "buffered_lines_are_written_at_process_exit",
        &[("LOG_PATH", path.to_str().unwrap())],
    );
    assert!(out.status.success());
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "written by the exit handler\n"
    );
    fs::remove_file(&path).unwrap();
}

#[test]
fn a_full_disk_is_counted_and_reported_once_without_panicking() {
    if common::is_child() {
        let (logger, appender) = file_logger("file-full", "/dev/full".as_ref());
        for round in 1..=3 {
            // (The once-a-second flusher may add failures of its own: count upwards.)
            let before = appender.write_errors();
            sylar_info!(logger, "cannot be written {round}");
            sylar_log::Appender::flush(&*appender);
            assert!(appender.write_errors() > before, "round {round} counted");
        }
        // A line bigger than the buffer is written straight through, and fails too.
        let before = appender.write_errors();
        sylar_info!(logger, "{}", "x".repeat(100_000));
        assert!(appender.write_errors() > before);
        return;
    }
    if !std::path::Path::new("/dev/full").exists() {
        eprintln!("skipped: no /dev/full on this system");
        return;
    }
    let out = common::run_child(
        "a_full_disk_is_counted_and_reported_once_without_panicking",
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {stderr}");
    let reports: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("sylar-log:"))
        .collect();
    assert_eq!(reports.len(), 1, "{stderr}");
    assert!(
        reports[0].contains("/dev/full") && reports[0].contains("No space left"),
        "{stderr}"
    );
}

/// A named pipe with no reader: `open(2)` for writing waits until some process
/// opens it for reading, which may be never, and a logger being built (or a
/// configuration being loaded) would wait with it. It is refused at once instead,
/// by `FileAppender::new` and by `check_config` alike; with a reader it works.
#[test]
fn a_named_pipe_without_a_reader_is_refused_instead_of_waiting() {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt as _;
    use std::sync::mpsc;

    let fifo = temp_path("no-reader.fifo");
    let c_path = CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c_path` is a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);

    let (done, outcome) = mpsc::channel();
    let path = fifo.clone();
    std::thread::spawn(move || {
        let opened = FileAppender::new(&path)
            .map(drop)
            .map_err(|e| e.to_string());
        let define = sylar_log::LogDefine {
            name: "fifo".into(),
            level: sylar_log::Level::Info,
            formatter: None,
            appenders: vec![sylar_log::AppenderDefine {
                kind: sylar_log::AppenderKind::File,
                file: Some(path),
                level: None,
                formatter: None,
                asynchronous: false,
            }],
        };
        let checked = sylar_log::check_config(&[define]).map_err(|e| e.to_string());
        let _ = done.send((opened, checked));
    });
    // A watchdog, not a synchronisation: the answer comes in microseconds.
    let (opened, checked) = outcome
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("opening a pipe with no reader must not wait for one");
    for result in [opened, checked] {
        let error = result.expect_err("no reader: refused");
        assert!(error.contains("cannot open log file"), "{error}");
    }

    // With a reader, lines go through the pipe.
    let reader = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let (logger, appender) = file_logger("file-fifo", &fifo);
    sylar_info!(logger, "through the pipe");
    sylar_log::Appender::flush(&*appender);
    let mut buffer = [0_u8; 64];
    let n = std::io::Read::read(&mut &reader, &mut buffer).unwrap();
    assert_eq!(&buffer[..n], b"through the pipe\n");
    assert_eq!(appender.write_errors(), 0);
    // Release the appender first: a live one would recreate its deleted path.
    logger.clear_appenders();
    drop(appender);
    fs::remove_file(&fifo).unwrap();
}
