//! Where a server listens: an IPv4 or IPv6 socket address, or a Unix socket path.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::str::FromStr;

// ANCHOR: address
/// A listening address (sylar's `Address` hierarchy, as an enum).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    /// `127.0.0.1:8090`, `[::1]:8090`, `0.0.0.0:0` (any free port).
    Inet(SocketAddr),
    /// `unix:/run/sylar.sock`.
    Unix(PathBuf),
}
// ANCHOR_END: address

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Inet(addr) => write!(f, "{addr}"),
            Address::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// Why a string is not an [`Address`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressError(pub String);

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not an address: {:?} (expected host:port, [v6]:port or unix:/path)",
            self.0
        )
    }
}

impl std::error::Error for AddressError {}

impl FromStr for Address {
    type Err = AddressError;

    /// Parses `unix:/path` or an IP socket address. Host names are resolved
    /// here, once, at start-up (resolution blocks and cannot be hooked).
    fn from_str(s: &str) -> Result<Address, AddressError> {
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(AddressError(s.to_string()));
            }
            return Ok(Address::Unix(PathBuf::from(path)));
        }
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Ok(Address::Inet(addr));
        }
        s.to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .map(Address::Inet)
            .ok_or_else(|| AddressError(s.to_string()))
    }
}

impl From<SocketAddr> for Address {
    fn from(addr: SocketAddr) -> Address {
        Address::Inet(addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(
            "127.0.0.1:80".parse::<Address>().unwrap(),
            Address::Inet("127.0.0.1:80".parse().unwrap())
        );
        assert_eq!(
            "[::1]:8080".parse::<Address>().unwrap().to_string(),
            "[::1]:8080"
        );
        assert_eq!(
            "unix:/tmp/x.sock".parse::<Address>().unwrap(),
            Address::Unix("/tmp/x.sock".into())
        );
        assert!("unix:".parse::<Address>().is_err());
        assert!("no port here".parse::<Address>().is_err());
        assert!("localhost:0".parse::<Address>().is_ok());
    }
}
