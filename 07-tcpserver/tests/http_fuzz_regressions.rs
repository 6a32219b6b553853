//! Inputs the fuzzers (`07-tcpserver/fuzz`) found crashing the session, each
//! replayed through `serve_connection` on bytes in memory: one test per bug,
//! named by the behaviour it pins down.

use std::io::{self, Read, Write};

use sylar_tcpserver::http::{
    HttpLimits, HttpRequest, HttpResponse, ServletDispatch, SessionStats, serve_connection,
};

/// Serves `input` (all of it in one read) and returns what the session wrote.
fn serve(dispatch: &ServletDispatch, input: &[u8]) -> String {
    struct Memory<'a>(&'a [u8], Vec<u8>);
    impl Read for Memory<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.read(buf)
        }
    }
    impl sylar_tcpserver::http::SessionStream for Memory<'_> {}

    impl Write for Memory<'_> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.1.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut conn = Memory(input, Vec::new());
    let stats = SessionStats::new();
    serve_connection(&mut conn, dispatch, &HttpLimits::default(), "t", &stats).unwrap();
    String::from_utf8(conn.1).unwrap()
}

// ANCHOR: chunks_regression
/// Found by `http_request`: a servlet that appended chunks and then shortened
/// the body through `body_mut` made the encoder slice past the body's end, a
/// panic outside the servlet's `catch_unwind` that killed the connection's
/// fiber with no answer sent.
#[test]
fn a_body_shortened_after_its_chunks_is_sent_as_it_now_is() {
    let mut dispatch = ServletDispatch::new();
    dispatch.add_servlet("/s", |_: &HttpRequest, resp: &mut HttpResponse| {
        resp.append_chunk(b"abcd");
        resp.append_chunk(b"efgh");
        resp.body_mut().truncate(6);
    });
    let out = serve(&dispatch, b"GET /s HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out:?}");
    assert!(out.contains("Transfer-Encoding: chunked\r\n"), "{out:?}");
    assert!(
        out.ends_with("\r\n\r\n4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n"),
        "{out:?}"
    );
}
// ANCHOR_END: chunks_regression
