//! The sylar server (placeholder until chapter 7 lands).
fn main() {}
