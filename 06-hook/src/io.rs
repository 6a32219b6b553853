//! The hooked reads and writes: each is the real function wrapped in `do_io`.
//!
//! std's `TcpStream::read` calls `recv(fd, buf, len, 0)` and `write` calls
//! `send(.., MSG_NOSIGNAL)`; `read_vectored`/`write_vectored` call `readv`/
//! `writev`; UDP uses `recvfrom`/`sendto`. We hook all of them and the plain
//! `read`/`write` that C code uses on sockets.

use libc::{c_int, c_void, iovec, msghdr, size_t, sockaddr, socklen_t, ssize_t};
use sylar_iomanager::Event;

use crate::do_io::{do_io, do_io_on, do_io_until, emulates_blocking_stream};
use crate::fd_manager::TimeoutKind::{Recv, Send};
use crate::fd_manager::{self, FdCtx};
use crate::original::{Via, direct, real};

// ANCHOR: read_len
/// The buffer size that lets a short read mark the socket drained; none for
/// a peek, which leaves the data where it is.
fn read_len(len: size_t, flags: c_int) -> Option<usize> {
    (flags & libc::MSG_PEEK == 0).then_some(len)
}
// ANCHOR_END: read_len

// ANCHOR: write_whole
/// A blocking write on a stream socket writes everything before it returns
/// (unless a timeout or an error cuts it short, when it reports what it
/// wrote). A non-blocking one writes what fits. When we park, we keep
/// writing the rest so that the caller sees the blocking behaviour. The fd's
/// context is looked up once, for this choice and every `do_io` after it.
fn write_whole(
    fd: c_int,
    len: size_t,
    mut write_from: impl FnMut(usize, Via) -> ssize_t,
) -> ssize_t {
    let ctx = fd_manager::lookup(fd);
    if !emulates_blocking_stream(ctx) {
        return do_io_on(fd, ctx, Event::Write, Send, None, |via| write_from(0, via));
    }
    transfer_whole(
        fd,
        ctx,
        Event::Write,
        len,
        |_| None,
        |done, _, via| write_from(done, via),
    )
}

/// Repeats a transfer until `len` bytes have moved, one moves 0 (end of
/// stream, or nothing more to write), or one fails: then what moved before
/// is the result, or -1 if nothing did. `call(done, rest, via)` transfers at
/// most `rest` bytes at offset `done`; `read_len(rest)` is what `do_io` is
/// told about a read's buffer; `ctx` is `fd`'s context. The timeout bounds
/// the whole transfer, as the kernel's does a blocking `send` or
/// `MSG_WAITALL` receive, so a peer that takes a few bytes now and then
/// cannot stretch it: one deadline serves every call, and a socket the
/// kernel blocks on gets a single call.
fn transfer_whole(
    fd: c_int,
    ctx: Option<&FdCtx>,
    event: Event,
    len: size_t,
    read_len: impl Fn(usize) -> Option<usize>,
    mut call: impl FnMut(usize, usize, Via) -> ssize_t,
) -> ssize_t {
    let kind = match event {
        Event::Read => Recv,
        Event::Write => Send,
    };
    let mut done = 0usize;
    let mut deadline = None;
    loop {
        let rest = len.saturating_sub(done);
        let n = do_io_until(fd, ctx, event, kind, read_len(rest), &mut deadline, |via| {
            call(done, rest, via)
        });
        if n < 0 {
            return if done > 0 { done as ssize_t } else { -1 };
        }
        done += n as usize;
        // A socket the kernel blocks on (used off a fiber, never made
        // non-blocking): that call was the whole blocking call, and a short
        // count is the kernel's answer (its timeout ran out, or a signal
        // came), not "what fitted": calling again would restart its timeout.
        if done >= len || n == 0 || ctx.is_some_and(|ctx| !ctx.sys_nonblock()) {
            return done as ssize_t;
        }
    }
}
// ANCHOR_END: write_whole

// ANCHOR: dont_wait
/// A caller that passes MSG_DONTWAIT asks for this one call not to block:
/// give it the real function, EAGAIN and all.
fn dont_wait(flags: c_int) -> bool {
    flags & libc::MSG_DONTWAIT != 0
}
// ANCHOR_END: dont_wait

// ANCHOR: read
/// Hooked `read(2)`.
///
/// # Safety
/// The same contract as libc's `read`: `buf` is valid for `count` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, count: size_t) -> ssize_t {
    // SAFETY: the real function (or its system call), with the caller's
    // arguments and contract.
    let call = |via: Via| unsafe { via.pick(real::read(), direct::read)(fd, buf, count) };
    do_io(fd, Event::Read, Recv, Some(count), call)
}
// ANCHOR_END: read

/// Hooked `readv(2)`.
///
/// # Safety
/// The same contract as libc's `readv`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn readv(fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t {
    // SAFETY: the real function (or its system call), with the caller's
    // arguments and contract.
    let call = |via: Via| unsafe { via.pick(real::readv(), direct::readv)(fd, iov, iovcnt) };
    do_io(fd, Event::Read, Recv, None, call)
}

// ANCHOR: recv
/// Hooked `recv(2)`: what std's `TcpStream::read` calls.
///
/// # Safety
/// The same contract as libc's `recv`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t {
    // SAFETY: the real function (or its system call), with the caller's
    // arguments and contract.
    let call = |via: Via| unsafe { via.pick(real::recv(), direct::recv)(fd, buf, len, flags) };
    if dont_wait(flags) {
        return call(Via::Libc);
    }
    if let Some(ctx) = wait_all(fd, flags) {
        return recv_whole(fd, ctx, len, flags, |done, rest, via| {
            let recv = via.pick(real::recv(), direct::recv);
            // SAFETY: `done + rest == len`: the rest of the caller's buffer.
            unsafe { recv(fd, buf.cast::<u8>().add(done).cast(), rest, flags) }
        });
    }
    do_io(fd, Event::Read, Recv, read_len(len, flags), call)
}
// ANCHOR_END: recv

// ANCHOR: recv_whole
/// The descriptor's context when `MSG_WAITALL` asks for the whole length on
/// a socket whose blocking we emulate (the non-blocking call underneath
/// ignores the flag and returns what is there, so we go on ourselves);
/// `None` otherwise. Looked up only when the flag is there.
fn wait_all(fd: c_int, flags: c_int) -> Option<&'static FdCtx> {
    if flags & libc::MSG_WAITALL == 0 || flags & libc::MSG_PEEK != 0 {
        return None;
    }
    fd_manager::lookup(fd).filter(|&ctx| emulates_blocking_stream(Some(ctx)))
}

/// Reads until `len` bytes, the end of the stream, or an error, as a
/// blocking `MSG_WAITALL` receive does: an error or a timeout after some
/// bytes returns those bytes. `call(done, rest, via)` reads into the buffer
/// at offset `done`, at most `rest` bytes; `ctx` is what [`wait_all`] found.
fn recv_whole(
    fd: c_int,
    ctx: &FdCtx,
    len: size_t,
    flags: c_int,
    call: impl FnMut(usize, usize, Via) -> ssize_t,
) -> ssize_t {
    transfer_whole(
        fd,
        Some(ctx),
        Event::Read,
        len,
        |rest| read_len(rest, flags),
        call,
    )
}
// ANCHOR_END: recv_whole

/// Hooked `recvfrom(2)`: UDP receives.
///
/// # Safety
/// The same contract as libc's `recvfrom`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    addrlen: *mut socklen_t,
) -> ssize_t {
    let recvfrom = |via: Via| via.pick(real::recvfrom(), direct::recvfrom);
    // SAFETY: the real function (or its system call), with the caller's
    // arguments and contract.
    let call = |via: Via| unsafe { recvfrom(via)(fd, buf, len, flags, addr, addrlen) };
    if dont_wait(flags) {
        return call(Via::Libc);
    }
    if let Some(ctx) = wait_all(fd, flags) {
        return recv_whole(fd, ctx, len, flags, |done, rest, via| {
            // SAFETY: `done + rest == len`: the rest of the caller's buffer;
            // `addr` and `addrlen` as the caller gave them.
            unsafe {
                let at = buf.cast::<u8>().add(done).cast();
                recvfrom(via)(fd, at, rest, flags, addr, addrlen)
            }
        });
    }
    do_io(fd, Event::Read, Recv, read_len(len, flags), call)
}

/// Hooked `recvmsg(2)`.
///
/// # Safety
/// The same contract as libc's `recvmsg`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    // SAFETY: the real function (or its system call), with the caller's
    // arguments and contract.
    let call = |via: Via| unsafe { via.pick(real::recvmsg(), direct::recvmsg)(fd, msg, flags) };
    if dont_wait(flags) {
        return call(Via::Libc);
    }
    do_io(fd, Event::Read, Recv, None, call)
}

/// Hooked `write(2)`.
///
/// # Safety
/// The same contract as libc's `write`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, count: size_t) -> ssize_t {
    // SAFETY: the real function (or its system call), with the caller's
    // arguments and contract; `from <= count`.
    let call = |from: usize, via: Via| unsafe {
        via.pick(real::write(), direct::write)(fd, buf.cast::<u8>().add(from).cast(), count - from)
    };
    write_whole(fd, count, call)
}

/// Hooked `writev(2)`.
///
/// # Safety
/// The same contract as libc's `writev`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn writev(fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t {
    // SAFETY: the real function (or its system call), with the caller's
    // arguments and contract.
    let call = |via: Via| unsafe { via.pick(real::writev(), direct::writev)(fd, iov, iovcnt) };
    do_io(fd, Event::Write, Send, None, call)
}

// ANCHOR: send
/// Hooked `send(2)`: what std's `TcpStream::write` calls.
///
/// # Safety
/// The same contract as libc's `send`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t {
    // SAFETY: the real function (or its system call), with the caller's
    // arguments and contract; `from <= len`.
    let call = |from: usize, via: Via| unsafe {
        let send = via.pick(real::send(), direct::send);
        send(fd, buf.cast::<u8>().add(from).cast(), len - from, flags)
    };
    if dont_wait(flags) {
        return call(0, Via::Libc);
    }
    write_whole(fd, len, call)
}
// ANCHOR_END: send

/// Hooked `sendto(2)`: UDP sends.
///
/// # Safety
/// The same contract as libc's `sendto`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    addr: *const sockaddr,
    addrlen: socklen_t,
) -> ssize_t {
    // SAFETY: the real function (or its system call), with the caller's
    // arguments and contract.
    let call = |via: Via| unsafe {
        via.pick(real::sendto(), direct::sendto)(fd, buf, len, flags, addr, addrlen)
    };
    if dont_wait(flags) {
        return call(Via::Libc);
    }
    do_io(fd, Event::Write, Send, None, call)
}

/// Hooked `sendmsg(2)`.
///
/// # Safety
/// The same contract as libc's `sendmsg`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    // SAFETY: the real function (or its system call), with the caller's
    // arguments and contract.
    let call = |via: Via| unsafe { via.pick(real::sendmsg(), direct::sendmsg)(fd, msg, flags) };
    if dont_wait(flags) {
        return call(Via::Libc);
    }
    do_io(fd, Event::Write, Send, None, call)
}
