//! The may_minihttp peer: a hello server on one may worker thread.
//!
//! may is a stackful-coroutine runtime, the closest peer to sylar's design:
//! one coroutine per connection, parked on epoll when a read would block.
//! may_minihttp writes `Server: M`, `Date` and `Content-Length` itself; we add
//! `Content-Type`. Its status line is fixed at `HTTP/1.1 200 Ok` (sic).

use std::io;

use may_minihttp::{HttpServer, HttpService, Request, Response};
use sylar_peers::{HELLO_BODY, HELLO_PATH, bind_addr};

/// The service: one clone per connection, no state.
#[derive(Clone, Debug)]
struct Hello;

impl HttpService for Hello {
    fn call(&mut self, req: Request, res: &mut Response) -> io::Result<()> {
        if req.method() == "GET" && req.path() == HELLO_PATH {
            res.header("Content-Type: text/plain").body(HELLO_BODY);
        } else {
            res.status_code(404, "Not Found").body("");
        }
        Ok(())
    }
}

fn main() {
    let addr = bind_addr("may_hello", "127.0.0.1:8082");
    // One worker, and let `taskset` decide the core: may pins its workers to
    // cores 0..n by default, which would fight an outside CPU mask.
    may::config().set_workers(1);
    may::config().set_worker_pin(false);
    let server = HttpServer(Hello).start(addr).unwrap_or_else(|e| {
        eprintln!("may_hello: bind {addr}: {e}");
        std::process::exit(1);
    });
    eprintln!("may_hello: listening on {addr} (may_minihttp, 1 worker)");
    if server.join().is_err() {
        eprintln!("may_hello: the accept coroutine panicked");
        std::process::exit(1);
    }
}
