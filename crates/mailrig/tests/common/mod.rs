//! What the CLI test binaries share: the `mailrig` command and a `mailrig serve` started on
//! free ports.

use std::fs;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;

/// The `mailrig` binary under test; killed (and the test failed) if it runs for 2 minutes.
pub(crate) fn mailrig() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("mailrig"));
    cmd.timeout(Duration::from_secs(120));
    cmd
}

/// Starts `mailrig serve ARGS --ready-file DIR/ready.json` and waits (at most 20 s) for its
/// ready file (written atomically); returns the process and the file's JSON. `capture` pipes
/// its output for the test to read after it exits; otherwise the output is discarded, for
/// servers that log more than a pipe holds while nobody reads it.
pub(crate) fn start_serve(args: &[&str], dir: &Path, capture: bool) -> (Child, serde_json::Value) {
    let ready = dir.join("ready.json");
    let output = || if capture { Stdio::piped() } else { Stdio::null() };
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("mailrig"))
        .arg("serve")
        .args(args)
        .arg("--ready-file")
        .arg(&ready)
        .stdout(output())
        .stderr(output())
        .spawn()
        .expect("mailrig serve starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready.exists() {
        assert!(Instant::now() < deadline, "no ready file within 20 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let info = serde_json::from_str(&fs::read_to_string(&ready).expect("ready file")).expect("JSON");
    (child, info)
}
