//! The session loop: the first 4 bytes shape the connection (read sizes from
//! 1 byte up, partial writes, a read that fails once with a timeout, a reset
//! or an interrupt, writes that start failing, small or default limits), the
//! rest is what the client sends. Nothing may panic or hang; with whole
//! writes, the output must read back as well-framed responses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sylar_tcpserver::http::{SessionStats, serve_connection};
use sylar_tcpserver_fuzz::{Wire, check_responses, limits, scripted_dispatch, take_calls};

// ANCHOR: http_session_target
fuzz_target!(|input: &[u8]| {
    sylar_tcpserver_fuzz::allow_servlet_panics();
    let Some((control, bytes)) = input.split_first_chunk::<4>() else {
        return;
    };
    let dispatch = scripted_dispatch();
    let stats = SessionStats::new();
    let mut wire = Wire::shaped(*control, bytes);
    let _ = serve_connection(
        &mut wire,
        dispatch,
        &limits(control[3] & 0x20 != 0),
        "fuzz",
        &stats,
    );
    let calls = take_calls();
    if wire.writes_are_whole() {
        check_responses(&wire.output, &calls);
    }
});
// ANCHOR_END: http_session_target
