//! [`ServletDispatch`]: which servlet answers which path.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use super::request::HttpRequest;
use super::response::HttpResponse;
use super::servlet::{NotFoundServlet, Servlet};
use super::words::for_each_word;

// ANCHOR: dispatch
/// Routes a request by its path: an exact path first (a map lookup), then
/// the glob patterns in the order they were added, then the default servlet
/// (a 404 page unless replaced). Like sylar's `ServletDispatch`, itself a
/// [`Servlet`].
///
/// Routes are set up before serving (`&mut self`) and then shared read-only
/// by every connection (`&self`), so dispatching takes no lock.
pub struct ServletDispatch {
    exact: HashMap<String, Arc<dyn Servlet>, BuildHasherDefault<RouteHash>>,
    globs: Vec<(String, Arc<dyn Servlet>)>,
    default: Arc<dyn Servlet>,
}
// ANCHOR_END: dispatch

impl ServletDispatch {
    /// No routes; everything gets the default 404 page.
    pub fn new() -> ServletDispatch {
        ServletDispatch {
            exact: HashMap::default(),
            globs: Vec::new(),
            default: Arc::new(NotFoundServlet::new("sylar-rs")),
        }
    }

    // ANCHOR: add_servlet
    /// Routes the exact path `path` (raw, as in [`HttpRequest::path`]) to
    /// `servlet`, replacing any servlet on that path.
    pub fn add_servlet(&mut self, path: &str, servlet: impl Servlet) {
        self.exact.insert(path.to_owned(), Arc::new(servlet));
    }

    /// Routes paths matching `pattern` to `servlet`. In a pattern `*` matches
    /// any run of characters, `/` included (`/static/*` matches
    /// `/static/css/a.css`); every other character matches itself. Patterns
    /// are tried in the order added; adding a pattern again replaces its
    /// servlet and keeps its place.
    pub fn add_glob_servlet(&mut self, pattern: &str, servlet: impl Servlet) {
        let servlet: Arc<dyn Servlet> = Arc::new(servlet);
        match self.globs.iter_mut().find(|(p, _)| p == pattern) {
            Some(entry) => entry.1 = servlet,
            None => self.globs.push((pattern.to_owned(), servlet)),
        }
    }
    // ANCHOR_END: add_servlet

    /// Removes the exact route `path`; true if there was one.
    pub fn remove_servlet(&mut self, path: &str) -> bool {
        self.exact.remove(path).is_some()
    }

    /// Removes the glob route `pattern`; true if there was one.
    pub fn remove_glob_servlet(&mut self, pattern: &str) -> bool {
        let before = self.globs.len();
        self.globs.retain(|(p, _)| p != pattern);
        self.globs.len() != before
    }

    /// Replaces the servlet for paths no route matches.
    pub fn set_default(&mut self, servlet: impl Servlet) {
        self.default = Arc::new(servlet);
    }

    // ANCHOR: route
    /// The servlet that answers `path`.
    pub fn servlet_for(&self, path: &str) -> &dyn Servlet {
        if let Some(servlet) = self.exact.get(path) {
            return servlet.as_ref();
        }
        self.globs
            .iter()
            .find(|(pattern, _)| glob_match(pattern, path))
            .map_or(self.default.as_ref(), |(_, servlet)| servlet.as_ref())
    }

    /// Dispatches: hands the request to the servlet for its path.
    pub fn handle(&self, req: &HttpRequest, resp: &mut HttpResponse) {
        self.servlet_for(req.path()).handle(req, resp);
    }
    // ANCHOR_END: route
}

// ANCHOR: route_hash
/// The hash of the exact-route table: the path read eight bytes at a time
/// (the words of `words.rs`), each word mixed in with one multiplication.
/// std's default, SipHash, is keyed so that an attacker cannot choose keys
/// that collide in a map that *stores* them; this map stores only the routes
/// set up before serving, so an unkeyed hash loses nothing, and a short path
/// costs a word or two instead of a step per byte.
#[derive(Debug, Clone, Copy)]
struct RouteHash(u64);

impl Default for RouteHash {
    /// A non-zero start: a first word equal to the state would otherwise
    /// multiply to zero.
    fn default() -> Self {
        RouteHash(0x243f_6a88_85a3_08d3) // the first digits of pi: nothing up our sleeve
    }
}

impl RouteHash {
    /// Mixes one word in: the full 128-bit product of the state (xor the
    /// word) and a large odd constant, its two halves xor-ed together. A
    /// 64-bit product alone only carries bits upwards, and the map picks a
    /// bucket by the low bits, so the high half is folded back down.
    fn add(&mut self, word: u64) {
        const K: u64 = 0x9e37_79b9_7f4a_7c15; // 2^64 over the golden ratio: odd, bits well spread
        let product = u128::from(self.0 ^ word) * u128::from(K);
        self.0 = product as u64 ^ (product >> 64) as u64;
    }
}

impl Hasher for RouteHash {
    fn write(&mut self, bytes: &[u8]) {
        // The length first: the words overlap when it is not a multiple of
        // eight, so two lengths could otherwise give the same words.
        self.add(bytes.len() as u64);
        for_each_word(bytes, |word| self.add(word));
    }

    /// The byte a `str` adds after its text (0xff), in one step.
    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
// ANCHOR_END: route_hash

impl Default for ServletDispatch {
    fn default() -> Self {
        ServletDispatch::new()
    }
}

impl Servlet for ServletDispatch {
    fn handle(&self, req: &HttpRequest, resp: &mut HttpResponse) {
        ServletDispatch::handle(self, req, resp);
    }

    fn name(&self) -> &str {
        "dispatch"
    }
}

impl fmt::Debug for ServletDispatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut exact: Vec<_> = self.exact.iter().map(|(p, s)| (p, s.name())).collect();
        exact.sort();
        let globs: Vec<_> = self.globs.iter().map(|(p, s)| (p, s.name())).collect();
        f.debug_struct("ServletDispatch")
            .field("exact", &exact)
            .field("globs", &globs)
            .field("default", &self.default.name())
            .finish()
    }
}

// ANCHOR: glob_match
/// True if `text` matches `pattern`, where `*` matches any run of bytes.
/// Greedy with one backtrack point: linear for typical patterns, never
/// exponential.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // The last `*` seen, and where in `text` its match currently ends.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((star_pi, star_ti)) = star {
            // Let the `*` swallow one more byte and retry after it.
            pi = star_pi + 1;
            ti = star_ti + 1;
            star = Some((star_pi, star_ti + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}
// ANCHOR_END: glob_match

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("/static/*", "/static/a/b.css"));
        assert!(glob_match("/static/*", "/static/"));
        assert!(!glob_match("/static/*", "/static"));
        assert!(glob_match("*", ""));
        assert!(glob_match("/a*b*c", "/aXbYbZc"));
        assert!(!glob_match("/a*b*c", "/aXbYbZ"));
        assert!(glob_match("*.png", "/img/x.png"));
        assert!(!glob_match("/exact", "/exact/"));
        assert!(glob_match("/a**", "/a"));
        let long = "a".repeat(10_000);
        assert!(!glob_match("*a*a*a*a*a*b", &long));
    }

    fn route_hash(text: &str) -> u64 {
        use std::hash::BuildHasher;
        BuildHasherDefault::<RouteHash>::default().hash_one(text)
    }

    #[test]
    fn every_bit_of_a_path_moves_the_bucket() {
        // The map picks a bucket by the low bits: flipping any one bit of a
        // path, at any length (every case of `any_word`), must change them.
        let base: Vec<u8> = b"/static/css/site-2.css?v=1".to_vec();
        for len in 0..=base.len() {
            let path = &base[..len];
            let low = |bytes: &[u8]| route_hash(std::str::from_utf8(bytes).unwrap()) & 0xffff;
            for bit in 0..len * 8 {
                let mut flipped = path.to_vec();
                flipped[bit / 8] ^= 1 << (bit % 8);
                if flipped[bit / 8] >= 0x80 {
                    continue; // not a str on its own
                }
                assert_ne!(low(path), low(&flipped), "{path:?}, bit {bit}");
            }
        }
    }

    #[test]
    fn lengths_and_repeats_hash_apart() {
        // Paths that share words (one a prefix of the other, or the same
        // word twice) still differ.
        let paths = [
            "",
            "/",
            "/a",
            "/ab",
            "/abc",
            "/abcdefg",
            "/abcdefg/abcdefg",
            "/hello",
            "/hello/",
            // Overlapping last words and short-word packing used to give
            // these pairs the same hash.
            "/aaab",
            "/aaaab",
            "/aaaaaaab",
            "/aaaaaaaab",
            "\0",
        ];
        let mut hashes: Vec<u64> = paths.iter().map(|p| route_hash(p)).collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), paths.len());
        assert_eq!(route_hash("/hello"), route_hash(&String::from("/hello")));
    }

    fn named(name: &'static str) -> impl Servlet {
        move |_: &HttpRequest, resp: &mut HttpResponse| resp.set_body(name)
    }

    fn route(dispatch: &ServletDispatch, path: &str) -> String {
        let mut resp = HttpResponse::default();
        dispatch.handle(
            &HttpRequest::new(super::super::Method::Get, path),
            &mut resp,
        );
        if resp.status() == 404 {
            return "404".into();
        }
        String::from_utf8(resp.body().to_vec()).unwrap()
    }

    #[test]
    fn exact_then_globs_in_order_then_default() {
        let mut d = ServletDispatch::new();
        d.add_glob_servlet("/a/*", named("glob-a"));
        d.add_glob_servlet("/*", named("glob-all"));
        d.add_servlet("/a/exact", named("exact"));
        assert_eq!(route(&d, "/a/exact"), "exact");
        assert_eq!(route(&d, "/a/other"), "glob-a");
        assert_eq!(route(&d, "/b"), "glob-all");
        d.add_glob_servlet("/a/*", named("glob-a2"));
        assert_eq!(route(&d, "/a/other"), "glob-a2");
        assert!(d.remove_glob_servlet("/*"));
        assert_eq!(route(&d, "/b"), "404");
        assert!(d.remove_servlet("/a/exact"));
        assert_eq!(route(&d, "/a/exact"), "glob-a2");
        d.set_default(named("fallback"));
        assert_eq!(route(&d, "/zzz"), "fallback");
    }
}
