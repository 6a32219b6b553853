//! No busy loop: an idle I/O manager uses no CPU. Alone in its test binary,
//! because it measures the CPU time of the whole process.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::PATIENCE;
use sylar_iomanager::{IoHandle, IoManager};

fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct we pass.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[test]
fn an_idle_io_manager_uses_no_cpu() {
    let iom = IoManager::new(2, false, "idle").unwrap();
    // Make sure both workers have started and gone idle.
    let (tx, rx) = mpsc::channel();
    for _ in 0..2 {
        let tx = tx.clone();
        iom.schedule(move || tx.send(IoHandle::current().is_some()).unwrap())
            .unwrap();
    }
    assert!(rx.recv_timeout(PATIENCE).unwrap() && rx.recv_timeout(PATIENCE).unwrap());
    let before = cpu_time();
    // Wall-clock time passing is the point here, not a synchronisation.
    std::thread::sleep(Duration::from_millis(500));
    let used = cpu_time() - before;
    iom.stop();
    // A busy loop would burn ~1 s of CPU (2 threads × 0.5 s). Allow noise.
    assert!(
        used < Duration::from_millis(100),
        "idle workers used {used:?} of CPU"
    );
}
