//! Messages per second to a file: sylar-log (sync and async, through its macros and
//! through the `log` facade) against simplelog's `WriteLogger`, in the same process.
//!
//! Run with `cargo bench -p sylar-log`. Each figure is the best of `ROUNDS` runs; every
//! run logs to a fresh file in the temp directory and includes the final flush. Both
//! loggers print the same fields (time to the millisecond, level, thread id, logger or
//! target, file:line, message), so the lines are about the same length.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::Log as _;
use simplelog::{Config, ConfigBuilder, LevelFilter, WriteLogger};
use sylar_log::{AsyncAppender, AsyncOptions, FileAppender, Logger, PatternFormatter, sylar_info};

/// sylar's pattern for the fields simplelog prints below.
const PATTERN: &str = "%d{%Y-%m-%dT%H:%M:%S.%L%z} [%p] (%t) %c: [%F:%l] %m%n";

/// simplelog printing an RFC 3339 time (with sub-second digits), level, thread id, target and location
/// for every level (by default it prints only time and level at `Info`).
fn simplelog_config() -> Config {
    let mut builder = ConfigBuilder::new();
    builder
        .set_time_format_rfc3339()
        .set_thread_level(LevelFilter::Error)
        .set_target_level(LevelFilter::Error)
        .set_location_level(LevelFilter::Error);
    // Local time like sylar's, if the `time` crate can find the offset (it refuses once
    // threads exist, hence first thing in `main`).
    let _ = builder.set_time_offset_to_local();
    builder.build()
}

/// Total messages of one run, split between the threads.
const SHORT_MESSAGES: usize = 1_000_000;
const LONG_MESSAGES: usize = 200_000;
/// Runs per figure; the best is reported (the machine is shared and noisy).
const ROUNDS: usize = 3;

/// About 400 bytes: a long request line, a dumped header.
const LONG_TEXT: &str = "GET /api/v1/users/12345/orders?status=open&sort=created_at&page=3&per_page=50 \
HTTP/1.1 Host: api.example.com User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 \
(KHTML, like Gecko) Chrome/120.0 Safari/537.36 Accept: application/json Accept-Encoding: gzip, \
deflate, br Connection: keep-alive Cookie: session=0123456789abcdef0123456789abcdef; theme=dark";

#[derive(Clone, Copy, PartialEq)]
enum Size {
    Short,
    Long,
}

#[derive(Clone, Copy, PartialEq)]
enum Contender {
    SylarSync,
    SylarAsync,
    SylarFacade,
    Simplelog,
}

fn temp_file(tag: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("sylar-log-bench-{}-{tag}.log", std::process::id()));
    let _ = fs::remove_file(&path);
    path
}

fn messages(size: Size) -> usize {
    match size {
        Size::Short => SHORT_MESSAGES,
        Size::Long => LONG_MESSAGES,
    }
}

/// Runs `body(thread_index, count)` on `threads` threads, returning the elapsed time.
fn timed(threads: usize, total: usize, body: impl Fn(usize) + Sync) -> Duration {
    let per_thread = total / threads;
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| body(per_thread));
        }
    });
    start.elapsed()
}

fn sylar_logger(name: &str, contender: Contender, path: &PathBuf) -> Arc<Logger> {
    let logger = sylar_log::logger(name);
    logger.set_formatter(PatternFormatter::new(PATTERN).expect("valid pattern"));
    let appender: Arc<dyn sylar_log::Appender> = match contender {
        Contender::SylarAsync => {
            Arc::new(AsyncAppender::file(path, AsyncOptions::default()).expect("open"))
        }
        _ => Arc::new(FileAppender::new(path).expect("open")),
    };
    logger.set_appenders(vec![appender]);
    logger
}

/// One run: messages per second and bytes per line.
fn run(
    contender: Contender,
    size: Size,
    threads: usize,
    round: usize,
    config: &Config,
) -> (f64, u64) {
    let total = messages(size);
    let tag = format!("{}-{}-{threads}-{round}", contender as u8, size as u8);
    let path = temp_file(&tag);
    let elapsed = match contender {
        Contender::Simplelog => {
            let file = BufWriter::new(File::create(&path).expect("create"));
            let logger = WriteLogger::new(LevelFilter::Info, config.clone(), file);
            let elapsed = timed(threads, total, |n| {
                for i in 0..n {
                    let record = |args| {
                        logger.log(
                            &log::Record::builder()
                                .args(args)
                                .level(log::Level::Info)
                                .target("bench")
                                .file(Some(file!()))
                                .line(Some(line!()))
                                .build(),
                        )
                    };
                    match size {
                        Size::Short => record(format_args!("short message {i}")),
                        Size::Long => record(format_args!("{LONG_TEXT} {i}")),
                    }
                }
                logger.flush();
            });
            drop(logger);
            elapsed
        }
        Contender::SylarFacade => {
            // The bridge routes target "system" to the logger named "system".
            let logger = sylar_logger("system", contender, &path);
            let elapsed = timed(threads, total, |n| {
                for i in 0..n {
                    match size {
                        Size::Short => log::info!(target: "system", "short message {i}"),
                        Size::Long => log::info!(target: "system", "{LONG_TEXT} {i}"),
                    }
                }
                logger.flush();
            });
            logger.clear_appenders();
            elapsed
        }
        Contender::SylarSync | Contender::SylarAsync => {
            let logger = sylar_logger(&format!("bench-{tag}"), contender, &path);
            let elapsed = timed(threads, total, |n| {
                for i in 0..n {
                    match size {
                        Size::Short => sylar_info!(logger, "short message {i}"),
                        Size::Long => sylar_info!(logger, "{LONG_TEXT} {i}"),
                    }
                }
                logger.flush();
            });
            logger.clear_appenders();
            elapsed
        }
    };
    let bytes = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let lines = fs::read(&path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0);
    let _ = fs::remove_file(&path);
    assert_eq!(
        lines,
        total / threads * threads,
        "every message reached the file"
    );
    (total as f64 / elapsed.as_secs_f64(), bytes / lines as u64)
}

fn best(contender: Contender, size: Size, threads: usize, config: &Config) -> (f64, u64) {
    (0..ROUNDS)
        .map(|round| run(contender, size, threads, round, config))
        .fold((0.0, 0), |a, b| if b.0 > a.0 { b } else { a })
}

fn main() {
    // Without `--bench` (e.g. `cargo test --benches`), do nothing: figures from a debug
    // build mean nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let config = simplelog_config();
    sylar_log::init();
    println!("messages/s to a file, best of {ROUNDS} runs (bytes/line in brackets)\n");
    println!(
        "| case | sylar sync | sylar via log facade | sylar async | simplelog | sync/simplelog | async/simplelog |"
    );
    println!("|---|---|---|---|---|---|---|");
    for size in [Size::Short, Size::Long] {
        for threads in [1, 2] {
            let (sync, sync_b) = best(Contender::SylarSync, size, threads, &config);
            let (facade, _) = best(Contender::SylarFacade, size, threads, &config);
            let (asyn, _) = best(Contender::SylarAsync, size, threads, &config);
            let (simple, simple_b) = best(Contender::Simplelog, size, threads, &config);
            let name = match size {
                Size::Short => "short",
                Size::Long => "long",
            };
            println!(
                "| {name}, {threads} thread{} | {} [{sync_b}] | {} | {} | {} [{simple_b}] | {:.1}x | {:.1}x |",
                if threads > 1 { "s" } else { "" },
                human(sync),
                human(facade),
                human(asyn),
                human(simple),
                sync / simple,
                asyn / simple
            );
        }
    }
}

fn human(per_second: f64) -> String {
    format!("{:.2} M", per_second / 1e6)
}
