//! # sylar-tcpserver — chapter 7: TcpServer, HttpServer, servlets
//!
//! sylar's last layer, and the reason for all the others: a server whose
//! per-connection code is plain blocking-style Rust. [`TcpServer`] binds
//! addresses, runs one accept fiber per listening socket and a fiber per
//! connection, and hands each connection to a [`ClientHandler`] (sylar's
//! virtual `handleClient`). [`HttpServer`] is a TcpServer whose handler is
//! the HTTP/1.1 session loop of the [`http`] module, which dispatches each
//! request to a servlet. The `sylar` program ([`program`]) runs one with
//! sylar's built-in pages ([`builtin`]).
//!
//! ```
//! use sylar_iomanager::IoManager;
//! use sylar_tcpserver::HttpServer;
//! use sylar_tcpserver::http::{HttpConnection, HttpRequest, HttpResponse, ServletDispatch};
//!
//! let iom = IoManager::new(1, false, "doc").unwrap();
//! let mut dispatch = ServletDispatch::new();
//! dispatch.add_servlet("/hello", |_: &HttpRequest, resp: &mut HttpResponse| {
//!     resp.set_body("Hello World");
//! });
//! let server = HttpServer::new("doc", dispatch, &iom, &iom, &iom);
//! server.bind(&["127.0.0.1:0".parse().unwrap()]).unwrap();
//! server.start().unwrap();
//! let addr = server.local_addresses()[0].to_string();
//! let mut client = HttpConnection::connect(addr.as_str(), std::time::Duration::from_secs(10)).unwrap();
//! let response = client.get("/hello").unwrap();
//! assert_eq!((response.status, &response.body[..]), (200, &b"Hello World"[..]));
//! server.stop(std::time::Duration::from_secs(5));
//! iom.stop();
//! ```
//!
//! ## Layout
//! - `address`, `stream`: [`Address`] (IPv4, IPv6, Unix) and [`Stream`].
//! - `connection`: [`Connection`], an accepted stream registered with its server.
//! - `accept`: the accept loop, with EMFILE shedding.
//! - `tcp_server`: [`TcpServer`], [`ClientHandler`], [`BindError`].
//! - [`http`]: requests, responses, the session loop, servlets, the client.
//! - `http_server`: [`HttpServer`].
//! - [`builtin`]: the `sylar` program's pages; [`program`]: its command line and run loop.

// Link the hooks: without a use of the crate, its interposed libc functions
// would not be linked in, and every "blocking" call would block a thread.
use sylar_hook as _;

mod accept;
pub mod address;
pub mod builtin;
mod connection;
pub mod http;
mod http_server;
pub mod program;
mod stream;
mod tcp_server;

pub use address::{Address, AddressError};
pub use connection::Connection;
pub use http_server::HttpServer;
pub use stream::Stream;
pub use tcp_server::{BindError, ClientHandler, TcpServer, register_config};
