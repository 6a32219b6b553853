//! [`Method`]: the request method, the first token of the request line.

use std::fmt;
use std::str::FromStr;

// ANCHOR: method
/// An HTTP request method.
///
/// The eight methods of RFC 9110 and `PATCH` get their own variant, so that the
/// common case neither allocates nor compares strings; any other valid token
/// (`PROPFIND`, `MKCOL`, ...) is kept as [`Method::Other`]. Methods are
/// case-sensitive: `get` is not `GET`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`: fetch a resource.
    Get,
    /// `HEAD`: as `GET`, but the response carries no body.
    Head,
    /// `POST`: submit a body for the resource to process.
    Post,
    /// `PUT`: replace the resource with the body.
    Put,
    /// `DELETE`: remove the resource.
    Delete,
    /// `OPTIONS`: ask what the resource (or the server, `*`) supports.
    Options,
    /// `PATCH`: modify the resource partially.
    Patch,
    /// `TRACE`: echo the request back (a diagnostic).
    Trace,
    /// `CONNECT`: open a tunnel. We are not a proxy: it reaches the servlets as
    /// is, and a 2xx answer to it ends the connection (no tunnel is provided).
    Connect,
    /// Any other method token, exactly as sent.
    Other(String),
}
// ANCHOR_END: method

/// The error of [`Method::from_str`]: the text is not an RFC 9110 token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidMethod;

impl fmt::Display for InvalidMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid HTTP method token")
    }
}

impl std::error::Error for InvalidMethod {}

impl Method {
    /// The method as it appears on the request line.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Patch => "PATCH",
            Method::Trace => "TRACE",
            Method::Connect => "CONNECT",
            Method::Other(token) => token,
        }
    }

    /// Maps a token that is already known to be valid (httparse checked it) to a
    /// method. Allocates only for methods outside the list above.
    #[inline] // once a request, from the parser: no call
    pub(crate) fn from_token(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            "PATCH" => Method::Patch,
            "TRACE" => Method::Trace,
            "CONNECT" => Method::Connect,
            other => Method::Other(other.to_owned()),
        }
    }

    /// True if `token` is a non-empty RFC 9110 token (`1*tchar`): the only
    /// text a method, or a header name, may be.
    pub fn is_token(token: &str) -> bool {
        !token.is_empty() && token.bytes().all(is_tchar)
    }
}

// ANCHOR: tchar
/// `tchar` of RFC 9110 §5.6.2: letters, digits and ``!#$%&'*+-.^_`|~``.
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// [`is_tchar`]'s answer for every byte, worked out at compile time: one
/// load a byte instead of a dozen comparisons (every response checks the
/// names of its header fields).
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    table
};
// ANCHOR_END: tchar

impl FromStr for Method {
    type Err = InvalidMethod;

    /// Parses a method token: `"GET"` is [`Method::Get`], `"PROPFIND"` is
    /// [`Method::Other`], and anything that is not a token (`""`, `"GE T"`) is
    /// an error.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if Method::is_token(s) {
            Ok(Method::from_token(s))
        } else {
            Err(InvalidMethod)
        }
    }
}

impl From<&str> for Method {
    /// Converts without validating: an invalid token becomes [`Method::Other`]
    /// and is refused later, where it would be sent ([`HttpConnection`] checks).
    ///
    /// [`HttpConnection`]: super::HttpConnection
    fn from(s: &str) -> Self {
        Method::from_token(s)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_methods_round_trip() {
        for name in [
            "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT",
        ] {
            let method: Method = name.parse().unwrap();
            assert!(!matches!(method, Method::Other(_)), "{name}");
            assert_eq!(method.as_str(), name);
        }
    }

    #[test]
    fn other_tokens_are_kept_and_case_matters() {
        assert_eq!("PROPFIND".parse(), Ok(Method::Other("PROPFIND".into())));
        assert_eq!("get".parse(), Ok(Method::Other("get".into())));
    }

    #[test]
    fn tchar_table_is_rfc_9110() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            assert_eq!(is_tchar(b), expected, "byte {b:#04x}");
        }
    }

    #[test]
    fn non_tokens_are_refused() {
        for bad in ["", "GE T", "GET\r", "(GET)", "GÉT"] {
            assert_eq!(bad.parse::<Method>(), Err(InvalidMethod), "{bad:?}");
        }
    }
}
