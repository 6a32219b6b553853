//! [`Version`]: the protocol version on the request and status lines.

use std::fmt;

/// An HTTP/1.x version. These are the only two `httparse` accepts; a request for
/// another well-formed version (`HTTP/2.0`, `HTTP/1.2`) is answered with 505.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Version {
    /// HTTP/1.0: connections close after each response unless the client asks
    /// for `Connection: keep-alive`; no chunked encoding.
    Http10,
    /// HTTP/1.1: connections stay open unless either side says
    /// `Connection: close`. The default: what every client we build sends.
    #[default]
    Http11,
}

impl Version {
    /// The version as written on the wire: `"HTTP/1.0"` or `"HTTP/1.1"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }

    /// From httparse's minor version number (0 or 1; it refuses every other).
    pub(crate) fn from_minor(minor: u8) -> Version {
        if minor == 0 {
            Version::Http10
        } else {
            Version::Http11
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names() {
        assert_eq!(Version::Http10.as_str(), "HTTP/1.0");
        assert_eq!(Version::Http11.to_string(), "HTTP/1.1");
        assert_eq!(Version::from_minor(0), Version::Http10);
        assert_eq!(Version::from_minor(1), Version::Http11);
    }
}
