//! Helpers shared by the HTTP tests (included with `#[path = "common/http.rs"] mod common;`,
//! so that other test files keep `tests/common/mod.rs` for themselves): a test server that runs
//! `serve_connection` on a plain thread per connection, and a raw client that
//! reads responses with its own small parser (so that the server's framing is
//! checked by code that is not the server's).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use sylar_tcpserver::http::{
    HttpLimits, HttpRequest, HttpResponse, ServletDispatch, SessionStats, lingering_close,
    serve_connection,
};

/// Generous: machines are shared and slow; a hang still fails, just later.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The server name the test server sends.
pub const SERVER_NAME: &str = "sylar-test/0.1";

/// A server on 127.0.0.1:0: one thread accepts, one thread a connection runs
/// `serve_connection`, then closes with `lingering_close`.
pub struct TestServer {
    pub addr: SocketAddr,
    pub stats: Arc<SessionStats>,
    /// One message per connection that ended: what `serve_connection` returned.
    outcomes: Mutex<mpsc::Receiver<Result<(), String>>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Default limits, a read timeout of [`PATIENCE`].
    pub fn start(dispatch: ServletDispatch) -> TestServer {
        TestServer::start_with(dispatch, HttpLimits::default(), PATIENCE)
    }

    /// With the given limits and per-connection read timeout.
    pub fn start_with(
        dispatch: ServletDispatch,
        limits: HttpLimits,
        read_timeout: Duration,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(SessionStats::new());
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let dispatch = Arc::new(dispatch);
        let acceptor = {
            let (stats, stop) = (stats.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(mut conn) = conn else { continue };
                    let (dispatch, stats, tx) = (dispatch.clone(), stats.clone(), tx.clone());
                    std::thread::spawn(move || {
                        conn.set_read_timeout(Some(read_timeout)).unwrap();
                        conn.set_write_timeout(Some(PATIENCE)).unwrap();
                        let result =
                            serve_connection(&mut conn, &dispatch, &limits, SERVER_NAME, &stats);
                        // Report first: the linger below waits for the client to leave.
                        let _ = tx.send(result.map_err(|e| e.to_string()));
                        let _ = lingering_close(&mut conn, Duration::from_secs(5));
                    });
                }
            })
        };
        TestServer {
            addr,
            stats,
            outcomes: Mutex::new(rx),
            stop,
            acceptor: Some(acceptor),
        }
    }

    /// Waits for the next connection to end and returns what
    /// `serve_connection` returned for it.
    pub fn next_outcome(&self) -> Result<(), String> {
        self.outcomes
            .lock()
            .unwrap()
            .recv_timeout(PATIENCE)
            .expect("no connection ended in time")
    }

    /// A new raw connection, with a read timeout so that a hang fails.
    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream
    }

    /// A new connection as a writer and a buffered reader of the same socket,
    /// for a conversation of several requests.
    pub fn connect_split(&self) -> (TcpStream, BufReader<TcpStream>) {
        let stream = self.connect();
        let writer = stream.try_clone().unwrap();
        (writer, BufReader::new(stream))
    }

    /// Sends `request` on a new connection and reads until the server closes
    /// it; panics if it does not (the read times out).
    pub fn exchange(&self, request: &[u8]) -> Vec<u8> {
        let mut stream = self.connect();
        stream.write_all(request).unwrap();
        read_until_closed(&mut stream)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Reads everything until the peer closes; a timeout fails the test.
pub fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    stream
        .read_to_end(&mut all)
        .expect("the server did not close the connection");
    all
}

/// A response as the tests' own parser read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    pub status_line: String,
    pub status: u16,
    /// Names lowercased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body as it was on the wire (chunk framing included).
    pub wire_body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn count(&self, name: &str) -> usize {
        self.headers.iter().filter(|(n, _)| n == name).count()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads one response from `reader`, framed by its headers (`head_request`:
/// no body whatever they say). Panics on anything malformed.
pub fn read_response(reader: &mut impl BufRead, head_request: bool) -> RawResponse {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).unwrap();
        assert!(n > 0, "connection closed before a complete response head");
        assert!(line.ends_with("\r\n"), "line without CRLF: {line:?}");
        line.truncate(line.len() - 2);
        if line.is_empty() {
            break;
        }
        lines.push(line);
    }
    let status_line = lines.remove(0);
    let status = status_line[9..12].parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .iter()
        .map(|l| {
            let (n, v) = l.split_once(':').expect("header without colon");
            (n.to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    let mut response = RawResponse {
        status_line,
        status,
        headers,
        body: Vec::new(),
        wire_body: Vec::new(),
    };
    if head_request || status == 204 || status == 304 || status < 200 {
        return response;
    }
    if response.header("transfer-encoding") == Some("chunked") {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line).unwrap();
            response.wire_body.extend_from_slice(size_line.as_bytes());
            let size = usize::from_str_radix(size_line.trim_end(), 16).unwrap();
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).unwrap();
            response.wire_body.extend_from_slice(&chunk);
            assert!(chunk.ends_with(b"\r\n"));
            if size == 0 {
                break;
            }
            response.body.extend_from_slice(&chunk[..size]);
        }
    } else {
        let length: usize = response
            .header("content-length")
            .expect("a response without Content-Length or chunked")
            .parse()
            .unwrap();
        response.body = vec![0; length];
        reader.read_exact(&mut response.body).unwrap();
        response.wire_body = response.body.clone();
    }
    response
}

/// Parses every response in `bytes` (a connection's whole output).
pub fn parse_all(bytes: &[u8]) -> Vec<RawResponse> {
    let mut reader = BufReader::new(bytes);
    let mut responses = Vec::new();
    while !reader.fill_buf().unwrap().is_empty() {
        responses.push(read_response(&mut reader, false));
    }
    responses
}

/// Parses the single response in `bytes`, which must hold exactly one.
pub fn parse_one(bytes: &[u8]) -> RawResponse {
    let mut all = parse_all(bytes);
    assert_eq!(
        all.len(),
        1,
        "expected one response in {:?}",
        String::from_utf8_lossy(bytes)
    );
    all.remove(0)
}

/// A servlet that counts its calls and echoes the request: method, path,
/// query and body.
pub fn counting_echo(
    calls: Arc<AtomicUsize>,
) -> impl Fn(&HttpRequest, &mut HttpResponse) + Send + Sync + 'static {
    move |req: &HttpRequest, resp: &mut HttpResponse| {
        calls.fetch_add(1, Ordering::SeqCst);
        resp.set_content_type("application/octet-stream");
        resp.set_header("X-Method", req.method().as_str());
        resp.set_header("X-Path", req.path());
        resp.set_body(req.body().to_vec());
    }
}

/// A dispatch whose every route (`/*`) is a counting echo; returns the counter.
pub fn echo_everything() -> (ServletDispatch, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut dispatch = ServletDispatch::new();
    dispatch.add_glob_servlet("/*", counting_echo(calls.clone()));
    (dispatch, calls)
}

/// Sends `request` to a server whose every route is a counting echo, and
/// checks that it was refused with `status`: exactly one response, with
/// `Connection: close`, the connection closed after it, and no servlet run.
pub fn assert_refused(request: &[u8], status: u16) {
    let (dispatch, calls) = echo_everything();
    let server = TestServer::start(dispatch);
    let all = server.exchange(request);
    let resp = parse_one(&all);
    let shown = String::from_utf8_lossy(request);
    assert_eq!(resp.status, status, "for {shown:?}: {}", resp.text());
    assert_eq!(resp.header("connection"), Some("close"), "for {shown:?}");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "a servlet ran for {shown:?}"
    );
    assert_eq!(server.stats.snapshot().requests, 0);
    assert_eq!(server.stats.snapshot().bad_requests, 1);
    assert_eq!(server.next_outcome(), Ok(()));
}
