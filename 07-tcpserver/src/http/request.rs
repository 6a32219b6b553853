//! [`HttpRequest`]: what a servlet is handed.

use std::ops::Range;

use super::headers::Headers;
use super::method::Method;
use super::query::{percent_decode, query_pairs};
use super::version::Version;
use super::words::any_word;

// ANCHOR: request
/// One HTTP request: method, target (path and query), version, headers, body.
///
/// The session fills one `HttpRequest` per connection again and again (every
/// field keeps its memory), so a steady stream of requests costs no allocation
/// here. Tests and the [client](super::HttpConnection) build their own with
/// [`HttpRequest::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    method: Method,
    version: Version,
    /// The request-target as sent, less any `#fragment`.
    target: String,
    /// The path's bytes within `target` (empty for `http://host` alone).
    path: Range<usize>,
    /// The query's bytes within `target`, after the `?`.
    query: Option<Range<usize>>,
    headers: Headers,
    body: Vec<u8>,
}
// ANCHOR_END: request

impl HttpRequest {
    /// A request for `target` (`/path?query`, or an absolute `http://host/path`),
    /// HTTP/1.1, no headers, no body.
    pub fn new(method: Method, target: &str) -> HttpRequest {
        let mut request = HttpRequest {
            method,
            version: Version::Http11,
            target: String::new(),
            path: 0..0,
            query: None,
            headers: Headers::new(),
            body: Vec::new(),
        };
        request.set_target(target);
        request
    }

    /// This request with another version.
    pub fn with_version(mut self, version: Version) -> HttpRequest {
        self.version = version;
        self
    }

    /// This request with one more header field.
    pub fn with_header(mut self, name: &str, value: &str) -> HttpRequest {
        self.headers.append(name, value);
        self
    }

    /// This request with `body`.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> HttpRequest {
        self.body = body.into();
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The request-target as sent (`/a/b?x=1`), without a fragment.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path, raw: no percent-decoding (`/a%20b` stays so), no query.
    /// An absolute-form target (`http://host/a`) gives its path (`/a`, or `/`
    /// when it has none); `OPTIONS *` gives `*`.
    pub fn path(&self) -> &str {
        match &self.target[self.path.clone()] {
            "" => "/",
            path => path,
        }
    }

    /// The raw query string after `?`, if the target has one.
    pub fn query(&self) -> Option<&str> {
        self.query.clone().map(|range| &self.target[range])
    }

    /// The decoded value of the first query parameter called `name`
    /// (`?q=a+b%21` gives `q` = `"a b!"`). Names are compared after decoding,
    /// case-sensitively.
    pub fn query_param(&self, name: &str) -> Option<String> {
        query_pairs(self.query()?)
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.into_owned())
    }

    /// Every query parameter, decoded, in order.
    pub fn query_params(&self) -> Vec<(String, String)> {
        self.query()
            .map(|q| {
                query_pairs(q)
                    .map(|(n, v)| (n.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The path with `%XX` escapes decoded (but `+` kept: it is only a space in
    /// queries). For matching or logging; routing uses the raw [`path`](Self::path).
    pub fn decoded_path(&self) -> String {
        percent_decode(&self.path().replace('+', "%2B")).into_owned()
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The header fields, to change.
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The body, decoded from its `Content-Length` or chunked framing.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Replaces the body.
    pub fn set_body(&mut self, body: impl Into<Vec<u8>>) {
        self.body = body.into();
    }

    /// Replaces the method.
    pub fn set_method(&mut self, method: Method) {
        self.method = method;
    }

    /// Replaces the version.
    pub fn set_version(&mut self, version: Version) {
        self.version = version;
    }

    // ANCHOR: keep_alive
    /// Whether the client wants the connection kept open after this request:
    /// HTTP/1.1 unless it sent `Connection: close`; HTTP/1.0 only if it sent
    /// `Connection: keep-alive` (and not `close`).
    #[inline] // once a request, and short: no call
    pub fn keep_alive(&self) -> bool {
        if self.headers.has_token("connection", "close") {
            return false;
        }
        match self.version {
            Version::Http11 => true,
            Version::Http10 => self.headers.has_token("connection", "keep-alive"),
        }
    }
    // ANCHOR_END: keep_alive

    // ANCHOR: set_target
    /// Replaces the target and finds its path and query. The session validates
    /// the target's form before calling this; here any text is accepted.
    pub fn set_target(&mut self, target: &str) {
        self.target.clear();
        if target.starts_with('/') && !has_query_or_fragment(target.as_bytes()) {
            // The common case, a bare path: no delimiters to look for.
            self.target.push_str(target);
            self.path = 0..target.len();
            self.query = None;
            return;
        }
        let target = &target[..find_byte(target, b'#').unwrap_or(target.len())];
        self.target.push_str(target);
        let path_start = authority_end(target);
        let path_end =
            find_byte(&target[path_start..], b'?').map_or(target.len(), |at| path_start + at);
        self.path = path_start..path_end;
        self.query = (path_end < target.len()).then(|| path_end + 1..target.len());
    }
    // ANCHOR_END: set_target

    /// Mutable parts for the parser, which fills a reused request in place.
    pub(crate) fn parts_mut(&mut self) -> (&mut Method, &mut Version, &mut Headers, &mut Vec<u8>) {
        (
            &mut self.method,
            &mut self.version,
            &mut self.headers,
            &mut self.body,
        )
    }

    /// Empties the request for the next one on the connection, keeping memory
    /// up to `keep` bytes a buffer.
    #[inline] // once a request, from the session: no call
    pub(crate) fn recycle(&mut self, keep: usize) {
        // A refusal of the next request reads the method to know whether
        // it was a HEAD: a method left from this one must not answer for it.
        self.method = Method::Get;
        self.headers.clear();
        self.headers.shrink_to(keep);
        self.body.clear();
        if self.body.capacity() > keep {
            self.body = Vec::new();
        }
        if self.target.capacity() > keep {
            self.target = String::new();
        }
    }
}

impl Default for HttpRequest {
    /// `GET / HTTP/1.1`, no headers, no body.
    fn default() -> Self {
        HttpRequest::new(Method::Get, "/")
    }
}

/// Where the first `byte` (an ASCII delimiter) is in `text`. A plain scan:
/// request targets are short, and a `str` pattern search sets up more than
/// it saves on them.
fn find_byte(text: &str, byte: u8) -> Option<usize> {
    text.bytes().position(|b| b == byte)
}

/// True if `bytes` holds a `?` or a `#`: one test for the two delimiters of
/// a request target, a word at a time (see `words.rs`) rather than a scan a
/// byte at a time for each.
fn has_query_or_fragment(bytes: &[u8]) -> bool {
    const LOW: u64 = 0x0101_0101_0101_0101; // 0x01 in every byte
    // A byte of `word` is 0 (the classic test: subtracting 1 borrows into
    // its top bit, which was clear), or `?`, or `#` (0 once xor-ed with it).
    // The zero bytes that pad a short string xor to `?` or `#`: never 0.
    let has_zero = |word: u64| word.wrapping_sub(LOW) & !word & (LOW * 0x80) != 0;
    any_word(bytes, |word| {
        has_zero(word ^ (LOW * u64::from(b'?'))) || has_zero(word ^ (LOW * u64::from(b'#')))
    })
}

/// Where the path of `target` starts: after `scheme://authority` in the
/// absolute form (`http://host:80/x` gives 16), else 0.
fn authority_end(target: &str) -> usize {
    if target.starts_with('/') {
        return 0; // the origin form, by far the most common: no authority
    }
    let Some(scheme_end) = target.find("://") else {
        return 0;
    };
    let scheme = &target[..scheme_end];
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return 0;
    }
    let authority_start = scheme_end + 3;
    target[authority_start..]
        .find(['/', '?'])
        .map_or(target.len(), |at| authority_start + at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_found_at_every_length_and_position() {
        for len in 0..24 {
            // Bytes near `?` (0x3f) and `#` (0x23), and with the top bit set.
            for filler in [b'a', b'>', b'@', b'"', b'$', 0xbf, 0xa3, 0xff, 0] {
                let clean = vec![filler; len];
                assert!(
                    !has_query_or_fragment(&clean),
                    "len {len}, filler {filler:#x}"
                );
                for at in 0..len {
                    for delimiter in [b'?', b'#'] {
                        let mut bytes = clean.clone();
                        bytes[at] = delimiter;
                        assert!(has_query_or_fragment(&bytes), "len {len}, at {at}");
                    }
                }
            }
        }
    }

    #[test]
    fn path_and_query_are_split() {
        let req = HttpRequest::new(Method::Get, "/a/b%20c?x=1&y=%C3%A9#frag");
        assert_eq!(req.target(), "/a/b%20c?x=1&y=%C3%A9");
        assert_eq!(req.path(), "/a/b%20c");
        assert_eq!(req.decoded_path(), "/a/b c");
        assert_eq!(req.query(), Some("x=1&y=%C3%A9"));
        assert_eq!(req.query_param("y").as_deref(), Some("é"));
        assert_eq!(req.query_param("z"), None);
        assert_eq!(req.query_params().len(), 2);
    }

    #[test]
    fn no_query_is_none_and_empty_query_is_some() {
        assert_eq!(HttpRequest::new(Method::Get, "/a").query(), None);
        assert_eq!(HttpRequest::new(Method::Get, "/a?").query(), Some(""));
    }

    #[test]
    fn absolute_form_gives_its_path() {
        let req = HttpRequest::new(Method::Get, "http://example.com:8080/p?q=1");
        assert_eq!(req.path(), "/p");
        assert_eq!(req.query(), Some("q=1"));
        assert_eq!(
            HttpRequest::new(Method::Get, "http://example.com").path(),
            "/"
        );
        assert_eq!(
            HttpRequest::new(Method::Get, "https://h?x").query(),
            Some("x")
        );
    }

    #[test]
    fn fragments_and_queries_in_any_order() {
        // (target, kept target, path, query)
        for (target, kept, path, query) in [
            ("/p#f?x", "/p", "/p", None),
            ("/p?x#f?y", "/p?x", "/p", Some("x")),
            ("/p?x?y", "/p?x?y", "/p", Some("x?y")),
            ("/p#", "/p", "/p", None),
            ("http://h?q#f", "http://h?q", "/", Some("q")),
            ("http://h#f?q", "http://h", "/", None),
            ("a?b://c/d", "a?b://c/d", "a", Some("b://c/d")),
        ] {
            let req = HttpRequest::new(Method::Get, target);
            assert_eq!(
                (req.target(), req.path(), req.query()),
                (kept, path, query),
                "{target}"
            );
        }
    }

    #[test]
    fn asterisk_form() {
        assert_eq!(HttpRequest::new(Method::Options, "*").path(), "*");
    }

    #[test]
    fn keep_alive_rules() {
        let v11 = HttpRequest::new(Method::Get, "/");
        assert!(v11.keep_alive());
        assert!(!v11.clone().with_header("Connection", "Close").keep_alive());
        let v10 = HttpRequest::new(Method::Get, "/").with_version(Version::Http10);
        assert!(!v10.keep_alive());
        assert!(
            v10.clone()
                .with_header("connection", "Keep-Alive")
                .keep_alive()
        );
        assert!(
            !v10.with_header("Connection", "keep-alive, close")
                .keep_alive()
        );
    }

    #[test]
    fn recycle_keeps_small_buffers() {
        let mut req = HttpRequest::new(Method::Post, "/")
            .with_header("A", "b")
            .with_body(vec![1; 10]);
        req.recycle(1024);
        assert!(req.headers().is_empty());
        assert!(req.body().is_empty());
        assert!(req.body.capacity() >= 10);
        req.set_body(vec![0; 4096]);
        req.recycle(1024);
        assert_eq!(req.body.capacity(), 0);
    }
}
