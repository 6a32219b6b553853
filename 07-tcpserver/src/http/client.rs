//! [`HttpConnection`]: a small HTTP/1.1 client over one kept-alive TCP
//! connection, on std sockets (so, in a fiber, on the hooked ones).

use std::io::{self, Write};
use std::mem::MaybeUninit;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::time::Duration;

use super::body::{BodyPace, read_chunked, read_exact_body, read_to_end_limited};
use super::buffer::ReadBuf;
use super::deadline::{DeadlineStream, PAST_DEADLINE};
use super::encode::{is_sendable_field, push_decimal};
use super::headers::Headers;
use super::method::Method;
use super::parse::authority_in;
use super::request::HttpRequest;
use super::status::forbids_body;
use super::version::Version;

/// The longest response head the client accepts.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;
/// The most header fields the client accepts in a response.
const MAX_RESPONSE_HEADERS: usize = 128;

// ANCHOR: client_response
/// A response as the client received it, body decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientResponse {
    /// The status code.
    pub status: u16,
    /// The reason phrase as the server sent it.
    pub reason: String,
    /// The header fields.
    pub headers: Headers,
    /// The body, decoded from `Content-Length`, chunked, or read-to-close framing.
    pub body: Vec<u8>,
    /// The server's protocol version.
    pub version: Version,
}
// ANCHOR_END: client_response

impl ClientResponse {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

// ANCHOR: http_connection
/// One client connection, reused for request after request while the server
/// keeps it alive.
///
/// Requests are sent one at a time and each response is read whole. When the
/// server closes the connection (`Connection: close`, a body delimited by the
/// end of the connection, an idle timeout) or a request fails, the connection
/// is finished: further requests fail with `NotConnected`. Reconnecting, and
/// deciding whether a failed request may be sent again, is the caller's
/// choice: the client never resends on its own, since a `POST` may already
/// have taken effect.
///
/// Each read and write waits at most the timeout given to
/// [`connect`](Self::connect); a whole exchange waits at most the
/// [`response timeout`](Self::set_response_timeout), when one is set.
#[derive(Debug)]
pub struct HttpConnection {
    /// The socket, with the per-read timeout and the exchange's deadline.
    stream: DeadlineStream,
    /// How long one exchange may take in all; `None`: no bound but the
    /// per-read timeout.
    response_timeout: Option<Duration>,
    /// The `Host` header sent by default: the address connected to.
    host: String,
    rbuf: ReadBuf,
    wbuf: Vec<u8>,
    open: bool,
    max_body_bytes: usize,
}
// ANCHOR_END: http_connection

impl HttpConnection {
    /// Connects to the first address of `addr` that answers within `timeout`,
    /// which also becomes the read and write timeout of every request (it must
    /// not be zero). A timeout is reported as `TimedOut`.
    ///
    /// A host name is resolved by the system resolver, which blocks the thread
    /// even inside a fiber (it cannot be hooked): on a fiber, pass a
    /// `SocketAddr`.
    pub fn connect(addr: impl ToSocketAddrs, timeout: Duration) -> io::Result<HttpConnection> {
        let mut last_err = io::Error::new(io::ErrorKind::InvalidInput, "no address to connect to");
        for addr in addr.to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(stream) => return HttpConnection::from_stream(stream, timeout),
                Err(err) => last_err = err,
            }
        }
        Err(last_err)
    }

    /// Wraps an already connected stream, with `timeout` for reads and writes.
    pub fn from_stream(stream: TcpStream, timeout: Duration) -> io::Result<HttpConnection> {
        stream.set_nodelay(true)?;
        let host = stream.peer_addr()?.to_string();
        Ok(HttpConnection {
            stream: DeadlineStream::new(stream, timeout)?,
            response_timeout: None,
            host,
            rbuf: ReadBuf::with_capacity(8 * 1024),
            wbuf: Vec::new(),
            open: true,
            max_body_bytes: 64 * 1024 * 1024,
        })
    }

    /// The server's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.get_ref().peer_addr()
    }

    // ANCHOR: set_response_timeout
    /// Bounds each exchange as a whole: sending the request and reading the
    /// whole response, body included, must take at most `limit`, or the
    /// request fails with `TimedOut` (and the connection is finished). The
    /// connection's timeout bounds each read and write on its own, so
    /// without this a server that trickles a byte just inside it could hold
    /// the client for that timeout times the response's length. `None`
    /// (the default) sets no such bound: a large download on a slow link is
    /// the caller's to allow.
    pub fn set_response_timeout(&mut self, limit: Option<Duration>) {
        self.response_timeout = limit;
    }
    // ANCHOR_END: set_response_timeout

    /// The bound set by [`set_response_timeout`](Self::set_response_timeout).
    pub fn response_timeout(&self) -> Option<Duration> {
        self.response_timeout
    }

    /// False once the connection is finished (see the type's documentation).
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// The largest response body accepted (64 MiB unless changed); a larger
    /// one fails the request with `InvalidData`.
    pub fn set_max_body_bytes(&mut self, max: usize) {
        self.max_body_bytes = max;
    }

    /// `GET path`.
    pub fn get(&mut self, path: &str) -> io::Result<ClientResponse> {
        self.request(Method::Get, path, &[], &[])
    }

    /// `POST path` with `body`.
    pub fn post(&mut self, path: &str, body: &[u8]) -> io::Result<ClientResponse> {
        self.request(Method::Post, path, &[], body)
    }

    /// Sends `method path` with `headers` and `body` as HTTP/1.1 and reads the
    /// response. `Host` is added unless given: the target's own authority for
    /// a `CONNECT` or an absolute-form target, else the address connected to.
    /// `Content-Length` is added when
    /// there is a body (or the method is POST, PUT or PATCH). Giving
    /// `Content-Length` or `Transfer-Encoding` yourself is an `InvalidInput`
    /// error: the client frames the body.
    pub fn request(
        &mut self,
        method: impl Into<Method>,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<ClientResponse> {
        let method = method.into();
        self.exchange(
            &method,
            path,
            Version::Http11,
            headers.iter().copied(),
            body,
        )
    }

    /// Sends a request built as an [`HttpRequest`] (its version included).
    pub fn send(&mut self, req: &HttpRequest) -> io::Result<ClientResponse> {
        self.exchange(
            req.method(),
            req.target(),
            req.version(),
            req.headers().iter(),
            req.body(),
        )
    }

    // ANCHOR: exchange
    /// One request and its response; any failure finishes the connection.
    fn exchange<'h>(
        &mut self,
        method: &Method,
        target: &str,
        version: Version,
        headers: impl Iterator<Item = (&'h str, &'h str)> + Clone,
        body: &[u8],
    ) -> io::Result<ClientResponse> {
        if !self.open {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the server closed this connection; connect again",
            ));
        }
        if self.server_spoke_first() {
            self.open = false;
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the server closed this connection, or sent what nobody asked for, \
                 while it was idle; connect again",
            ));
        }
        self.wbuf.clear();
        encode_request(
            &mut self.wbuf,
            method,
            target,
            version,
            headers.clone(),
            body,
            &self.host,
        )?;
        // Whether the request itself ends the connection: `Connection:
        // close`, or HTTP/1.0 without `keep-alive` (RFC 9112 §9.3), whatever
        // the response says.
        let has_token = |token: &str| {
            headers
                .clone()
                .filter(|(name, _)| name.eq_ignore_ascii_case("connection"))
                .any(|(_, value)| {
                    value
                        .split(',')
                        .any(|t| t.trim().eq_ignore_ascii_case(token))
                })
        };
        let closing =
            has_token("close") || (version == Version::Http10 && !has_token("keep-alive"));
        self.open = false; // until the exchange succeeds
        self.stream.set_deadline(self.response_timeout);
        let result = self
            .stream
            .write_all(&self.wbuf)
            .and_then(|()| self.read_response(method));
        let late = self.stream.deadline_passed();
        // A socket whose timeouts cannot be put back is finished too.
        let restored = self.stream.clear_deadline();
        match result {
            Ok((response, keep_alive)) => {
                self.open = keep_alive && !closing && restored.is_ok();
                Ok(response)
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                match late {
                    true => PAST_DEADLINE,
                    false => "timed out waiting for the server",
                },
            )),
            Err(err) => Err(err),
        }
    }
    // ANCHOR_END: exchange

    // ANCHOR: server_spoke_first
    /// Whether the server has sent anything (bytes, the end of the
    /// connection, an error) since the last response was read whole. Between
    /// two exchanges it has no right to: it closed the connection while idle
    /// (its keep-alive timeout), or the bytes answer nothing we sent. Either
    /// way the connection cannot carry the next request; found out now, that
    /// request fails as never sent. One poll that does not wait (the hook
    /// passes a zero timeout straight through).
    fn server_spoke_first(&self) -> bool {
        if !self.rbuf.is_empty() {
            return true;
        }
        let mut pfd = libc::pollfd {
            fd: self.stream.get_ref().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd on our stack, for a socket `self.stream`
        // owns; a zero timeout returns at once.
        unsafe { libc::poll(&mut pfd, 1, 0) > 0 }
    }
    // ANCHOR_END: server_spoke_first

    // ANCHOR: read_response
    /// Reads one final response (skipping `1xx` interim ones, whose heads
    /// count against the head limit all together: a server cannot keep the
    /// client reading them for ever); also returns whether the server keeps
    /// the connection open. `method` is the request's: a `HEAD` response has
    /// no body, nor has a 2xx to `CONNECT`, after which the connection is a
    /// tunnel (RFC 9112 §6.3) that this client does not provide: it is
    /// finished, and whatever the server sent into the tunnel is never read.
    fn read_response(&mut self, method: &Method) -> io::Result<(ClientResponse, bool)> {
        let mut interim = 0;
        loop {
            let (mut response, len) = self.read_response_head()?;
            self.rbuf.consume(len);
            if (100..200).contains(&response.status) && response.status != 101 {
                // 100 Continue, 103 Early Hints: the real answer follows.
                interim += len;
                if interim > MAX_RESPONSE_HEAD {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "too many interim (1xx) responses",
                    ));
                }
                continue;
            }
            let headers = &response.headers;
            let te_chunked = headers
                .get_all("transfer-encoding")
                .flat_map(|v| v.split(','))
                .last()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
            let mut keep_alive = match response.version {
                Version::Http11 => !headers.has_token("connection", "close"),
                // Transfer-Encoding in an HTTP/1.0 message is faulty framing:
                // read it, then close (RFC 9112 §6.1).
                Version::Http10 => {
                    headers.has_token("connection", "keep-alive")
                        && !headers.has_token("connection", "close")
                        && headers.get_all("transfer-encoding").next().is_none()
                }
            };
            let tunnel = *method == Method::Connect && (200..300).contains(&response.status);
            if response.status == 101 || tunnel {
                // Switching Protocols, or a tunnel: what follows is no
                // longer HTTP/1.1.
                keep_alive = false;
            }
            if headers.contains("transfer-encoding") && headers.contains("content-length") {
                // Both: Transfer-Encoding wins, but the message is suspect
                // (a sign of response splitting, RFC 9112 §6.3): read it by
                // its Transfer-Encoding, then trust nothing after it.
                keep_alive = false;
            }
            let body = &mut response.body;
            if *method == Method::Head || tunnel || forbids_body(response.status) {
                // no body, whatever the headers say
            } else if te_chunked {
                read_chunked(
                    &mut self.rbuf,
                    &mut self.stream,
                    body,
                    self.max_body_bytes,
                    MAX_RESPONSE_HEAD,
                    &mut BodyPace::unlimited(),
                )
                .map_err(|failure| failure.into_io())?;
            } else if headers.contains("transfer-encoding") {
                read_to_end_limited(&mut self.rbuf, &mut self.stream, body, self.max_body_bytes)?;
                keep_alive = false;
            } else if let Some(length) = content_length(headers)? {
                if length > self.max_body_bytes as u64 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "response body larger than the limit",
                    ));
                }
                read_exact_body(
                    &mut self.rbuf,
                    &mut self.stream,
                    body,
                    length,
                    &mut BodyPace::unlimited(),
                )
                .map_err(|failure| failure.into_io())?;
            } else {
                read_to_end_limited(&mut self.rbuf, &mut self.stream, body, self.max_body_bytes)?;
                keep_alive = false;
            }
            return Ok((response, keep_alive));
        }
    }
    // ANCHOR_END: read_response

    /// Reads until a whole response head is buffered and parses it; returns
    /// the response without its body, and the head's length.
    fn read_response_head(&mut self) -> io::Result<(ClientResponse, usize)> {
        loop {
            let mut slots = [const { MaybeUninit::uninit() }; MAX_RESPONSE_HEADERS];
            let mut parsed = httparse::Response::new(&mut []);
            let data = self.rbuf.data();
            match httparse::ParserConfig::default().parse_response_with_uninit_headers(
                &mut parsed,
                data,
                &mut slots,
            ) {
                Ok(httparse::Status::Complete(len)) => {
                    // httparse takes any three digits; a code starts at 100.
                    let status = parsed.code.unwrap_or(0);
                    if status < 100 {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("malformed response: status code {status:03}"),
                        ));
                    }
                    let mut headers = Headers::new();
                    for header in parsed.headers.iter() {
                        // Bytes above 0x7F (obs-text) are allowed in a value;
                        // they become U+FFFD rather than fail the response.
                        headers.append(header.name, &String::from_utf8_lossy(header.value));
                    }
                    let response = ClientResponse {
                        status,
                        reason: parsed.reason.unwrap_or("").to_owned(),
                        headers,
                        body: Vec::new(),
                        version: Version::from_minor(parsed.version.unwrap_or(1)),
                    };
                    return Ok((response, len));
                }
                Ok(httparse::Status::Partial) if data.len() > MAX_RESPONSE_HEAD => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "response head too large",
                    ));
                }
                Ok(httparse::Status::Partial) => {}
                Err(err) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("malformed response: {err}"),
                    ));
                }
            }
            if self.rbuf.fill(&mut self.stream)? == 0 {
                let what = if self.rbuf.is_empty() {
                    "the server closed the connection without a response"
                } else {
                    "the server closed the connection in the middle of a response"
                };
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, what));
            }
        }
    }
}

/// The response's `Content-Length`, if any; several must agree.
fn content_length(headers: &Headers) -> io::Result<Option<u64>> {
    let mut length = None;
    for value in headers.get_all("content-length") {
        let parsed: u64 = value
            .parse()
            .ok()
            .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "invalid Content-Length"))?;
        if length.is_some_and(|l| l != parsed) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "conflicting Content-Length",
            ));
        }
        length = Some(parsed);
    }
    Ok(length)
}

// ANCHOR: encode_request
/// Appends a request to `out`, refusing (`InvalidInput`) anything that would
/// not be one well-formed request on the wire.
fn encode_request<'h>(
    out: &mut Vec<u8>,
    method: &Method,
    target: &str,
    version: Version,
    headers: impl Iterator<Item = (&'h str, &'h str)>,
    body: &[u8],
    default_host: &str,
) -> io::Result<()> {
    let invalid = |what: &'static str| io::Error::new(io::ErrorKind::InvalidInput, what);
    if !Method::is_token(method.as_str()) {
        return Err(invalid("the method is not a token"));
    }
    if target.is_empty() || !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid("the target must be visible ASCII without spaces"));
    }
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.push(b' ');
    out.extend_from_slice(version.as_str().as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut has_host = false;
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
        {
            return Err(invalid(
                "Content-Length and Transfer-Encoding are set by the client",
            ));
        }
        if !is_sendable_field(name, value) {
            return Err(invalid(
                "a header name is not a token or a value holds control bytes",
            ));
        }
        has_host |= name.eq_ignore_ascii_case("host");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !has_host {
        let host = target_authority(method, target).unwrap_or(default_host);
        out.extend_from_slice(b"Host: ");
        out.extend_from_slice(host.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() || matches!(method, Method::Post | Method::Put | Method::Patch) {
        out.extend_from_slice(b"Content-Length: ");
        push_decimal(out, body.len() as u64);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Ok(())
}
// ANCHOR_END: encode_request

// ANCHOR: target_authority
/// The authority a target names itself, which `Host` must then repeat
/// (RFC 9112 §3.2): all of a `CONNECT`'s `host:port`, or the part of an
/// absolute-form target (`http://host:port/path`, sent to a proxy) between
/// `://` and the path, without user information. `None` for `/path` and `*`:
/// then `Host` is the address connected to.
fn target_authority<'t>(method: &Method, target: &'t str) -> Option<&'t str> {
    if matches!(method, Method::Connect) {
        return Some(target);
    }
    authority_in(target)?.rsplit('@').next()
}
// ANCHOR_END: target_authority

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(
        method: Method,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<String> {
        let mut out = Vec::new();
        encode_request(
            &mut out,
            &method,
            target,
            Version::Http11,
            headers.iter().copied(),
            body,
            "h:1",
        )?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn requests_are_framed_by_the_client() {
        assert_eq!(
            encode(Method::Get, "/a?b", &[("Accept", "*/*")], b"").unwrap(),
            "GET /a?b HTTP/1.1\r\nAccept: */*\r\nHost: h:1\r\n\r\n"
        );
        assert_eq!(
            encode(Method::Post, "/p", &[("host", "example")], b"").unwrap(),
            "POST /p HTTP/1.1\r\nhost: example\r\nContent-Length: 0\r\n\r\n"
        );
        assert_eq!(
            encode(Method::Put, "/p", &[], b"xyz").unwrap(),
            "PUT /p HTTP/1.1\r\nHost: h:1\r\nContent-Length: 3\r\n\r\nxyz"
        );
    }

    #[test]
    fn what_cannot_be_sent_is_refused() {
        let kind = |r: io::Result<String>| r.unwrap_err().kind();
        assert_eq!(
            kind(encode(Method::Other("B D".into()), "/", &[], b"")),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(encode(Method::Get, "/a b", &[], b"")),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(encode(Method::Get, "", &[], b"")),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(encode(Method::Get, "/", &[("X", "a\r\nY: b")], b"")),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(encode(Method::Get, "/", &[("Content-Length", "1")], b"")),
            io::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn content_lengths_must_agree() {
        let h: Headers = [("Content-Length", "5"), ("content-length", "5")]
            .into_iter()
            .collect();
        assert_eq!(content_length(&h).unwrap(), Some(5));
        let h: Headers = [("Content-Length", "5"), ("content-length", "6")]
            .into_iter()
            .collect();
        assert!(content_length(&h).is_err());
        let h: Headers = [("Content-Length", "+5")].into_iter().collect();
        assert!(content_length(&h).is_err());
        assert_eq!(content_length(&Headers::new()).unwrap(), None);
    }
}
