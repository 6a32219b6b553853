//! A tour of sylar-log: `cargo run -p sylar-log --example log_demo`.
//!
//! Prints to stdout through several loggers, writes a log file in the temp directory,
//! and shows what a bad pattern does.

use std::error::Error;
use std::sync::Arc;

use sylar_log::{
    Level, LogDefine, PatternFormatter, StdoutAppender, sylar_debug, sylar_info, sylar_warn,
};

// ANCHOR: fake_fiber
/// Stands in for sylar-fiber, which registers the real "current fiber" function.
fn pretend_fiber_id() -> u64 {
    42
}
// ANCHOR_END: fake_fiber

// ANCHOR: facade
/// Step 1: any crate's `log::info!` reaches root, which starts with one stdout appender and
/// the default pattern (time, thread id and name, fiber, level, logger, location).
fn facade() {
    sylar_log::init();
    println!("== 1. root, default pattern, through the log facade");
    log::info!("hello from the log facade");
}
// ANCHOR_END: facade

// ANCHOR: own_logger
/// Step 2: a logger of our own, with its own pattern, used through the article's macros.
fn own_logger() -> Result<(), Box<dyn Error>> {
    println!("== 2. a logger of our own, through the sylar_* macros");
    let app = sylar_log::logger("app");
    app.set_level(Level::Debug);
    app.add_appender(Arc::new(
        StdoutAppender::new().with_formatter(PatternFormatter::new("[%p]%T%c%T%m%n")?),
    ));
    sylar_debug!(app, "connecting to {}:{}", "127.0.0.1", 6379);
    sylar_warn!(app, "disk {}% full", 91);
    Ok(())
}
// ANCHOR_END: own_logger

// ANCHOR: through_root
/// Step 3: target "system" reaches the logger named `system`; it has no appenders, so it
/// writes through root (with root's pattern, here shortened).
fn through_root() -> Result<(), Box<dyn Error>> {
    println!("== 3. target \"system\", written through root");
    sylar_log::root().set_formatter(PatternFormatter::new("root sees: [%p] [%c] %m%n")?);
    log::error!(target: "system", "listener on port {} failed", 8080);
    Ok(())
}
// ANCHOR_END: through_root

// ANCHOR: fiber_id
/// Step 4: `%f` asks a provider registered by a later crate (0 until then).
fn fiber_id() -> Result<(), Box<dyn Error>> {
    println!("== 4. %f before and after a fiber-id provider is registered");
    let fibers = sylar_log::logger("fibers");
    fibers.add_appender(Arc::new(
        StdoutAppender::new().with_formatter(PatternFormatter::new("fiber %f: %m%n")?),
    ));
    sylar_info!(fibers, "no provider yet");
    sylar_log::set_fiber_id_provider(pretend_fiber_id);
    sylar_info!(fibers, "provider registered");
    Ok(())
}
// ANCHOR_END: fiber_id

// ANCHOR: file
/// Step 5: a file, configured as data: the same definitions chapter 2 reads from YAML.
fn file() -> Result<(), Box<dyn Error>> {
    println!("== 5. a file appender, configured from YAML");
    let path = std::env::temp_dir().join("sylar-log-demo.log");
    let _ = std::fs::remove_file(&path);
    let yaml = format!(
        r#"
- name: access
  level: info
  formatter: "%c %p %m%n"
  appenders:
    - type: file
      file: {}
"#,
        path.display()
    );
    let defs: Vec<LogDefine> = serde_yaml::from_str(&yaml)?;
    sylar_log::apply_config(&defs)?;
    let access = sylar_log::logger("access");
    for status in [200, 404] {
        sylar_info!(access, "GET /index.html {status}");
    }
    sylar_log::flush();
    print!("{}", std::fs::read_to_string(&path)?);
    Ok(())
}
// ANCHOR_END: file

// ANCHOR: bad_pattern
/// Step 6: a bad pattern: an error naming the position, or (for config) a visible marker.
fn bad_pattern() -> Result<(), Box<dyn Error>> {
    println!("== 6. a bad pattern");
    match PatternFormatter::new("%d{%H:%M} %Q %m") {
        Ok(_) => unreachable!("%Q is not an item"),
        Err(e) => println!("strict:  {e}"),
    }
    let lenient = sylar_log::logger("lenient");
    lenient.add_appender(Arc::new(
        StdoutAppender::new().with_formatter(PatternFormatter::lenient("[%p] %Q %m%n")),
    ));
    sylar_info!(lenient, "the message still gets through");
    Ok(())
}
// ANCHOR_END: bad_pattern

fn main() -> Result<(), Box<dyn Error>> {
    facade();
    own_logger()?;
    through_root()?;
    fiber_id()?;
    file()?;
    bad_pattern()?;
    Ok(())
}
