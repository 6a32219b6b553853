//! In steady state a session allocates nothing per request: the read and
//! write buffers, the request and the response are reused, the head is parsed
//! in place, the `Date` is cached. Measured with a counting allocator: serving
//! 2,000 requests costs exactly as many allocations as serving 200.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{self, Read, Write};

use sylar_tcpserver::http::{
    HttpLimits, HttpRequest, HttpResponse, ServletDispatch, SessionStats, serve_connection,
};

thread_local! {
    /// Allocations made by this thread (const, no destructor: usable from
    /// inside the allocator).
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, counting each thread's allocations.
struct Counting;

// SAFETY: every call is forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counter is a thread-local `Cell` that neither
// allocates nor panics (`try_with` fails quietly during thread teardown).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's `layout` contract is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through `alloc`/`realloc` above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: as for `dealloc`, and `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A connection in memory: reads come from `input`, writes are counted and
/// dropped (so the test's own side allocates nothing).
struct Memory<'a> {
    input: &'a [u8],
    written: usize,
}

impl Read for Memory<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Memory<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Allocations made while serving `rounds` rounds of four pipelined requests
/// (a GET, a POST with a length, a chunked POST, a 404) on one connection.
fn allocations_for(rounds: usize, dispatch: &ServletDispatch) -> (u64, usize) {
    let round = "GET /hello?x=1 HTTP/1.1\r\nHost: t\r\nAccept: */*\r\nUser-Agent: test\r\n\r\n\
                 POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world\
                 POST /hello HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n\
                 GET /missing HTTP/1.1\r\nHost: t\r\n\r\n";
    let input = round.repeat(rounds);
    let limits = HttpLimits::default();
    let stats = SessionStats::new();
    let mut conn = Memory {
        input: input.as_bytes(),
        written: 0,
    };
    let before = ALLOCATIONS.with(Cell::get);
    serve_connection(&mut conn, dispatch, &limits, "alloc-test", &stats).unwrap();
    let after = ALLOCATIONS.with(Cell::get);
    assert_eq!(stats.snapshot().requests, 4 * rounds as u64);
    (after - before, conn.written)
}

#[test]
fn steady_state_requests_allocate_nothing() {
    let mut dispatch = ServletDispatch::new();
    dispatch.add_servlet("/hello", |req: &HttpRequest, resp: &mut HttpResponse| {
        resp.set_content_type("text/plain");
        resp.set_header("X-Length", if req.body().is_empty() { "0" } else { "some" });
        resp.append_body(b"hello, world\n");
        resp.append_body(req.body());
    });
    // Warm up this thread (the Date cache, the allocator's own state).
    allocations_for(10, &dispatch);
    let (small, small_bytes) = allocations_for(50, &dispatch);
    let (large, large_bytes) = allocations_for(500, &dispatch);
    assert_eq!(large_bytes, small_bytes * 10, "every response was written");
    assert_eq!(
        small, large,
        "allocations grew with the number of requests: {small} for 200, {large} for 2,000"
    );
}
