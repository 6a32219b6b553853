//! Which headers frame a request's body, and the rules (RFC 9112 §6) that
//! refuse every combination two servers could read differently: request
//! smuggling lives in the gap between a front-end's idea of where a request
//! ends and ours.

use super::error::RequestError;
use super::limits::HttpLimits;
use super::method::Method;
use super::version::Version;

// ANCHOR: body_framing
/// How the body of a request is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyFraming {
    /// No body: neither `Content-Length` nor `Transfer-Encoding`, or a length of 0.
    Empty,
    /// `Content-Length` bytes, already checked against the limit.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}
// ANCHOR_END: body_framing

/// The headers that decide framing and expectations, gathered in one pass
/// (and without allocating: a list of codings is judged as it is read).
#[derive(Debug, Default)]
pub(crate) struct FramingFields {
    content_length: Option<u64>,
    /// A `Transfer-Encoding` field was present.
    transfer_encoding: bool,
    /// Codings listed over all `Transfer-Encoding` fields.
    codings: usize,
    /// Where `chunked` was in that list (0-based).
    chunked_at: Option<usize>,
    /// `chunked` was listed more than once.
    chunked_twice: bool,
    /// Every coding was a token (an empty element or junk is not).
    codings_are_tokens: bool,
    hosts: usize,
    /// Every `Expect` value was `100-continue` (and there was one).
    expect_continue: bool,
    /// An `Expect` value other than `100-continue`.
    unknown_expectation: bool,
}

impl FramingFields {
    // ANCHOR: framing_checks
    /// Notes one header field; refuses a malformed or conflicting length.
    pub fn note(&mut self, name: &str, value: &str) -> Result<(), RequestError> {
        if name.eq_ignore_ascii_case("content-length") {
            let length =
                parse_content_length(value).ok_or(RequestError::bad("invalid Content-Length"))?;
            if self
                .content_length
                .is_some_and(|previous| previous != length)
            {
                return Err(RequestError::bad("conflicting Content-Length fields"));
            }
            self.content_length = Some(length);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if !self.transfer_encoding {
                self.transfer_encoding = true;
                self.codings_are_tokens = true;
            }
            for coding in value.split(',').map(|c| c.trim_matches([' ', '\t'])) {
                self.codings_are_tokens &= Method::is_token(coding);
                if coding.eq_ignore_ascii_case("chunked") {
                    self.chunked_twice |= self.chunked_at.is_some();
                    self.chunked_at = Some(self.codings);
                }
                self.codings += 1;
            }
        } else if name.eq_ignore_ascii_case("host") {
            self.hosts += 1;
        } else if name.eq_ignore_ascii_case("expect") {
            if value.eq_ignore_ascii_case("100-continue") {
                self.expect_continue = true;
            } else {
                self.unknown_expectation = true;
            }
        }
        Ok(())
    }

    /// Decides how the body is delimited (RFC 9112 §6), refusing every
    /// ambiguity a front-end proxy could resolve differently.
    pub fn framing(
        &self,
        version: Version,
        limits: &HttpLimits,
    ) -> Result<BodyFraming, RequestError> {
        if version == Version::Http11 && self.hosts == 0 {
            return Err(RequestError::bad("HTTP/1.1 request without Host"));
        }
        if self.hosts > 1 {
            return Err(RequestError::bad("more than one Host field"));
        }
        if self.transfer_encoding {
            if version == Version::Http10 {
                return Err(RequestError::bad(
                    "Transfer-Encoding in an HTTP/1.0 request",
                ));
            }
            if self.content_length.is_some() {
                return Err(RequestError::bad(
                    "both Content-Length and Transfer-Encoding",
                ));
            }
            return self.chunked_coding();
        }
        match self.content_length {
            None | Some(0) => Ok(BodyFraming::Empty),
            Some(length) if length > limits.max_body_bytes as u64 => {
                Err(RequestError::body_too_large())
            }
            Some(length) => Ok(BodyFraming::Length(length)),
        }
    }

    /// `Transfer-Encoding` must be exactly `chunked`. A list of valid codings
    /// ending in one `chunked` (`gzip, chunked`) is well framed but asks for a
    /// coding we do not implement: 501. Anything else cannot be framed: 400.
    fn chunked_coding(&self) -> Result<BodyFraming, RequestError> {
        if self.chunked_twice {
            return Err(RequestError::bad("chunked applied twice"));
        }
        match self.chunked_at {
            Some(0) if self.codings == 1 => Ok(BodyFraming::Chunked),
            Some(last) if last + 1 == self.codings && self.codings_are_tokens => {
                Err(RequestError {
                    status: 501,
                    reason: "transfer coding not implemented",
                })
            }
            _ => Err(RequestError::bad("Transfer-Encoding other than chunked")),
        }
    }
    // ANCHOR_END: framing_checks

    /// Whether to send `100 Continue` before reading the body. HTTP/1.0
    /// clients' expectations are ignored (RFC 9110 §10.1.1); an expectation we
    /// cannot meet is answered with 417.
    pub fn expect_continue(&self, version: Version) -> Result<bool, RequestError> {
        if version == Version::Http10 {
            return Ok(false);
        }
        if self.unknown_expectation {
            return Err(RequestError {
                status: 417,
                reason: "only Expect: 100-continue is supported",
            });
        }
        Ok(self.expect_continue)
    }
}

/// A `Content-Length` value: one or more digits, nothing else (no sign, no
/// list, no inner space), within `u64`.
fn parse_content_length(value: &str) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.bytes().try_fold(0u64, |total, b| {
        if b.is_ascii_digit() {
            total.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}
