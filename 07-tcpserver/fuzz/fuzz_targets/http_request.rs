//! The request parser: arbitrary bytes arrive in one read, as one or more
//! pipelined requests, on a server with the default limits. Nothing may
//! panic, and every byte written back must be well-framed responses, one per
//! request a servlet saw, plus at most one refusal that closes the connection.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sylar_tcpserver::http::{SessionStats, serve_connection};
use sylar_tcpserver_fuzz::{Wire, check_responses, limits, scripted_dispatch, take_calls};

// ANCHOR: http_request_target
fuzz_target!(|input: &[u8]| {
    sylar_tcpserver_fuzz::allow_servlet_panics();
    let dispatch = scripted_dispatch();
    let stats = SessionStats::new();
    let mut wire = Wire::whole(input);
    let _ = serve_connection(&mut wire, dispatch, &limits(false), "fuzz", &stats);
    check_responses(&wire.output, &take_calls());
});
// ANCHOR_END: http_request_target
