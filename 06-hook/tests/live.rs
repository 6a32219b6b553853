//! The hooks are linked in, std's calls reach them, and the switch is per thread.

mod common;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::time::Duration;

use common::in_fiber;
use sylar_hook::{fd_context, is_hook_enabled, is_live, set_hook_enabled};
use sylar_scheduler::Scheduler;

#[test]
fn the_hooks_are_live_in_this_binary() {
    assert!(
        is_live(),
        "sylar_hook's fcntl is not the one Rust code calls"
    );
}

#[test]
fn std_calls_reach_the_hooks_even_with_hooking_off() {
    // `set_nonblocking` is std's ioctl(FIONBIO); our ioctl records the
    // user's wish in the fd's context, on any thread.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let ctx = fd_context(stream.as_raw_fd()).unwrap();
    assert!(ctx.is_socket());
    assert!(!ctx.user_nonblock());
    stream.set_nonblocking(true).unwrap();
    assert!(ctx.user_nonblock());
    stream.set_nonblocking(false).unwrap();
    assert!(!ctx.user_nonblock());
}

#[test]
fn hooking_is_off_on_plain_threads_and_on_in_io_manager_workers() {
    assert!(!is_hook_enabled());
    assert!(in_fiber(is_hook_enabled));
    assert!(in_fiber(|| {
        set_hook_enabled(false);
        let off = !is_hook_enabled();
        set_hook_enabled(true);
        off && is_hook_enabled()
    }));
}

#[test]
fn a_plain_schedulers_fiber_on_an_io_manager_thread_blocks_like_a_plain_thread() {
    // A fiber of a plain `use_caller` scheduler runs on the I/O manager's
    // thread when a fiber of the I/O manager stops it. Its hooked calls
    // must not park on that I/O manager: woken, they would go back to the
    // plain scheduler, stopped by then, and be leaked.
    let (tx, rx) = mpsc::channel();
    let events = in_fiber(move || {
        // Made here, in the I/O manager's fiber: non-blocking underneath,
        // so the guest's blocking read is ours to emulate. A silent peer:
        // the read waits out its 50 ms timeout.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = TcpStream::connect(addr).unwrap();
        let (mut stream, _) = listener.accept().unwrap();
        assert!(fd_context(stream.as_raw_fd()).unwrap().sys_nonblock());
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let guest = Scheduler::new(1, true, "guest");
        guest.start().unwrap();
        let from_guest = tx.clone();
        guest
            .schedule(move || {
                let hooked = is_hook_enabled();
                let connected = TcpStream::connect(addr).map(drop).map_err(|e| e.kind());
                let read = stream.read(&mut [0; 8]).map_err(|e| e.kind());
                std::thread::sleep(Duration::from_millis(5));
                let line =
                    format!("guest: hooked {hooked}, connect {connected:?}, read {read:?}, slept");
                from_guest.send(line).unwrap();
            })
            .unwrap();
        guest.stop();
        drop(peer);
        tx.send(format!("host: hooked {}", is_hook_enabled()))
            .unwrap();
        rx.try_iter().collect::<Vec<_>>()
    });
    assert_eq!(
        events,
        [
            "guest: hooked true, connect Ok(()), read Err(WouldBlock), slept",
            "host: hooked true"
        ]
    );
}

#[test]
fn sockets_made_in_a_fiber_are_nonblocking_underneath_but_not_to_the_user() {
    let (sys, user_view) = in_fiber(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let fd = listener.as_raw_fd();
        // SAFETY: F_GETFL on an open fd.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        (
            fd_context(fd).unwrap().sys_nonblock(),
            flags & libc::O_NONBLOCK != 0,
        )
    });
    assert!(sys, "we made it non-blocking");
    assert!(!user_view, "F_GETFL hides our O_NONBLOCK");
}

/// The user's and the system's view of `fd`'s O_NONBLOCK: what the hooked
/// `fcntl(F_GETFL)` says, and what the kernel says (raw system call).
fn nonblock_views(fd: i32) -> (bool, bool) {
    // SAFETY: F_GETFL on an open fd, through the hook and then around it.
    let (user, kernel) = unsafe {
        (
            libc::fcntl(fd, libc::F_GETFL),
            libc::syscall(libc::SYS_fcntl, fd, libc::F_GETFL) as i32,
        )
    };
    (user & libc::O_NONBLOCK != 0, kernel & libc::O_NONBLOCK != 0)
}

#[test]
fn connections_accepted_in_a_fiber_are_nonblocking_underneath_but_not_to_the_user() {
    let (plain, asked) = in_fiber(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let _a = TcpStream::connect(addr).unwrap();
        let _b = TcpStream::connect(addr).unwrap();
        // std's accept: accept4(SOCK_CLOEXEC); the user wants it blocking.
        let (plain, _) = listener.accept().unwrap();
        // A C caller that asks for a non-blocking connection.
        // SAFETY: accept4 on a listening socket, no address wanted.
        let fd = unsafe {
            libc::accept4(
                listener.as_raw_fd(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        };
        assert!(fd >= 0);
        let views = (nonblock_views(plain.as_raw_fd()), nonblock_views(fd));
        // SAFETY: `fd` was accepted above and is closed once.
        unsafe { libc::close(fd) };
        views
    });
    assert_eq!(
        plain,
        (false, true),
        "ours underneath, hidden from the user"
    );
    assert_eq!(asked, (true, true), "the user's own SOCK_NONBLOCK shows");
}

#[test]
fn sockets_made_on_a_plain_thread_stay_blocking() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (accepted, _) = listener.accept().unwrap();
    for fd in [
        listener.as_raw_fd(),
        stream.as_raw_fd(),
        accepted.as_raw_fd(),
    ] {
        assert_eq!(nonblock_views(fd), (false, false));
        assert!(!fd_context(fd).unwrap().sys_nonblock());
    }
}

#[test]
fn connections_are_the_kind_of_socket_their_listener_is() {
    let kinds = in_fiber(|| {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = TcpStream::connect(tcp.local_addr().unwrap()).unwrap();
        let (conn, _) = tcp.accept().unwrap();
        let tcp_kind = fd_context(conn.as_raw_fd()).unwrap().is_stream();
        // A SOCK_SEQPACKET listener accepts connections that keep message
        // boundaries: not a stream (a short read does not mean drained).
        let path = std::env::temp_dir().join(format!("sylar-seqpacket-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: sockaddr_un is plain data; all zeroes is a valid value.
        let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (dst, &src) in addr.sun_path.iter_mut().zip(c_path.as_bytes()) {
            *dst = src as libc::c_char;
        }
        let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        // SAFETY: socket/bind/listen/connect/accept with a valid sockaddr_un;
        // every fd made here is closed before returning.
        let seq_kind = unsafe {
            let listener = libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET, 0);
            assert_eq!(libc::bind(listener, (&raw const addr).cast(), len), 0);
            assert_eq!(libc::listen(listener, 1), 0);
            let client = libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET, 0);
            assert_eq!(libc::connect(client, (&raw const addr).cast(), len), 0);
            let conn = libc::accept(listener, std::ptr::null_mut(), std::ptr::null_mut());
            assert!(conn >= 0);
            let kind = fd_context(conn).unwrap().is_stream();
            for fd in [conn, client, listener] {
                libc::close(fd);
            }
            kind
        };
        let _ = std::fs::remove_file(&path);
        (tcp_kind, seq_kind)
    });
    assert_eq!(kinds, (true, false));
}

#[test]
fn a_plain_schedulers_fiber_keeps_nonblocking_and_whole_write_semantics_on_an_io_manager_thread() {
    // The same guest as above, on sockets of the I/O manager's: a socket the
    // user made non-blocking says WouldBlock at once (no timeout is set: a
    // read that blocked would never return), and one `write` bigger than the
    // send buffer (made small: loopback TCP's own may take megabytes at
    // once) returns only when all of it is written, as a blocking
    // write does, while a plain thread reads the other end.
    const BIG: usize = 4 << 20;
    let (tx, rx) = mpsc::channel();
    let events = in_fiber(move || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let quiet_peer = TcpStream::connect(addr).unwrap();
        let (quiet, _) = listener.accept().unwrap();
        let mut reading_peer = TcpStream::connect(addr).unwrap();
        let (busy, _) = listener.accept().unwrap();
        common::set_option(busy.as_raw_fd(), libc::SO_SNDBUF, &(16 << 10));
        common::set_option(reading_peer.as_raw_fd(), libc::SO_RCVBUF, &(16 << 10));
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            reading_peer.read_to_end(&mut got).map(|_| got.len())
        });
        let guest = Scheduler::new(1, true, "guest");
        guest.start().unwrap();
        let from_guest = tx.clone();
        guest
            .schedule(move || {
                let mut quiet = quiet;
                quiet.set_nonblocking(true).unwrap();
                let read = quiet.read(&mut [0; 8]).map_err(|e| e.kind());
                let data = vec![7u8; BIG];
                // SAFETY: a write from a valid buffer of BIG bytes.
                let wrote = unsafe { libc::write(busy.as_raw_fd(), data.as_ptr().cast(), BIG) };
                drop(busy);
                from_guest
                    .send(format!("guest: read {read:?}, wrote {wrote}"))
                    .unwrap();
            })
            .unwrap();
        guest.stop();
        drop(quiet_peer);
        let read = reader.join().unwrap().map_err(|e| e.kind());
        tx.send(format!("reader: {read:?}")).unwrap();
        rx.try_iter().collect::<Vec<_>>()
    });
    assert_eq!(
        events,
        [
            format!("guest: read Err(WouldBlock), wrote {BIG}"),
            format!("reader: Ok({BIG})")
        ]
    );
}
