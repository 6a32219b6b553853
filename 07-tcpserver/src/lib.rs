//! # sylar-tcpserver — chapter 7 (placeholder)

pub mod http;
