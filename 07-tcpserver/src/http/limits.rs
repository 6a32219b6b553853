//! [`HttpLimits`]: how much a client may send, and where those numbers come
//! from in the configuration.
//!
//! sylar declared `http.request.buffer_size` and `http.request.max_body_size`
//! but never enforced the body limit (a client could make it allocate until it
//! died). Here every limit is checked before the memory is committed: the head
//! as it is read, a declared `Content-Length` before a byte of the body is
//! read, and a chunked body's running total at each chunk.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use sylar_config::{ConfigValue, ConfigVar};

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
    /// is answered with 408 and closed. 0 means no limit, as for the
    /// socket's timeouts (`tcp_server.read_timeout: 0`); so does a time too
    /// far away to be a point on the clock.
    pub head_timeout: Duration,
    /// Slowest average rate, in bytes per second, at which a request body
    /// may arrive once [`body_grace`](Self::body_grace) has passed: the body
    /// is too slow (408, then close) when the time since it began exceeds
    /// `body_grace + received / min_body_rate`, `received` counting the body
    /// bytes only (the decoded data of a chunked body, never its framing).
    /// Checked after each read from the peer that brings bytes (those bytes
    /// counted), so a client is cut off at most one socket read timeout after
    /// crossing the line.
    /// The socket's read timeout bounds each read, this bounds the whole body
    /// in proportion to its size: a large upload on a slow link is
    /// legitimate, a byte every few seconds (slow POST, R.U.D.Y.) is not.
    /// 0 disables the check.
    pub min_body_rate: u64,
    /// How long a request body may take before
    /// [`min_body_rate`](Self::min_body_rate) applies: the credit every body
    /// starts with, for TCP slow start, a `100 Continue` round trip, or a
    /// client that pauses to open the file it uploads.
    pub body_grace: Duration,
    /// Slowest average rate, in bytes per second, at which a client must take
    /// a response once [`send_grace`](Self::send_grace) has passed: the
    /// mirror of [`min_body_rate`](Self::min_body_rate) for the other
    /// direction. While a large response (or a streamed body) is written,
    /// the connection is closed when the time spent waiting for the client
    /// exceeds `send_grace + sent / min_send_rate`, and no single write may
    /// wait past that line. The socket's write timeout bounds each write,
    /// this bounds the whole response in proportion to its size, so a client
    /// that drains a few bytes now and then (the slow read attack) cannot
    /// hold a connection and its response for hours. 0 disables the check.
    pub min_send_rate: u64,
    /// How long a response may wait for its client before
    /// [`min_send_rate`](Self::min_send_rate) applies: the credit every
    /// response starts with, for TCP slow start and a client busy elsewhere.
    pub send_grace: Duration,
}
// ANCHOR_END: limits

impl HttpLimits {
    /// The hard ceiling on [`max_headers`](Self::max_headers): the parser needs a
    /// slot per header, so an absurd setting must not become an absurd
    /// allocation.
    pub const MAX_HEADERS_CAP: usize = 10_000;

    /// Reads the limits from the configuration variables
    /// `http.request.max_header_size`, `http.request.max_headers`,
    /// `http.request.max_body_size`, `http.request.head_timeout` (ms),
    /// `http.request.min_body_rate` (bytes/s), `http.request.body_grace`
    /// (ms), `http.response.min_send_rate` (bytes/s) and
    /// `http.response.send_grace` (ms) of the global registry, registering them (with the [`Default`]
    /// values) on first use. Called per connection, it picks up a reloaded
    /// configuration for the next connection.
    pub fn from_config() -> HttpLimits {
        match &*VARS {
            Some(vars) => HttpLimits {
                max_header_bytes: vars.max_header_bytes.get(),
                max_headers: vars.max_headers.get(),
                max_body_bytes: vars.max_body_bytes.get(),
                head_timeout: Duration::from_millis(vars.head_timeout_ms.get()),
                min_body_rate: vars.min_body_rate.get(),
                body_grace: Duration::from_millis(vars.body_grace_ms.get()),
                min_send_rate: vars.min_send_rate.get(),
                send_grace: Duration::from_millis(vars.send_grace_ms.get()),
            },
            None => HttpLimits::default(),
        }
    }

    /// The slot count the head parser uses: `max_headers` within its cap.
    pub(crate) fn header_slots(&self) -> usize {
        self.max_headers.min(Self::MAX_HEADERS_CAP)
    }

    // ANCHOR: head_deadline
    /// When a head that began at `start` must be complete: `None` for no
    /// deadline, when [`head_timeout`](Self::head_timeout) is 0 (no limit)
    /// or so large that the clock cannot represent the moment.
    pub(crate) fn head_deadline(&self, start: Instant) -> Option<Instant> {
        match self.head_timeout.is_zero() {
            true => None,
            false => start.checked_add(self.head_timeout),
        }
    }
    // ANCHOR_END: head_deadline
}

impl Default for HttpLimits {
    /// 8 KiB of head (nginx's `large_client_header_buffers` size), 100 headers
    /// (hyper's default), 8 MiB of body, 30 s for a head, and a body at
    /// 240 bytes/s after 5 s of grace (ASP.NET Kestrel's
    /// `MinRequestBodyDataRate`): far below any real link (a 2G modem moves
    /// a few KB/s), so only a client that stalls on purpose is cut off, and
    /// 5 s covers slow start and a pause before the upload gets going. A
    /// response must be taken at the same 240 bytes/s after 5 s (Kestrel's
    /// `MinResponseDataRate`).
    fn default() -> Self {
        HttpLimits {
            max_header_bytes: 8 * 1024,
            max_headers: 100,
            max_body_bytes: 8 * 1024 * 1024,
            head_timeout: Duration::from_secs(30),
            min_body_rate: 240,
            body_grace: Duration::from_secs(5),
            min_send_rate: 240,
            send_grace: Duration::from_secs(5),
        }
    }
}

/// The eight configuration variables behind [`HttpLimits::from_config`].
struct LimitVars {
    max_header_bytes: Arc<ConfigVar<usize>>,
    max_headers: Arc<ConfigVar<usize>>,
    max_body_bytes: Arc<ConfigVar<usize>>,
    head_timeout_ms: Arc<ConfigVar<u64>>,
    min_body_rate: Arc<ConfigVar<u64>>,
    body_grace_ms: Arc<ConfigVar<u64>>,
    min_send_rate: Arc<ConfigVar<u64>>,
    send_grace_ms: Arc<ConfigVar<u64>>,
}

// ANCHOR: limit_vars
/// Registers one variable, or logs why it could not be.
fn register<T: ConfigValue>(
    name: &str,
    default: T,
    description: &str,
) -> Option<Arc<ConfigVar<T>>> {
    sylar_config::lookup(name, default, description)
        .map_err(|err| log::error!(target: "system", "config {name}: {err}"))
        .ok()
}

/// Registered once. `None` if a name was already registered with another type
/// (a programming error elsewhere, logged); the defaults then apply. The
/// types refuse what makes no sense: a load with a negative number, or one
/// past 2^64, fails and leaves every value as it was.
static VARS: LazyLock<Option<LimitVars>> = LazyLock::new(|| {
    let defaults = HttpLimits::default();
    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
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
        head_timeout_ms: register(
            "http.request.head_timeout",
            millis(defaults.head_timeout),
            "milliseconds a request head may take once it has begun (408 after; 0: no limit)",
        )?,
        min_body_rate: register(
            "http.request.min_body_rate",
            defaults.min_body_rate,
            "slowest average bytes/s of a request body after its grace (408 below; 0: off)",
        )?,
        body_grace_ms: register(
            "http.request.body_grace",
            millis(defaults.body_grace),
            "milliseconds a request body may take before min_body_rate applies",
        )?,
        min_send_rate: register(
            "http.response.min_send_rate",
            defaults.min_send_rate,
            "slowest average bytes/s a client must take a response at after its grace (closed below; 0: off)",
        )?,
        send_grace_ms: register(
            "http.response.send_grace",
            millis(defaults.send_grace),
            "milliseconds a response may wait for its client before min_send_rate applies",
        )?,
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
    fn body_rate_variables_refuse_what_is_not_a_u64() {
        // Only these two fields: another test changes max_headers meanwhile.
        let rate = || {
            let limits = HttpLimits::from_config();
            (limits.min_body_rate, limits.body_grace)
        };
        assert_eq!(rate(), (240, Duration::from_secs(5)));
        for bad in ["min_body_rate: -1", "body_grace: -5", "body_grace: 1e400"] {
            let yaml = format!("http:\n  request:\n    {bad}\n");
            assert!(
                sylar_config::global().load_yaml_str(&yaml).is_err(),
                "{bad} accepted"
            );
        }
        assert_eq!(rate(), (240, Duration::from_secs(5)));
    }

    #[test]
    fn send_rate_variables_refuse_what_is_not_a_u64() {
        let rate = || {
            let limits = HttpLimits::from_config();
            (limits.min_send_rate, limits.send_grace)
        };
        assert_eq!(rate(), (240, Duration::from_secs(5)));
        for bad in [
            "min_send_rate: -1",
            "send_grace: -5",
            "send_grace: 1e400",
            "min_send_rate: fast",
        ] {
            let yaml = format!("http:\n  response:\n    {bad}\n");
            assert!(
                sylar_config::global().load_yaml_str(&yaml).is_err(),
                "{bad} accepted"
            );
        }
        assert_eq!(rate(), (240, Duration::from_secs(5)));
    }

    #[test]
    fn a_zero_or_unrepresentable_head_timeout_sets_no_deadline() {
        let now = Instant::now();
        let with = |head_timeout| HttpLimits {
            head_timeout,
            ..HttpLimits::default()
        };
        assert_eq!(with(Duration::ZERO).head_deadline(now), None);
        assert_eq!(with(Duration::MAX).head_deadline(now), None);
        let second = Duration::from_secs(1);
        assert_eq!(with(second).head_deadline(now), Some(now + second));
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
