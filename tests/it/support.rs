//! Helpers shared by the tests that run real clients as subprocesses.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output};

pub(crate) fn run(program: &str, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}); install it with `bash ci/setup.sh`"));
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    }
    drop(child.stdin.take());
    let output = child.wait_with_output().expect("wait");
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub(crate) fn python(script: &str, args: &[&str]) -> Output {
    let mut all = vec!["-c", script];
    all.extend_from_slice(args);
    run("python3", &all, None)
}

pub(crate) fn port(addr: std::net::SocketAddr) -> String {
    addr.port().to_string()
}

pub(crate) fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}
