//! Child processes of tests: stop one the way Kubernetes stops a pod.

use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// Send SIGTERM and wait up to `within` for the exit. Panics, naming
/// `what`, when the signal cannot be sent or the process keeps running.
pub fn terminate(child: &mut Child, within: Duration, what: &str) -> ExitStatus {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("kill -TERM {what}: {e}"));
    assert!(sent.success(), "kill -TERM {what} failed");
    let deadline = Instant::now() + within;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status,
            Ok(None) => {}
            Err(e) => panic!("waiting for {what}: {e}"),
        }
        assert!(Instant::now() < deadline, "{what} ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}
