//! Child processes of tests: run one with input on stdin, stop one the way
//! Kubernetes stops a pod.

use std::io::Write as _;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
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

/// Run `cmd` with `input` on its stdin (closed after it) and collect its
/// stdout and stderr, as `kubectl apply -f -` wants.
pub fn output_with_stdin(cmd: &mut Command, input: &str) -> std::io::Result<Output> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes())?;
    }
    child.wait_with_output()
}
