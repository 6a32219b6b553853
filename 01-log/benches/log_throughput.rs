//! Placeholder: the benchmark comes in a later commit.

fn main() {}
