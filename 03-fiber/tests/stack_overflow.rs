//! A fiber that overflows its stack kills the process with a clear message.
//! The overflow runs in a child process: this test binary re-runs itself.

use std::process::Command;

use sylar_fiber::{Fiber, Outcome};

const CHILD_ENV: &str = "SYLAR_FIBER_OVERFLOW_CHILD";

/// Recurses until the stack runs out (the limit is never reached in practice).
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let buffer = [depth as u8; 1024];
    std::hint::black_box(&buffer);
    if depth == u64::MAX {
        return 0;
    }
    recurse(depth + 1) + buffer[0] as u64
}

#[test]
fn stack_overflow_in_a_fiber_is_reported_and_fatal() {
    if std::env::var_os(CHILD_ENV).is_some() {
        let fiber = Fiber::with_stack_size(32 * 1024, || {
            std::hint::black_box(recurse(0));
        })
        .unwrap();
        let _ = std::hint::black_box(matches!(fiber.resume(), Outcome::Finished(_)));
        unreachable!("the overflow must have killed the process");
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "stack_overflow_in_a_fiber_is_reported_and_fatal",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the child must die: {stderr}");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGSEGV),
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains("overflowed its stack") && stderr.contains("fiber.stack_size"),
        "stderr: {stderr}"
    );
}
