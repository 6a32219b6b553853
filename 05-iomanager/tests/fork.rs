//! `run_blocking` in the child of a `fork` made while the pool was running.
//!
//! The child inherits the pool's queue and its count of threads, but not the
//! threads: a job queued there would wait for ever (and the queue's lock may
//! have been held by a helper that no longer exists). The pool marks the
//! child with a `pthread_atfork` handler and runs jobs in place there. This
//! test is alone in its binary: a fork copies the whole process, and no
//! other test's threads should be in it.
//!
//! Forking once threads exist is still a bad idea for a program (daemonise
//! first); this is the defence for the programs that do it anyway, std's
//! `Command` with a `pre_exec` closure among them.

use std::time::Duration;

use sylar_iomanager::{IoHandle, IoManager};

/// The child's alarm: a hang is killed by SIGALRM, which the parent reports,
/// instead of hanging the test run. Generous: a correct child needs
/// milliseconds.
const ALARM: Duration = Duration::from_secs(30);

/// How the child ended, in its exit status.
const CHILD_OK: i32 = 0;
const CHILD_WRONG_RESULT: i32 = 2;
const CHILD_PANICKED: i32 = 3;

/// What the child does after the fork. It stays on one thread: a
/// `use_caller` I/O manager with one worker starts no thread, and runs its
/// fiber on the calling thread inside `stop`. Strictly, a child of a
/// threaded process may only make async-signal-safe calls; this one also
/// allocates and takes locks, which is sound here because the parent was
/// quiet when it forked (see the test): glibc's `fork` hands the child
/// usable `malloc` locks, and the parent's only other threads were the
/// test harness, waiting for this test, and the pool's helper, which takes
/// no lock but the pool's. So the locks the child takes (the I/O manager
/// list, the configuration, a new scheduler's own) were free. The pool's
/// lock is the one that may not be, and the child's pool must not touch
/// it: that is under test.
fn child() -> i32 {
    let iom = IoManager::new(1, true, "child").unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    iom.schedule(move || {
        let io = IoHandle::current().unwrap();
        let value = io.run_blocking(|| 6 * 7);
        tx.send((value, io.blocking_calls_sent())).unwrap();
    })
    .unwrap();
    iom.stop(); // runs the fiber here
    match rx.try_recv() {
        // The fiber parked (one call sent) and got its value back.
        Ok((42, 1)) => CHILD_OK,
        _ => CHILD_WRONG_RESULT,
    }
}

#[test]
fn a_forked_child_runs_blocking_calls_in_place() {
    // Start the pool in the parent: one call from a fiber, on a helper.
    let iom = IoManager::new(1, false, "parent").unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    iom.schedule(move || {
        let io = IoHandle::current().unwrap();
        let helper = io.run_blocking(|| std::thread::current().name().map(str::to_owned));
        tx.send(helper).unwrap();
    })
    .unwrap();
    let helper = rx.recv_timeout(ALARM).unwrap();
    assert_eq!(helper.as_deref(), Some("sylar-blocking"));
    assert_eq!(iom.blocking_calls_sent(), 1);
    // Quiet the parent before forking: its workers are joined; the helper
    // thread lives on, idle (or about to be), holding the pool's count.
    iom.stop();
    drop(iom);

    // SAFETY: fork(2). The child calls `alarm` (async-signal-safe), then
    // `child`, whose calls are argued safe at its definition, and leaves
    // with `_exit`, never returning into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: alarm and _exit are async-signal-safe; a panic is caught
        // so that the child never unwinds into a copy of the test harness.
        unsafe {
            libc::alarm(ALARM.as_secs() as libc::c_uint);
            let code = std::panic::catch_unwind(child).unwrap_or(CHILD_PANICKED);
            libc::_exit(code);
        }
    }
    let mut status = 0;
    // SAFETY: waits for our own child, writing its status to a local.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid, "{}", std::io::Error::last_os_error());
    assert!(
        !(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGALRM),
        "the child hung in run_blocking (killed by its alarm)"
    );
    assert!(
        libc::WIFEXITED(status),
        "the child died: status {status:#x}"
    );
    assert_eq!(libc::WEXITSTATUS(status), CHILD_OK, "the child's exit code");
}
