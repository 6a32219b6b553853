//! `TcpServer`: listening sockets, accept fibers, a fiber per connection,
//! and a stop that lets connections finish.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sylar_iomanager::{Event, IoHandle};

use crate::accept::accept_loop;
use crate::address::Address;
use crate::connection::{Connection, Registry};
use crate::stream::{Listener, Stream};

// ANCHOR: handler
/// What a server does with each connection: sylar's virtual
/// `TcpServer::handleClient`, as a trait. It runs in a fiber of its own on
/// the server's io scheduler, so it can use blocking-style I/O freely.
pub trait ClientHandler: Send + Sync + 'static {
    /// Serves one connection; the connection closes when it is dropped.
    fn handle_client(&self, connection: Connection);
}
// ANCHOR_END: handler

/// A millisecond config variable mirrored in an atomic (read per connection).
struct Millis {
    name: &'static str,
    description: &'static str,
    value: AtomicU64,
    registered: OnceLock<()>,
}

impl Millis {
    const fn new(name: &'static str, default: u64, description: &'static str) -> Millis {
        Millis {
            name,
            description,
            value: AtomicU64::new(default),
            registered: OnceLock::new(),
        }
    }

    fn get(&'static self) -> Duration {
        self.registered.get_or_init(|| {
            let default = self.value.load(Ordering::Relaxed);
            if let Ok(var) = sylar_config::lookup(self.name, default, self.description) {
                self.value.store(var.get(), Ordering::Relaxed);
                var.add_listener(|_, &new| self.value.store(new, Ordering::Relaxed));
            }
        });
        Duration::from_millis(self.value.load(Ordering::Relaxed))
    }
}

// ANCHOR: config_timeouts
/// The receive timeout of accepted connections (120 s, as in sylar).
static READ_TIMEOUT: Millis = Millis::new(
    "tcp_server.read_timeout",
    120_000,
    "milliseconds a connection may stay silent before it is closed (0: no limit)",
);

/// The send timeout of accepted connections: a client that stops reading
/// cannot hold a fiber for ever.
static WRITE_TIMEOUT: Millis = Millis::new(
    "tcp_server.write_timeout",
    120_000,
    "milliseconds a write to a connection may wait for the client to read (0: no limit)",
);

/// Registers the configuration variables of the server chapters (the
/// timeouts here, the hook's `tcp.connect.timeout`, the fibers' stack size):
/// call it before loading a configuration, so that a value of the wrong type
/// is refused by the load instead of being noticed later.
pub fn register_config() {
    sylar_fiber::init();
    sylar_hook::init();
    READ_TIMEOUT.get();
    WRITE_TIMEOUT.get();
}
// ANCHOR_END: config_timeouts

/// The state the server shares with its accept and connection fibers.
pub(crate) struct Inner {
    pub name: String,
    accept: IoHandle,
    io: IoHandle,
    worker: IoHandle,
    handler: Arc<dyn ClientHandler>,
    listeners: Mutex<Vec<Arc<Listener>>>,
    pub stopping: AtomicBool,
    started: AtomicBool,
    /// Accept fibers still running.
    pub accepting: AtomicUsize,
    connections: Arc<Registry>,
    accepted: AtomicU64,
    /// Connections closed at once because the process was out of fds.
    pub shed: AtomicU64,
}

// ANCHOR: server
/// A TCP (and Unix-socket) server in sylar's main/sub-reactor shape, with
/// fibers: accept fibers on the `accept` scheduler, one fiber per connection
/// on `io`, and a `worker` scheduler for compute handed off by handlers. The
/// three may be one and the same I/O manager.
#[derive(Clone)]
pub struct TcpServer {
    inner: Arc<Inner>,
}
// ANCHOR_END: server

// ANCHOR: bind_error
/// The addresses that could not be bound, each with its reason. The others
/// stay bound.
#[derive(Debug)]
pub struct BindError {
    /// Each failed address and why.
    pub failed: Vec<(Address, io::Error)>,
}
// ANCHOR_END: bind_error

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot bind")?;
        for (i, (address, error)) in self.failed.iter().enumerate() {
            let sep = if i == 0 { " " } else { "; " };
            write!(f, "{sep}{address}: {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for BindError {}

impl TcpServer {
    /// A server named `name` (for logs) whose connections are served by `handler`.
    pub fn new(
        name: &str,
        handler: impl ClientHandler,
        accept: &IoHandle,
        io: &IoHandle,
        worker: &IoHandle,
    ) -> TcpServer {
        register_config();
        TcpServer {
            inner: Arc::new(Inner {
                name: name.to_string(),
                accept: accept.clone(),
                io: io.clone(),
                worker: worker.clone(),
                handler: Arc::new(handler),
                listeners: Mutex::new(Vec::new()),
                stopping: AtomicBool::new(false),
                started: AtomicBool::new(false),
                accepting: AtomicUsize::new(0),
                connections: Arc::default(),
                accepted: AtomicU64::new(0),
                shed: AtomicU64::new(0),
            }),
        }
    }

    // ANCHOR: bind
    /// Binds and listens on every address. Those that fail are reported
    /// together, each with its reason; the others stay bound.
    pub fn bind(&self, addresses: &[Address]) -> Result<(), BindError> {
        let mut failed = Vec::new();
        for address in addresses {
            match Listener::bind(address) {
                Ok(listener) => self.lock_listeners().push(Arc::new(listener)),
                Err(e) => failed.push((address.clone(), e)),
            }
        }
        match failed.is_empty() {
            true => Ok(()),
            false => Err(BindError { failed }),
        }
    }
    // ANCHOR_END: bind

    /// The addresses bound, with real ports where 0 was asked for.
    pub fn local_addresses(&self) -> Vec<Address> {
        self.lock_listeners()
            .iter()
            .map(|l| l.local_address())
            .collect()
    }

    // ANCHOR: start
    /// Starts one accept fiber per listening socket. Calling it again does nothing.
    pub fn start(&self) -> io::Result<()> {
        if self.inner.started.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        for listener in self.lock_listeners().iter() {
            let (server, listener) = (self.inner.clone(), listener.clone());
            self.inner.accepting.fetch_add(1, Ordering::AcqRel);
            if let Err(e) = self
                .inner
                .accept
                .schedule(move || accept_loop(server, listener))
            {
                self.inner.accepting.fetch_sub(1, Ordering::AcqRel);
                return Err(io::Error::other(e.to_string()));
            }
        }
        Ok(())
    }
    // ANCHOR_END: start

    // ANCHOR: stop
    /// Stops the server: no new connections are accepted; a connection
    /// waiting for its next request has its reading side shut, reads
    /// end-of-file and ends; one in the middle of a request (see
    /// [`Connection::request_started`]) gets up to `grace` to finish it, and
    /// ends when it comes to wait for the next; after that, everything is
    /// shut down. A handler that never says it is busy is treated as idle.
    /// Returns once the accept fibers are gone and no connection is open (or,
    /// if a handler never returns, a little after the grace period). A
    /// grace too long for the clock to represent its end (`Duration::MAX`)
    /// has no end: busy connections take as long as they take.
    pub fn stop(&self, grace: Duration) {
        let inner = &self.inner;
        if inner.stopping.swap(true, Ordering::AcqRel) {
            return;
        }
        // Wake the parked accept fibers with a cancellation; they see
        // `stopping` and leave. Repeat until they are gone: one may be
        // between two accepts when we look, and park just after.
        let listeners: Vec<_> = self.lock_listeners().drain(..).collect();
        wait_until(Instant::now().checked_add(Duration::from_secs(5)), || {
            for listener in &listeners {
                inner.accept.cancel_event(listener.raw_fd(), Event::Read);
            }
            inner.accepting.load(Ordering::Acquire) == 0
        });
        drop(listeners); // the last references: the listening sockets close
        // No more requests: connections waiting for one see end-of-file and
        // end; one in the middle of a request (its body still arriving, its
        // handler at work, its answer being written) may finish it. Passes
        // repeat, for connections that come to wait after one.
        // A grace too long for the clock to represent its end has none.
        let deadline = Instant::now().checked_add(grace);
        let all_gone = wait_until(deadline, || {
            inner.connections.shut_idle();
            inner.connections.len() == 0
        });
        if !all_gone {
            inner.connections.shutdown_all(Shutdown::Both);
            let left = wait_until(Instant::now().checked_add(Duration::from_secs(5)), || {
                inner.connections.len() == 0
            });
            if !left {
                log::warn!(
                    target: "system",
                    "{}: {} connection(s) still open after stop",
                    inner.name,
                    inner.connections.len()
                );
            }
        }
    }
    // ANCHOR_END: stop

    /// The server's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Connections open right now.
    pub fn connections(&self) -> usize {
        self.inner.connections.len()
    }

    /// Connections accepted since start.
    pub fn accepted(&self) -> u64 {
        self.inner.accepted.load(Ordering::Relaxed)
    }

    /// Connections closed at once because the process was out of fds.
    pub fn shed(&self) -> u64 {
        self.inner.shed.load(Ordering::Relaxed)
    }

    /// Whether `stop` has been called.
    pub fn is_stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::Acquire)
    }

    /// The scheduler for compute that handlers hand off.
    pub fn worker(&self) -> &IoHandle {
        &self.inner.worker
    }

    /// The scheduler connections run on.
    pub fn io(&self) -> &IoHandle {
        &self.inner.io
    }

    fn lock_listeners(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Listener>>> {
        self.inner
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    // ANCHOR: start_connection
    /// A new connection: its own fiber on the io scheduler, with the
    /// configured read and write timeouts (each set on its own, 0 meaning
    /// none: std refuses a zero timeout, and that refusal must not cost the
    /// connection its other timeout).
    pub(crate) fn start_connection(&self, stream: Stream) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        let limit = |d: Duration| (!d.is_zero()).then_some(d);
        if let Err(e) = stream.set_read_timeout(limit(READ_TIMEOUT.get())) {
            log::debug!(target: "system", "{}: setting the read timeout: {e}", self.name);
        }
        if let Err(e) = stream.set_write_timeout(limit(WRITE_TIMEOUT.get())) {
            log::debug!(target: "system", "{}: setting the write timeout: {e}", self.name);
        }
        let connection = Connection::new(stream, self.connections.clone());
        let handler = self.handler.clone();
        if let Err(e) = self.io.schedule(move || handler.handle_client(connection)) {
            log::error!(target: "system", "{}: cannot schedule a connection: {e}", self.name);
        }
    }
    // ANCHOR_END: start_connection
}

// ANCHOR: wait_until
/// Polls `done` every millisecond until it is true or `deadline` passes
/// (`None`: until it is true); returns whether it became true. In a fiber
/// the sleep parks the fiber.
fn wait_until(deadline: Option<Instant>, mut done: impl FnMut() -> bool) -> bool {
    loop {
        if done() {
            return true;
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
// ANCHOR_END: wait_until

impl fmt::Debug for TcpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpServer")
            .field("name", &self.inner.name)
            .field("addresses", &self.local_addresses())
            .field("connections", &self.connections())
            .finish_non_exhaustive()
    }
}
