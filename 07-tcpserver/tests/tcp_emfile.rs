//! Out of file descriptors during accept: the server sheds connections,
//! does not spin (with clients waiting or with none), and recovers when fds
//! free up. The server runs in a child
//! process (this test binary, re-run) with a low fd limit.

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Echo;
use sylar_iomanager::IoManager;
use sylar_tcpserver::{Address, TcpServer};

const CHILD: &str = "SYLAR_EMFILE_CHILD";

/// The child: an echo server allowed only a handful of spare fds. It prints
/// its port, then serves until its stdin closes.
fn child() {
    let iom = IoManager::new(1, false, "emfile").unwrap();
    let server = TcpServer::new("emfile", Echo, &iom, &iom, &iom);
    server.bind(&["127.0.0.1:0".parse().unwrap()]).unwrap();
    let Address::Inet(addr) = server.local_addresses()[0] else {
        panic!()
    };
    let open = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
    let limit = libc::rlimit {
        rlim_cur: open + 6,
        rlim_max: open + 6,
    };
    // SAFETY: setrlimit with a valid struct.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    server.start().unwrap();
    println!("PORT={}", addr.port());
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// The CPU ticks `pid` uses in the next second (the measuring window).
fn cpu_ticks_in_one_second(pid: u32) -> u64 {
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_millis(1000));
    cpu_ticks(pid) - before
}

#[test]
fn emfile_during_accept_sheds_without_spinning_and_recovers() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "emfile_during_accept_sheds_without_spinning_and_recovers",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The test harness prints its own lines first; ours says PORT=<n>.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let port: u16 = loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "the child died before printing its port"
        );
        if let Some(port) = line.trim().strip_prefix("PORT=") {
            break port.parse().unwrap();
        }
    };
    let addr = ("127.0.0.1", port);

    // Far more clients than the child has fds for.
    let mut clients: Vec<TcpStream> = (0..40).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let (mut served, mut shed, mut hanging) = (0, 0, 0);
    for c in &mut clients {
        // The loop sheds one waiting client per back-off step (at most
        // 200 ms), so ten seconds without an answer means left hanging.
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = c.write_all(b"?");
        let mut byte = [0u8; 1];
        match c.read(&mut byte) {
            Ok(1) => served += 1,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                hanging += 1
            }
            _ => shed += 1, // closed (EOF) or reset
        }
    }
    assert!(served >= 1, "some clients are served");
    assert!(shed >= 1, "the rest are shed");
    assert_eq!(hanging, 0, "no client is left hanging");

    // Out of fds with nobody waiting (the served clients hold every fd, the
    // rest were shed): nothing to shed, every accept fails at once, and the
    // loop must back off rather than spin.
    let used = cpu_ticks_in_one_second(child.id());
    assert!(
        used < 50,
        "the child used {used} ticks of CPU in 1 s with nobody waiting: spinning"
    );

    // While it is out of fds and more clients knock, it must not spin.
    let knockers: Vec<TcpStream> = (0..10)
        .filter_map(|_| TcpStream::connect(addr).ok())
        .collect();
    let used = cpu_ticks_in_one_second(child.id());
    assert!(
        used < 50,
        "the child used {used} ticks of CPU in 1 s: spinning"
    );
    drop(knockers);

    // Free the fds: a new client is served again.
    drop(clients);
    let deadline = Instant::now() + Duration::from_secs(30);
    let recovered = loop {
        if let Ok(mut c) = TcpStream::connect(addr) {
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            if c.write_all(b"back").is_ok() {
                let mut buf = [0u8; 4];
                if c.read_exact(&mut buf).is_ok() {
                    break buf == *b"back";
                }
            }
        }
        assert!(Instant::now() < deadline, "the server never recovered");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(recovered);
    drop(child.stdin.take());
    let _ = child.wait();
    drop(stdout);
}
