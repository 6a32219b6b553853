//! # sylar-tcpserver — chapter 7 (in progress)

mod accept;
pub mod address;
mod connection;
pub mod http;
mod stream;
mod tcp_server;

pub use address::{Address, AddressError};
pub use connection::Connection;
pub use stream::Stream;
pub use tcp_server::{BindError, ClientHandler, TcpServer};
