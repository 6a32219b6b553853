//! The hooks are linked in, std's calls reach them, and the switch is per thread.

mod common;

use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;

use common::in_fiber;
use sylar_hook::{fd_context, is_hook_enabled, is_live, set_hook_enabled};

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
