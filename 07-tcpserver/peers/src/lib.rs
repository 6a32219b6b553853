//! Shared bits of the peer binaries: the response every server sends and the
//! tiny command-line parser they all use.
//!
//! Every server in the comparison answers `GET /hello` with the same 11-byte
//! body, `text/plain`, keep-alive; anything else gets a 404. Keeping the
//! constants here makes it easy to check that the peers agree with each other.

use std::net::SocketAddr;

/// The body every server sends for `GET /hello`.
pub const HELLO_BODY: &str = "Hello World";

/// The path the benchmark requests.
pub const HELLO_PATH: &str = "/hello";

/// Reads `--bind ADDR` from the command line, or returns `default`.
///
/// Exits with a usage message on anything it does not understand, so a typo
/// in a script fails loudly instead of benchmarking the wrong port.
pub fn bind_addr(program: &str, default: &str) -> SocketAddr {
    let mut args = std::env::args().skip(1);
    let mut bind = default.to_owned();
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--bind", Some(addr)) => bind = addr,
            _ => usage(program, default),
        }
    }
    bind.parse().unwrap_or_else(|e| {
        eprintln!("{program}: bad --bind address {bind:?}: {e}");
        std::process::exit(2);
    })
}

fn usage(program: &str, default: &str) -> ! {
    eprintln!("usage: {program} [--bind ADDR]   (default {default})");
    std::process::exit(2);
}
