//! In steady state a session allocates nothing per request: the read and
//! write buffers, the request and the response are reused, the head is parsed
//! in place, the `Date` is cached. Measured with a counting allocator: serving
//! 2,000 requests costs exactly as many allocations as serving 200.

#[path = "common/counting.rs"]
mod counting;

use counting::{Counting, Memory, allocated};
use sylar_tcpserver::http::{
    HttpLimits, HttpRequest, HttpResponse, ServletDispatch, SessionStats, serve_connection,
};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made while serving `rounds` rounds of four pipelined requests
/// (a GET, a POST with a length, a chunked POST, a 404) on one connection.
fn allocations_for(rounds: usize, dispatch: &ServletDispatch) -> (u64, u64) {
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
    let (before, _) = allocated();
    serve_connection(&mut conn, dispatch, &limits, "alloc-test", &stats).unwrap();
    let (after, _) = allocated();
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
