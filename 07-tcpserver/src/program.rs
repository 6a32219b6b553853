//! The `sylar` program: command line, configuration, start-up and Ctrl-C.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sylar_iomanager::IoManager;

use crate::address::Address;
use crate::builtin::{self, SERVER_NAME};
use crate::http_server::HttpServer;

/// The default address: the article's page is on port 8090.
pub const DEFAULT_BIND: &str = "127.0.0.1:8090";

/// The default of `server.busy_poll_us`: see chapter 5, "Busy polling".
pub const DEFAULT_BUSY_POLL_US: u64 = 20;

/// What the command line asked for.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Options {
    /// `-c DIR`: a directory of `*.yml` files to load.
    pub config_dir: Option<std::path::PathBuf>,
    /// `--bind ADDR` (repeatable); overrides `server.bind`.
    pub bind: Vec<String>,
    /// `--threads N`; overrides `server.threads`.
    pub threads: Option<usize>,
    /// `--busy-poll US`; overrides `server.busy_poll_us`.
    pub busy_poll_us: Option<u64>,
    /// `--quiet`: only warnings and errors in the log.
    pub quiet: bool,
    /// `-h` / `--help`: print [`USAGE`] and exit successfully, starting
    /// nothing (the arguments after it are not read).
    pub help: bool,
}

/// The usage text.
pub const USAGE: &str =
    "usage: sylar [-c CONFIG_DIR] [--bind ADDR]... [--threads N] [--busy-poll US] [--quiet]

  -c DIR          load every *.yml / *.yaml file in DIR (see /_/config for the variables)
  --bind ADDR     listen on ADDR: host:port, [v6]:port or unix:/path (repeatable)
  --threads N     I/O threads (default: server.threads, or one per CPU)
  --busy-poll US  while busy, an idle I/O thread polls this many microseconds
                  before it sleeps (default: server.busy_poll_us, 20; 0: off)
  --quiet         log warnings and errors only
Defaults: 127.0.0.1:8090 (or a free port if 8090 is taken). Ctrl-C stops.";

// ANCHOR: parse_args
/// Parses the arguments after the program name.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "-c" | "--config" => options.config_dir = Some(value("-c")?.into()),
            "--bind" => options.bind.push(value("--bind")?),
            "--threads" => {
                let n = value("--threads")?;
                let n: usize = n
                    .parse()
                    .map_err(|_| format!("--threads: not a number: {n}"))?;
                options.threads = Some(n.max(1));
            }
            "--busy-poll" => {
                let n = value("--busy-poll")?;
                let n: u64 = n
                    .parse()
                    .map_err(|_| format!("--busy-poll: not a number of microseconds: {n}"))?;
                options.busy_poll_us = Some(n);
            }
            "--quiet" | "-q" => options.quiet = true,
            "-h" | "--help" => {
                options.help = true;
                break;
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(options)
}
// ANCHOR_END: parse_args

/// The configuration values the program runs with.
struct Settings {
    bind: Vec<String>,
    threads: usize,
    busy_poll: Duration,
    grace: Duration,
}

// ANCHOR: load_config
/// Registers every configuration variable of the program and the chapters
/// it uses, then loads `-c DIR`: with every variable known, a value of the
/// wrong type makes the load fail (and nothing is applied) instead of being
/// found later and replaced by its default.
fn load_config(options: &Options) -> Result<Settings, String> {
    crate::tcp_server::register_config();
    crate::http::HttpLimits::from_config();
    let config = |e: sylar_config::ConfigError| e.to_string();
    let bind = sylar_config::lookup(
        "server.bind",
        vec![DEFAULT_BIND.to_string()],
        "addresses the sylar program listens on",
    )
    .map_err(config)?;
    let threads = sylar_config::lookup(
        "server.threads",
        0_usize,
        "I/O threads of the sylar program; 0 means one per CPU",
    )
    .map_err(config)?;
    let busy_poll_us = sylar_config::lookup(
        "server.busy_poll_us",
        DEFAULT_BUSY_POLL_US,
        "microseconds an idle I/O thread of the sylar program polls before it sleeps, \
         while events keep arriving that fast; 0 turns busy polling off",
    )
    .map_err(config)?;
    let grace = sylar_config::lookup(
        "server.shutdown_grace",
        10_000_u64,
        "milliseconds Ctrl-C lets requests in progress finish",
    )
    .map_err(config)?;
    if let Some(dir) = &options.config_dir {
        sylar_config::global()
            .load_dir(dir, true)
            .map_err(|e| format!("config {}: {e}", dir.display()))?;
    }
    let threads = options.threads.unwrap_or(match threads.get() {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    });
    let bind = match options.bind.is_empty() {
        true => bind.get(),
        false => options.bind.clone(),
    };
    if bind.is_empty() {
        // Started anyway, the server would serve nobody until Ctrl-C.
        return Err("server.bind is empty: no address to listen on \
                    (list at least one, or give --bind ADDR)"
            .to_string());
    }
    Ok(Settings {
        bind,
        threads,
        busy_poll: Duration::from_micros(options.busy_poll_us.unwrap_or(busy_poll_us.get())),
        grace: Duration::from_millis(grace.get()),
    })
}
// ANCHOR_END: load_config

// ANCHOR: on_signal
/// The write end of the signal socket, for the signal handler.
static SIGNAL_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(_: libc::c_int) {
    let fd = SIGNAL_FD.load(Ordering::Relaxed);
    let byte = 1u8;
    // SAFETY: write(2) is async-signal-safe; a raw syscall so that no hook
    // (chapter 6) runs inside the signal handler.
    unsafe { libc::syscall(libc::SYS_write, fd, &byte as *const u8, 1) };
}
// ANCHOR_END: on_signal

// ANCHOR: shutdown_signal
/// Routes SIGINT and SIGTERM to a socket: the returned end becomes readable
/// when one arrives. (A handler may do almost nothing; writing one byte is
/// allowed, so the real work happens on an ordinary thread.)
fn shutdown_signal() -> std::io::Result<UnixStream> {
    let (reader, writer) = UnixStream::pair()?;
    SIGNAL_FD.store(
        std::os::fd::IntoRawFd::into_raw_fd(writer),
        Ordering::Relaxed,
    );
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: installs a handler that only performs a raw write(2).
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_flags = libc::SA_RESTART;
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
    Ok(reader)
}
// ANCHOR_END: shutdown_signal

// ANCHOR: run
/// Runs the program until Ctrl-C (SIGINT) or SIGTERM.
pub fn run(options: Options) -> Result<(), String> {
    sylar_log::init();
    if options.quiet {
        sylar_log::root().set_level(sylar_log::Level::Warn);
    }
    let settings = load_config(&options)?;
    let mut addresses = Vec::new();
    for text in &settings.bind {
        addresses.push(text.parse::<Address>().map_err(|e| e.to_string())?);
    }
    let iom = IoManager::new(settings.threads, false, "sylar")
        .map_err(|e| format!("cannot start the I/O manager: {e}"))?;
    iom.set_busy_poll(settings.busy_poll);
    let slot = Arc::new(OnceLock::new());
    let server = HttpServer::new(
        SERVER_NAME,
        builtin::dispatch(slot.clone()),
        &iom,
        &iom,
        &iom,
    );
    if let Err(e) = server.bind(&addresses) {
        let default_taken = options.bind.is_empty()
            && settings.bind == [DEFAULT_BIND]
            && e.failed
                .iter()
                .all(|(_, e)| e.kind() == std::io::ErrorKind::AddrInUse);
        if !default_taken {
            return Err(e.to_string());
        }
        log::warn!(target: "system", "{DEFAULT_BIND} is taken; using a free port instead");
        server
            .bind(&["127.0.0.1:0".parse().expect("valid address")])
            .map_err(|e| e.to_string())?;
    }
    let _ = slot.set(server.clone());
    let signal = shutdown_signal().map_err(|e| format!("cannot watch for Ctrl-C: {e}"))?;
    server.start().map_err(|e| e.to_string())?;
    for address in server.local_addresses() {
        match address {
            Address::Inet(addr) => println!("sylar-rs listening on http://{addr}/"),
            Address::Unix(path) => println!("sylar-rs listening on unix:{}", path.display()),
        }
    }
    println!("{} I/O thread(s); Ctrl-C to stop", settings.threads);
    // Block this (main, unhooked) thread until a signal byte arrives.
    let _ = (&signal).read(&mut [0u8; 1]);
    println!(
        "stopping: letting requests in progress finish (up to {:?})",
        settings.grace
    );
    server.stop(settings.grace);
    iom.stop();
    println!("stopped");
    Ok(())
}
// ANCHOR_END: run

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_every_option() {
        let options = parse_args(args(&[
            "-c",
            "conf",
            "--bind",
            "a:1",
            "--bind",
            "b:2",
            "--threads",
            "3",
            "--busy-poll",
            "0",
            "--quiet",
        ]))
        .unwrap();
        assert_eq!(
            options.config_dir.as_deref(),
            Some(std::path::Path::new("conf"))
        );
        assert_eq!(options.bind, ["a:1", "b:2"]);
        assert_eq!(options.threads, Some(3));
        assert_eq!(options.busy_poll_us, Some(0));
        assert!(options.quiet);
    }

    #[test]
    fn rejects_what_it_does_not_know() {
        assert!(
            parse_args(args(&["--bogus"]))
                .unwrap_err()
                .contains("unknown argument")
        );
        assert!(parse_args(args(&["--threads", "many"])).is_err());
        assert!(parse_args(args(&["--busy-poll", "-1"])).is_err());
        // The usage text states the real default.
        assert!(USAGE.contains(&format!("server.busy_poll_us, {DEFAULT_BUSY_POLL_US};")));
        assert!(parse_args(args(&["--bind"])).is_err());
    }

    #[test]
    fn help_is_a_request_not_an_error() {
        assert!(parse_args(args(&["--help"])).unwrap().help);
        // Whatever follows it is not read: `--help` wins.
        assert!(parse_args(args(&["-h", "--bogus"])).unwrap().help);
        assert!(!parse_args(args(&["--quiet"])).unwrap().help);
    }
}
