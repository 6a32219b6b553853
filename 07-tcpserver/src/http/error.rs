//! Why a request is refused before it reaches a servlet, and with what status.

use std::fmt;
use std::io;

// ANCHOR: request_error
/// A request the session refuses: the status it answers with, and a short
/// reason for the log and the response body. Every one closes the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestError {
    /// 400, 408, 413, 417, 431, 501 or 505.
    pub status: u16,
    /// What was wrong, in a few words (never the client's own bytes).
    pub reason: &'static str,
}
// ANCHOR_END: request_error

impl RequestError {
    /// 400 Bad Request: malformed, or framed ambiguously.
    pub const fn bad(reason: &'static str) -> RequestError {
        RequestError {
            status: 400,
            reason,
        }
    }

    /// 413 Content Too Large: the body is over `max_body_bytes`.
    pub const fn body_too_large() -> RequestError {
        RequestError {
            status: 413,
            reason: "body larger than the limit",
        }
    }

    /// 408 Request Timeout: the head took longer than `head_timeout`.
    pub const fn head_too_slow() -> RequestError {
        RequestError {
            status: 408,
            reason: "request head too slow",
        }
    }

    /// 408 Request Timeout: the body arrived more slowly than
    /// `min_body_rate` allows once `body_grace` had passed.
    pub const fn body_too_slow() -> RequestError {
        RequestError {
            status: 408,
            reason: "request body too slow",
        }
    }

    /// 431 Request Header Fields Too Large.
    pub const fn head_too_large(reason: &'static str) -> RequestError {
        RequestError {
            status: 431,
            reason,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.status, self.reason)
    }
}

/// What can stop reading a request: a request to refuse, or the connection.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Answer with this error, then close.
    Reject(RequestError),
    /// The connection failed (or ended) under us.
    Io(io::Error),
}

impl From<RequestError> for Failure {
    fn from(err: RequestError) -> Self {
        Failure::Reject(err)
    }
}

impl From<io::Error> for Failure {
    fn from(err: io::Error) -> Self {
        Failure::Io(err)
    }
}

impl Failure {
    /// As an `io::Error`, for the client, where a bad response is bad data.
    pub fn into_io(self) -> io::Error {
        match self {
            Failure::Reject(err) => io::Error::new(io::ErrorKind::InvalidData, err.reason),
            Failure::Io(err) => err,
        }
    }
}
