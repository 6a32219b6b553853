//! The sylar server (placeholder).
fn main() {}
