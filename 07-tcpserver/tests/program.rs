//! The `sylar` program: starts on defaults (here: a free port), serves the
//! built-in pages, loads a config directory, and stops cleanly on Ctrl-C.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sylar_tcpserver::http::HttpConnection;

/// Starts the program and returns it with the URL it printed.
fn launch(args: &[&str]) -> (Child, String, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sylar"))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("sylar-rs listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .trim_end_matches('/')
        .to_string();
    (child, url, out)
}

fn stop(mut child: Child, mut out: BufReader<std::process::ChildStdout>) {
    // SAFETY: sending SIGINT to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut out, &mut rest);
    assert!(status.success(), "exit status {status:?}, output {rest:?}");
    assert!(rest.contains("stopped"), "{rest:?}");
}

#[test]
fn serves_the_built_in_pages_and_stops_on_ctrl_c() {
    let (child, addr, out) = launch(&["--bind", "127.0.0.1:0", "--threads", "1"]);
    let mut client = HttpConnection::connect(addr.as_str(), Duration::from_secs(10)).unwrap();
    let welcome = client.get("/").unwrap();
    assert_eq!(welcome.status, 200);
    assert!(String::from_utf8_lossy(&welcome.body).contains("sylar-rs is running"));
    let hello = client.get("/hello").unwrap();
    assert_eq!(
        (hello.status, hello.body.as_slice()),
        (200, &b"Hello World"[..])
    );
    let echo = client.post("/echo", b"ping").unwrap();
    assert_eq!(echo.body, b"ping");
    let status = String::from_utf8(client.get("/_/status").unwrap().body).unwrap();
    for key in [
        "uptime_seconds:",
        "connections: 1",
        "requests:",
        "panics: 0",
        "slow_readers: 0",
        "fibers:",
    ] {
        assert!(status.contains(key), "{key} missing from {status}");
    }
    let config = String::from_utf8(client.get("/_/config").unwrap().body).unwrap();
    for key in [
        "tcp_server:",
        "read_timeout: 120000",
        "busy_poll_us: 20",
        "fiber:",
        "stack_size:",
    ] {
        assert!(config.contains(key), "{key} missing from {config}");
    }
    assert_eq!(client.get("/no/such/page").unwrap().status, 404);
    drop(client);
    stop(child, out);
}

#[test]
fn loads_a_config_directory_given_with_dash_c() {
    let dir = std::env::temp_dir().join(format!("sylar-program-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("server.yml"),
        "server:\n  bind: [\"127.0.0.1:0\"]\n  threads: 1\n  busy_poll_us: 0\ntcp_server:\n  read_timeout: 4321\n",
    )
    .unwrap();
    let (child, addr, out) = launch(&["-c", dir.to_str().unwrap()]);
    let mut client = HttpConnection::connect(addr.as_str(), Duration::from_secs(10)).unwrap();
    let config = String::from_utf8(client.get("/_/config").unwrap().body).unwrap();
    assert!(config.contains("read_timeout: 4321"), "{config}");
    assert!(config.contains("busy_poll_us: 0"), "{config}");
    drop(client);
    stop(child, out);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_bad_config_file_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("sylar-program-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad.yml"), "server:\n  threads: many\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_sylar"))
        .args(["-c", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("server.threads"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_log_file_that_cannot_be_opened_stops_the_start_with_its_name() {
    let dir = std::env::temp_dir().join(format!("sylar-program-logs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The log file's directory is a regular file: it can never be created.
    let blocker = dir.join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let log = blocker.join("server.log");
    let yaml = format!(
        "logs:\n  - name: system\n    appenders:\n      - type: file\n        file: {}\n",
        log.display()
    );
    std::fs::write(dir.join("logs.yml"), yaml).unwrap();
    let (code, stderr) = refused(
        &["-c", dir.to_str().unwrap(), "--bind", "127.0.0.1:0"],
        "the program started with a log file it cannot open",
    );
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("logs") && stderr.contains("server.log"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn unknown_arguments_print_the_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_sylar"))
        .arg("--frobnicate")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage: sylar"));
}

#[test]
fn help_prints_the_usage_on_stdout_and_succeeds() {
    for flag in ["--help", "-h"] {
        let output = Command::new(env!("CARGO_BIN_EXE_sylar"))
            .arg(flag)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{flag}");
        assert!(String::from_utf8_lossy(&output.stdout).starts_with("usage: sylar"));
        assert!(output.stderr.is_empty(), "{flag} wrote on stderr");
    }
}

#[test]
fn an_empty_bind_list_is_a_clear_error() {
    // `server.bind: []` leaves nothing to listen on: a server that started
    // anyway would wait for Ctrl-C serving nobody.
    let dir = std::env::temp_dir().join(format!("sylar-program-nobind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("server.yml"), "server:\n  bind: []\n").unwrap();
    let (code, stderr) = refused(
        &["-c", dir.to_str().unwrap()],
        "the program started with nothing to listen on",
    );
    assert_eq!(code, Some(1));
    assert!(stderr.contains("server.bind"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Runs the program with `args`, expecting it to refuse to start, and returns
/// its exit code and what it wrote on stderr. Its stderr ends when it exits;
/// a program that started anyway would keep it open, so the wait has a
/// watchdog (a refusal takes milliseconds): then the child is killed and
/// reaped, and the test fails with `started`.
fn refused(args: &[&str], started: &str) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sylar"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    let Ok(stderr) = rx.recv_timeout(Duration::from_secs(30)) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{started}");
    };
    (child.wait().unwrap().code(), stderr)
}
