//! `HttpServer`: a TcpServer whose per-connection handler is the HTTP
//! session loop (sylar's `HttpServer::handleClient`).

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use sylar_iomanager::IoHandle;

use crate::connection::Connection;
use crate::http::{HttpLimits, ServletDispatch, SessionStats, lingering_close, serve_connection};
use crate::stream::Stream;

/// How long a closing connection may keep reading what its client still sends.
const LINGER: std::time::Duration = std::time::Duration::from_secs(2);
use crate::tcp_server::{ClientHandler, TcpServer};

// ANCHOR: http_app
/// What every connection of one HTTP server shares. Built once, read-only
/// afterwards: serving a request takes no lock.
struct HttpApp {
    dispatch: ServletDispatch,
    server_name: String,
    stats: Arc<SessionStats>,
}

/// The handler: one HTTP session per connection.
struct Sessions(Arc<HttpApp>);
// ANCHOR_END: http_app

// ANCHOR: handle_client
impl ClientHandler for Sessions {
    fn handle_client(&self, mut connection: Connection) {
        let app = &self.0;
        if let Err(e) = serve_connection(
            &mut connection,
            &app.dispatch,
            // Read per connection, so that a reloaded configuration
            // applies to the next connection.
            &HttpLimits::from_config(),
            &app.server_name,
            &app.stats,
        ) {
            log::debug!(target: "system", "http session with {}: {e}", connection.peer());
        }
        // Drain what the client still sends before closing, so that a
        // refusal (413, 400...) reaches it instead of being wiped by a reset.
        if let Stream::Tcp(stream) = &mut *connection {
            let _ = lingering_close(stream, LINGER);
        }
    }
}
// ANCHOR_END: handle_client

// ANCHOR: http_server
/// An HTTP/1.1 server: a [`TcpServer`] (which it dereferences to, for
/// `bind`, `start`, `stop`...) whose connections are HTTP sessions
/// dispatched to servlets.
#[derive(Clone)]
pub struct HttpServer {
    tcp: TcpServer,
    app: Arc<HttpApp>,
}
// ANCHOR_END: http_server

impl HttpServer {
    /// A server answering with `dispatch`, announcing itself as
    /// `server_name` in the `Server` header, with the limits from config.
    pub fn new(
        server_name: &str,
        dispatch: ServletDispatch,
        accept: &IoHandle,
        io: &IoHandle,
        worker: &IoHandle,
    ) -> HttpServer {
        let app = Arc::new(HttpApp {
            dispatch,
            server_name: server_name.to_string(),
            stats: Arc::new(SessionStats::default()),
        });
        let tcp = TcpServer::new(server_name, Sessions(app.clone()), accept, io, worker);
        HttpServer { tcp, app }
    }

    /// Request counters.
    pub fn stats(&self) -> &SessionStats {
        &self.app.stats
    }

    /// The limits in force (from the configuration, read afresh for each
    /// connection).
    pub fn limits(&self) -> HttpLimits {
        HttpLimits::from_config()
    }
}

impl Deref for HttpServer {
    type Target = TcpServer;
    fn deref(&self) -> &TcpServer {
        &self.tcp
    }
}

impl fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServer")
            .field("tcp", &self.tcp)
            .finish_non_exhaustive()
    }
}
