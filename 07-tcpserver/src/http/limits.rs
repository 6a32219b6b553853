//! [`HttpLimits`]: how much a client may send, and where those numbers come
//! from in the configuration.
//!
//! sylar declared `http.request.buffer_size` and `http.request.max_body_size`
//! but never enforced the body limit (a client could make it allocate until it
//! died). Here every limit is checked before the memory is committed: the head
//! as it is read, a declared `Content-Length` before a byte of the body is
//! read, and a chunked body's running total at each chunk.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use sylar_config::ConfigVar;

// ANCHOR: limits
/// Limits on one request. A request over a limit is answered with an error
/// status and `Connection: close`, and never reaches a servlet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Longest request head (request line, header lines, blank line) in bytes;
    /// longer is answered with 431. Also bounds a chunked body's trailers.
    pub max_header_bytes: usize,
    /// Most header fields in one request; more is answered with 431. Capped at
    /// [`HttpLimits::MAX_HEADERS_CAP`].
    pub max_headers: usize,
    /// Largest request body in bytes, declared or chunked; larger is answered
    /// with 413.
    pub max_body_bytes: usize,
    /// Longest time a request head may take to arrive once its first byte
    /// has: the socket's read timeout bounds each read, this bounds the
    /// whole head, so a client dribbling a byte every few seconds (slowloris)
    /// is answered with 408 and closed.
    pub head_timeout: Duration,
}
// ANCHOR_END: limits

impl HttpLimits {
    /// The hard ceiling on [`max_headers`](Self::max_headers): the parser needs a
    /// slot per header, so an absurd setting must not become an absurd
    /// allocation.
    pub const MAX_HEADERS_CAP: usize = 10_000;

    /// Reads the limits from the configuration variables
    /// `http.request.max_header_size`, `http.request.max_headers`,
    /// `http.request.max_body_size` and `http.request.head_timeout` of the
    /// global registry, registering them (with the [`Default`] values) on
    /// first use. Called per connection, it picks up a reloaded
    /// configuration for the next connection.
    pub fn from_config() -> HttpLimits {
        match &*VARS {
            Some(vars) => HttpLimits {
                max_header_bytes: vars.max_header_bytes.get(),
                max_headers: vars.max_headers.get(),
                max_body_bytes: vars.max_body_bytes.get(),
                head_timeout: Duration::from_millis(vars.head_timeout_ms.get()),
            },
            None => HttpLimits::default(),
        }
    }

    /// The slot count the head parser uses: `max_headers` within its cap.
    pub(crate) fn header_slots(&self) -> usize {
        self.max_headers.min(Self::MAX_HEADERS_CAP)
    }
}

impl Default for HttpLimits {
    /// 8 KiB of head (nginx's `large_client_header_buffers` size), 100 headers
    /// (hyper's default), 8 MiB of body, 30 s for a head.
    fn default() -> Self {
        HttpLimits {
            max_header_bytes: 8 * 1024,
            max_headers: 100,
            max_body_bytes: 8 * 1024 * 1024,
            head_timeout: Duration::from_secs(30),
        }
    }
}

/// The four configuration variables behind [`HttpLimits::from_config`].
struct LimitVars {
    max_header_bytes: Arc<ConfigVar<usize>>,
    max_headers: Arc<ConfigVar<usize>>,
    max_body_bytes: Arc<ConfigVar<usize>>,
    head_timeout_ms: Arc<ConfigVar<u64>>,
}

// ANCHOR: limit_vars
/// Registered once. `None` if a name was already registered with another type
/// (a programming error elsewhere, logged); the defaults then apply.
static VARS: LazyLock<Option<LimitVars>> = LazyLock::new(|| {
    let defaults = HttpLimits::default();
    let register = |name: &str, default: usize, description: &str| {
        sylar_config::lookup(name, default, description)
            .map_err(|err| log::error!(target: "system", "config {name}: {err}"))
            .ok()
    };
    Some(LimitVars {
        max_header_bytes: register(
            "http.request.max_header_size",
            defaults.max_header_bytes,
            "longest HTTP request head in bytes (431 above)",
        )?,
        max_headers: register(
            "http.request.max_headers",
            defaults.max_headers,
            "most header fields in one HTTP request (431 above)",
        )?,
        max_body_bytes: register(
            "http.request.max_body_size",
            defaults.max_body_bytes,
            "largest HTTP request body in bytes (413 above)",
        )?,
        head_timeout_ms: sylar_config::lookup(
            "http.request.head_timeout",
            defaults.head_timeout.as_millis() as u64,
            "milliseconds a request head may take once it has begun (408 after)",
        )
        .map_err(|err| log::error!(target: "system", "config http.request.head_timeout: {err}"))
        .ok()?,
    })
});
// ANCHOR_END: limit_vars

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_starts_at_the_defaults_and_follows_changes() {
        assert_eq!(HttpLimits::from_config(), HttpLimits::default());
        sylar_config::global()
            .load_yaml_str("http:\n  request:\n    max_headers: 7\n")
            .unwrap();
        assert_eq!(HttpLimits::from_config().max_headers, 7);
        sylar_config::global()
            .load_yaml_str("http:\n  request:\n    max_headers: 100\n")
            .unwrap();
        assert_eq!(HttpLimits::from_config(), HttpLimits::default());
    }

    #[test]
    fn header_slots_are_capped() {
        let limits = HttpLimits {
            max_headers: usize::MAX,
            ..HttpLimits::default()
        };
        assert_eq!(limits.header_slots(), HttpLimits::MAX_HEADERS_CAP);
    }
}
