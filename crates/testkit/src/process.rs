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

/// A `/proc/<pid>/status` field in KiB (`VmRSS:`, `VmHWM:`); 0 when the
/// process or the field is gone.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// utime + stime of a process, in seconds (0 when it is gone).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after `(comm)`, which may hold spaces: utime and stime are
    // fields 14 and 15 of the line, 12 and 13 of the rest.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let hz = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);
    (ticks(11) + ticks(12)) as f64 / hz
}

/// The `p`-th percentile (nearest rank) of sorted durations; None when empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied()
}
