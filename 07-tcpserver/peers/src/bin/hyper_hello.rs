//! The tokio + hyper 1.x peer: a hello server on a current-thread runtime.
//!
//! One thread runs the accept loop and every connection, as the chapter's
//! server runs with `--threads 1`. hyper adds `Date` (cached per second) and
//! `Content-Length` itself; we add `Content-Type` and `Server` so the header
//! set matches ours, and ask for title-case header names so the bytes match
//! too (hyper writes lower case by default).

use std::convert::Infallible;
use std::time::Duration;

use bytes_body::{Body, hello, not_found};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use sylar_peers::{HELLO_PATH, bind_addr};
use tokio::net::TcpListener;

/// Response bodies, built once per request from static bytes (no copy).
mod bytes_body {
    use http_body_util::Full;
    use hyper::body::Bytes;
    use hyper::header::{CONTENT_TYPE, SERVER};
    use hyper::{Response, StatusCode};
    use sylar_peers::HELLO_BODY;

    /// The body type every response uses.
    pub type Body = Full<Bytes>;

    /// `200 OK`, `Hello World`.
    pub fn hello() -> Response<Body> {
        let mut res = Response::new(Full::new(Bytes::from_static(HELLO_BODY.as_bytes())));
        let headers = res.headers_mut();
        headers.insert(CONTENT_TYPE, "text/plain".parse().expect("static header"));
        headers.insert(SERVER, "hyper".parse().expect("static header"));
        res
    }

    /// `404 Not Found`, empty body.
    pub fn not_found() -> Response<Body> {
        let mut res = Response::new(Full::new(Bytes::new()));
        *res.status_mut() = StatusCode::NOT_FOUND;
        res
    }
}

async fn route(req: Request<hyper::body::Incoming>) -> Result<Response<Body>, Infallible> {
    Ok(
        if req.method() == Method::GET && req.uri().path() == HELLO_PATH {
            hello()
        } else {
            not_found()
        },
    )
}

async fn serve(listener: TcpListener) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // EMFILE and friends: say so, back off a little, carry on.
                eprintln!("hyper_hello: accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::task::spawn(async move {
            let conn = http1::Builder::new()
                .title_case_headers(true)
                .serve_connection(TokioIo::new(stream), service_fn(route));
            if let Err(e) = conn.await
                && !e.is_incomplete_message()
            {
                eprintln!("hyper_hello: connection: {e}");
            }
        });
    }
}

fn main() {
    let addr = bind_addr("hyper_hello", "127.0.0.1:8081");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build the tokio runtime");
    runtime.block_on(async {
        let listener = TcpListener::bind(addr).await.unwrap_or_else(|e| {
            eprintln!("hyper_hello: bind {addr}: {e}");
            std::process::exit(1);
        });
        eprintln!("hyper_hello: listening on {addr} (tokio current-thread, hyper http1)");
        serve(listener).await;
    });
}
