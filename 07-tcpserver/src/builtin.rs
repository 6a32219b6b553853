//! The servlets the `sylar` program serves, as sylar's built-ins do: a
//! welcome page, `/hello`, `/echo`, `/_/status` and `/_/config`.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::http::{HttpRequest, HttpResponse, ServletDispatch};
use crate::http_server::HttpServer;

/// The body of `/hello`: 11 bytes, the figure every benchmark peer answers.
pub const HELLO: &[u8] = b"Hello World";

/// The `Server` header value.
pub const SERVER_NAME: &str = concat!("sylar-rs/", env!("CARGO_PKG_VERSION"));

const WELCOME: &str = "<!DOCTYPE html>
<html><head><meta charset=\"utf-8\"><title>sylar-rs</title></head>
<body>
<h1>sylar-rs is running</h1>
<p>A coroutine server in Rust: fibers, an epoll I/O manager, hooked libc calls,
and this HTTP server on top. Every page below is a servlet.</p>
<ul>
<li><a href=\"/hello\">/hello</a> &mdash; the benchmark page</li>
<li><a href=\"/echo?say=hi\">/echo</a> &mdash; echoes a POST body or the query string</li>
<li><a href=\"/_/status\">/_/status</a> &mdash; uptime, connections, fibers, requests</li>
<li><a href=\"/_/config\">/_/config</a> &mdash; every configuration variable, as YAML</li>
</ul>
</body></html>
";

/// Where the status page finds the running server, set once it exists
/// (the servlets are built before the server that serves them).
pub type ServerSlot = Arc<OnceLock<HttpServer>>;

// ANCHOR: builtin
/// The dispatch of the `sylar` program: built-in pages, and the status page
/// reading `server` once it is set.
pub fn dispatch(server: ServerSlot) -> ServletDispatch {
    let started = Instant::now();
    let mut dispatch = ServletDispatch::new();
    dispatch.add_servlet("/", |_: &HttpRequest, resp: &mut HttpResponse| {
        resp.set_content_type("text/html; charset=utf-8");
        resp.append_body(WELCOME.as_bytes());
    });
    // `append_body` copies into the body buffer the connection reuses;
    // `set_body(HELLO)` would allocate a new one for every request.
    dispatch.add_servlet("/hello", |_: &HttpRequest, resp: &mut HttpResponse| {
        resp.set_content_type("text/plain");
        resp.append_body(HELLO);
    });
    dispatch.add_servlet("/echo", echo);
    dispatch.add_servlet(
        "/_/status",
        move |_: &HttpRequest, resp: &mut HttpResponse| {
            resp.set_content_type("text/plain; charset=utf-8");
            resp.set_body(status(server.get(), started));
        },
    );
    dispatch.add_servlet("/_/config", |_: &HttpRequest, resp: &mut HttpResponse| {
        resp.set_content_type("text/yaml; charset=utf-8");
        resp.set_body(sylar_config::global().dump_yaml());
    });
    dispatch
}
// ANCHOR_END: builtin

/// `/echo`: a POST body comes back as it is; otherwise the query string.
fn echo(req: &HttpRequest, resp: &mut HttpResponse) {
    if req.body().is_empty() {
        resp.set_content_type("text/plain; charset=utf-8");
        resp.set_body(req.query().unwrap_or("").as_bytes().to_vec());
    } else {
        let kind = req
            .header("content-type")
            .unwrap_or("application/octet-stream")
            .to_string();
        resp.set_content_type(&kind);
        resp.set_body(req.body().to_vec());
    }
}

// ANCHOR: status
/// The status page: `name: value` lines.
fn status(server: Option<&HttpServer>, started: Instant) -> String {
    let mut page = String::new();
    let _ = writeln!(page, "server: {SERVER_NAME}");
    let _ = writeln!(page, "uptime_seconds: {}", started.elapsed().as_secs());
    if let Some(server) = server {
        let stats = server.stats().snapshot();
        let _ = writeln!(page, "connections: {}", server.connections());
        let _ = writeln!(page, "connections_accepted: {}", server.accepted());
        let _ = writeln!(page, "connections_shed: {}", server.shed());
        let _ = writeln!(page, "requests: {}", stats.requests);
        let _ = writeln!(page, "bad_requests: {}", stats.bad_requests);
        let _ = writeln!(page, "panics: {}", stats.panics);
        let _ = writeln!(page, "slow_readers: {}", stats.slow_readers);
    }
    let _ = writeln!(page, "fibers: {}", sylar_fiber::Fiber::live_count());
    let _ = writeln!(
        page,
        "threads: {}",
        server.map_or(0, |s| s.io().scheduler().worker_count())
    );
    page
}
// ANCHOR_END: status
