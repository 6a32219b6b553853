//! The asynchronous appender: nothing accepted is lost, a full buffer blocks (or drops
//! and counts), flush and drop write everything, exit flushes, errors are survived.

mod common;

use std::fs;
use std::io::{self, Write};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use common::{eventually, temp_path};
use sylar_log::{Appender, AsyncAppender, AsyncOptions, Overflow, PatternFormatter, sylar_info};

/// Bytes written so far by a [`Recorder`] or [`Gated`] writer.
type Output = Arc<Mutex<Vec<u8>>>;

/// A writer that records everything.
struct Recorder(Output);

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A recorder whose first write announces itself and then waits until the test opens
/// the gate: the test knows exactly what the writer thread holds.
struct Gated {
    out: Output,
    entered: Option<mpsc::Sender<()>>,
    gate: Option<mpsc::Receiver<()>>,
}

impl Write for Gated {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let (Some(entered), Some(gate)) = (self.entered.take(), self.gate.take()) {
            entered.send(()).unwrap();
            gate.recv().unwrap();
        }
        Recorder(self.out.clone()).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// An async appender over a gated writer holding `line(0)`, with `capacity` bytes free.
fn gated(capacity: usize, overflow: Overflow) -> (AsyncAppender, Output, mpsc::Sender<()>) {
    let out = Output::default();
    let (entered_tx, entered_rx) = mpsc::channel();
    let (open_tx, open_rx) = mpsc::channel();
    let writer = Gated {
        out: out.clone(),
        entered: Some(entered_tx),
        gate: Some(open_rx),
    };
    let appender =
        AsyncAppender::writer(writer, "gated", AsyncOptions { capacity, overflow }).unwrap();
    appender.write_line(&line(0));
    entered_rx.recv().unwrap();
    (appender, out, open_tx)
}

/// An 8-byte line: `line-NN\n`.
fn line(i: usize) -> Vec<u8> {
    format!("line-{i:02}\n").into_bytes()
}

fn text(out: &Output) -> String {
    String::from_utf8(out.lock().unwrap().clone()).unwrap()
}

fn lines(range: std::ops::Range<usize>) -> String {
    range.map(|i| String::from_utf8(line(i)).unwrap()).collect()
}

#[test]
fn a_full_buffer_blocks_the_caller_until_the_writer_makes_room() {
    let (appender, out, open) = gated(100, Overflow::Block);
    for i in 1..=12 {
        appender.write_line(&line(i)); // 96 bytes: fits
    }
    let appender = Arc::new(appender);
    let producer = std::thread::spawn({
        let appender = appender.clone();
        move || appender.write_line(&line(13)) // 104 bytes: must wait
    });
    assert!(
        eventually(|| appender.waits() >= 1),
        "the producer never waited"
    );
    assert!(
        !producer.is_finished(),
        "returned while the buffer was full"
    );
    open.send(()).unwrap();
    producer.join().unwrap();
    appender.flush();
    assert_eq!(text(&out), lines(0..14));
    assert_eq!(appender.dropped(), 0);
    assert_eq!(appender.accepted(), 14);
}

#[test]
fn drop_mode_counts_what_did_not_fit_and_keeps_the_rest() {
    let (appender, out, open) = gated(100, Overflow::Drop);
    for i in 1..=15 {
        appender.write_line(&line(i)); // 12 fit, 3 do not
    }
    assert_eq!(appender.dropped(), 3);
    assert_eq!(appender.accepted(), 13);
    open.send(()).unwrap();
    appender.flush();
    assert_eq!(text(&out), lines(0..13));
    // Room again: the next line is accepted.
    appender.write_line(&line(99));
    appender.flush();
    assert!(text(&out).ends_with("line-99\n"));
}

#[test]
fn a_line_longer_than_the_buffer_is_accepted_when_the_buffer_is_empty() {
    let out = Output::default();
    let options = AsyncOptions {
        capacity: 10,
        overflow: Overflow::Drop,
    };
    let appender = AsyncAppender::writer(Recorder(out.clone()), "small", options).unwrap();
    let long = vec![b'x'; 1000];
    appender.write_line(&long);
    appender.flush();
    assert_eq!(appender.dropped(), 0);
    assert_eq!(out.lock().unwrap().len(), 1000);
}

#[test]
fn flush_returns_after_every_accepted_line_is_written() {
    let out = Output::default();
    let options = AsyncOptions {
        capacity: 512,
        overflow: Overflow::Block,
    };
    let appender = Arc::new(
        AsyncAppender::writer(Recorder(out.clone()), "recorder", options)
            .unwrap()
            .with_formatter(PatternFormatter::new("%m%n").unwrap()),
    );
    let logger = sylar_log::logger("async-flush");
    logger.set_appenders(vec![appender.clone()]);
    std::thread::scope(|s| {
        for t in 0..4 {
            let logger = &logger;
            s.spawn(move || {
                for i in 0..2000 {
                    sylar_info!(logger, "{t} {i}");
                }
            });
        }
    });
    logger.flush();
    let text = text(&out);
    let mut next = [0; 4];
    for line in text.lines() {
        let (t, i) = line.split_once(' ').unwrap();
        let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
        assert_eq!(i, next[t], "per-thread order is kept");
        next[t] += 1;
    }
    assert_eq!(next, [2000; 4], "nothing lost despite a 512-byte buffer");
}

#[test]
fn dropping_the_appender_writes_everything_to_the_file() {
    let path = temp_path("async-drop.log");
    let appender = AsyncAppender::file(&path, AsyncOptions::default()).unwrap();
    for i in 0..10_000 {
        appender.write_line(&line(i % 100));
    }
    drop(appender);
    assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 10_000);
    fs::remove_file(&path).unwrap();
}

#[test]
fn accepted_lines_are_written_at_process_exit() {
    if common::is_child() {
        let path = std::env::var("LOG_PATH").unwrap();
        let appender = Arc::new(
            AsyncAppender::file(&path, AsyncOptions::default())
                .unwrap()
                .with_formatter(PatternFormatter::new("%m%n").unwrap()),
        );
        let logger = sylar_log::logger("async-exit");
        logger.set_appenders(vec![appender]);
        for i in 0..5000 {
            sylar_info!(logger, "line {i}");
        }
        std::process::exit(0);
    }
    let path = temp_path("async-exit.log");
    let out = common::run_child(
        "accepted_lines_are_written_at_process_exit",
        &[("LOG_PATH", path.to_str().unwrap())],
    );
    assert!(out.status.success());
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 5000);
    assert!(text.ends_with("line 4999\n"));
    fs::remove_file(&path).unwrap();
}

#[test]
fn the_async_file_is_reopened_after_rotation() {
    let path = temp_path("async-rotate.log");
    let rotated = path.with_extension("log.1");
    let appender = AsyncAppender::file(&path, AsyncOptions::default()).unwrap();
    appender.write_line(b"old\n");
    appender.flush();
    fs::rename(&path, &rotated).unwrap();
    let reopened = eventually(|| {
        appender.write_line(b"new\n");
        appender.flush();
        fs::read_to_string(&path).is_ok_and(|t| t.starts_with("new\n"))
    });
    assert!(reopened, "the writer never reopened the path");
    assert!(fs::read_to_string(&rotated).unwrap().starts_with("old\n"));
    fs::remove_file(&path).unwrap();
    fs::remove_file(&rotated).unwrap();
}

/// Fails while `failing` says so.
struct Flaky {
    failing: Arc<Mutex<bool>>,
}

impl Write for Flaky {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if *self.failing.lock().unwrap() {
            Err(io::Error::other("disk on fire"))
        } else {
            Ok(buf.len())
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn write_errors_are_counted_reported_once_per_run_and_survived() {
    if common::is_child() {
        let failing = Arc::new(Mutex::new(true));
        let writer = Flaky {
            failing: failing.clone(),
        };
        let appender = AsyncAppender::writer(writer, "flaky", AsyncOptions::default()).unwrap();
        for round in 1..=3 {
            appender.write_line(b"fails\n");
            appender.flush();
            assert_eq!(appender.write_errors(), round);
        }
        *failing.lock().unwrap() = false;
        appender.write_line(b"works\n");
        appender.flush();
        *failing.lock().unwrap() = true;
        appender.write_line(b"fails again\n");
        appender.flush();
        assert_eq!(appender.write_errors(), 4);
        return;
    }
    let out = common::run_child(
        "write_errors_are_counted_reported_once_per_run_and_survived",
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {stderr}");
    let reports = stderr
        .lines()
        .filter(|l| l.contains("writing to flaky failed: disk on fire"));
    assert_eq!(
        reports.count(),
        2,
        "one report per run of failures: {stderr}"
    );
}

#[test]
fn drops_are_reported_on_stderr() {
    if common::is_child() {
        let (appender, _out, open) = gated(16, Overflow::Drop);
        for i in 1..=5 {
            appender.write_line(&line(i));
        }
        assert_eq!(appender.dropped(), 3);
        open.send(()).unwrap();
        drop(appender);
        return;
    }
    let out = common::run_child("drops_are_reported_on_stderr", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {stderr}");
    assert!(
        stderr.contains(
            "async appender for gated dropped 3 line(s) because its buffer was full (3 in total)"
        ),
        "{stderr}"
    );
}

#[test]
fn an_unopenable_async_file_is_an_error() {
    let dir = temp_path("async-dir");
    fs::create_dir(&dir).unwrap();
    assert!(matches!(
        AsyncAppender::file(&dir, AsyncOptions::default()),
        Err(sylar_log::LogError::Open { .. })
    ));
    fs::remove_dir(&dir).unwrap();
}

/// Panics on every write, like a buggy user-supplied writer.
struct Panicking;

impl Write for Panicking {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        panic!("bug in a user's writer");
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_panicking_writer_is_contained_and_nobody_waits_forever() {
    if common::is_child() {
        let appender =
            AsyncAppender::writer(Panicking, "panicky", AsyncOptions::default()).unwrap();
        appender.write_line(b"first\n");
        appender.flush(); // returns: the writer is gone
        appender.write_line(b"second\n"); // refused and counted, not queued forever
        assert_eq!(appender.dropped(), 1);
        drop(appender); // joins the dead thread without propagating its panic
        println!("child survived");
        return;
    }
    let out = common::run_child(
        "a_panicking_writer_is_contained_and_nobody_waits_forever",
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("child survived"));
    assert!(stderr.contains("bug in a user's writer"), "{stderr}");
    assert!(
        stderr.contains("the writer thread for panicky died; 1 accepted line(s) were not written"),
        "{stderr}"
    );
}
