//! HTTP/1.1 for chapter 7: requests and responses, the session loop that
//! serves one connection, servlets, and a small client.
//!
//! sylar's `HttpServer::handleClient` reads a request, lets a servlet answer
//! it, sends the response, and loops while the connection is kept alive.
//! [`serve_connection`] is that loop, written against `Read + Write` (and
//! [`SessionStream`], to keep a slow reader to a minimum rate) so that it runs
//! unchanged on a hooked socket in a fiber, on a plain thread, or on bytes
//! in memory.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::{TcpListener, TcpStream};
//! use sylar_tcpserver::http::{
//!     serve_connection, HttpLimits, HttpRequest, HttpResponse, ServletDispatch, SessionStats,
//! };
//!
//! let mut dispatch = ServletDispatch::new();
//! dispatch.add_servlet("/hello", |req: &HttpRequest, resp: &mut HttpResponse| {
//!     let name = req.query_param("name").unwrap_or_else(|| "world".into());
//!     resp.set_content_type("text/plain");
//!     resp.set_body(format!("hello, {name}\n"));
//! });
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! let server = std::thread::spawn(move || {
//!     let (mut conn, _) = listener.accept().unwrap();
//!     let stats = SessionStats::new();
//!     serve_connection(&mut conn, &dispatch, &HttpLimits::default(), "doc", &stats).unwrap();
//! });
//!
//! let mut client = TcpStream::connect(addr)?;
//! client.write_all(b"GET /hello?name=sylar HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
//! let mut response = String::new();
//! client.read_to_string(&mut response)?;
//! assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(response.contains("Content-Length: 13\r\n"));
//! assert!(response.ends_with("\r\n\r\nhello, sylar\n"));
//! server.join().unwrap();
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## Layout
//! - `method`, `version`, `headers`: [`Method`], [`Version`], [`Headers`].
//! - `request`, `query`: [`HttpRequest`], and decoding its query string.
//! - `response`, `status`: [`HttpResponse`], reason phrases.
//! - `limits`: [`HttpLimits`], from the configuration.
//! - `buffer`: the read buffer that keeps pipelined bytes.
//! - `parse`: the request head through `httparse`.
//! - `framing`: how the body is delimited, and the rules that stop request
//!   smuggling.
//! - `body`: `Content-Length` and chunked bodies.
//! - `encode`, `date`: writing a response; the `Date` header cached per second.
//! - `error`: the statuses a request is refused with.
//! - `session`, `stats`: [`serve_connection`], [`SessionStats`].
//! - `session_stream`: [`SessionStream`], what the session needs from a
//!   connection beyond `Read + Write`.
//! - `send_pace`: the minimum rate a client must take
//!   a response at.
//! - `linger`: [`lingering_close`], nginx's way to close after an error.
//! - `servlet`, `dispatch`: [`Servlet`], [`FunctionServlet`],
//!   [`NotFoundServlet`], [`ServletDispatch`].
//! - `client`, `deadline`: [`HttpConnection`], [`ClientResponse`]; the
//!   socket with a deadline over a whole exchange.

mod body;
mod buffer;
mod client;
mod date;
mod deadline;
mod dispatch;
mod encode;
mod error;
mod framing;
mod headers;
mod limits;
mod linger;
mod method;
mod parse;
mod query;
mod request;
mod response;
mod send_pace;
mod servlet;
mod session;
mod session_stream;
mod stats;
mod status;
mod version;
mod words;

pub use client::{ClientResponse, HttpConnection};
pub use dispatch::ServletDispatch;
pub use headers::Headers;
pub use limits::HttpLimits;
pub use linger::lingering_close;
pub use method::{InvalidMethod, Method};
pub use query::percent_decode;
pub use request::HttpRequest;
pub use response::HttpResponse;
pub use servlet::{FunctionServlet, NotFoundServlet, Servlet};
pub use session::serve_connection;
pub use session_stream::SessionStream;
pub(crate) use session_stream::{abort_tcp, unread_by_tcp_peer};
pub use stats::{SessionStats, StatsSnapshot};
pub use status::reason_phrase;
pub use version::Version;
