//! Running a client as a subprocess with a deadline: its output is read as it comes, and past
//! the deadline its whole process group is killed, so what it printed so far can be shown.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};

/// How a run ended.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The exit code (`None`: killed by a signal, or by us at the deadline).
    pub code: Option<i32>,
    /// Whether the deadline passed and the process was killed.
    pub timed_out: bool,
    /// Its standard output.
    pub stdout: Vec<u8>,
    /// Its standard error.
    pub stderr: Vec<u8>,
}

impl Ran {
    /// The client's output, for failure messages.
    pub fn shown(&self) -> String {
        let cut = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(40);
            lines[start..].join("\n")
        };
        format!(
            "  stdout:\n{}\n  stderr:\n{}",
            indent(&cut(&self.stdout)),
            indent(&cut(&self.stderr))
        )
    }
}

fn indent(text: &str) -> String {
    if text.is_empty() {
        return "    (nothing)".to_owned();
    }
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `argv` in `dir` with stdin closed; kills it (and its children) after `timeout`.
/// `Err` when it cannot be started at all.
pub async fn run(argv: &[String], dir: &Path, timeout: Duration) -> Result<Ran, String> {
    let (program, args) = argv.split_first().ok_or("an empty command")?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run `{program}`: {e}"))?;
    let stdout = collect(child.stdout.take());
    let stderr = collect(child.stderr.take());
    let (code, timed_out) = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => (
            status
                .map_err(|e| format!("waiting for `{program}`: {e}"))?
                .code(),
            false,
        ),
        Err(_) => {
            kill_group(child.id());
            let _ = child.kill().await;
            (None, true)
        }
    };
    // A leftover grandchild may hold the pipes open: give the readers a moment, no more.
    let (stdout, stderr) = (stdout.finish().await, stderr.finish().await);
    Ok(Ran {
        code,
        timed_out,
        stdout,
        stderr,
    })
}

/// Kills the process group the child leads (a `sh -c` and what it started).
fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A pipe read to its end in a task; what arrived so far stays readable.
struct Collected {
    bytes: Arc<Mutex<Vec<u8>>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

fn collect<R: AsyncRead + Unpin + Send + 'static>(pipe: Option<R>) -> Collected {
    let bytes = Arc::new(Mutex::new(Vec::new()));
    let task = pipe.map(|mut pipe| {
        let sink = bytes.clone();
        tokio::spawn(async move {
            let mut chunk = [0; 8192];
            while let Ok(n @ 1..) = pipe.read(&mut chunk).await {
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(&chunk[..n]);
            }
        })
    });
    Collected { bytes, task }
}

impl Collected {
    async fn finish(self) -> Vec<u8> {
        if let Some(task) = self.task {
            let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
        }
        std::mem::take(&mut *self.bytes.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hanging_client_is_killed_with_its_output_kept() {
        let argv: Vec<String> = ["sh", "-c", "echo started; sleep 30"].map(String::from).to_vec();
        let started = std::time::Instant::now();
        let ran = run(&argv, Path::new("."), Duration::from_millis(300))
            .await
            .expect("starts");
        assert!(ran.timed_out);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "killed, not waited for"
        );
        assert_eq!(ran.stdout, b"started\n");
    }

    #[tokio::test]
    async fn exit_codes_and_missing_programs() {
        let argv: Vec<String> = ["sh", "-c", "echo oops >&2; exit 3"].map(String::from).to_vec();
        let ran = run(&argv, Path::new("."), Duration::from_secs(10))
            .await
            .expect("starts");
        assert_eq!((ran.code, ran.timed_out), (Some(3), false));
        assert!(ran.shown().contains("    oops"), "{}", ran.shown());
        let missing = run(
            &["mailrig-no-such-client".to_owned()],
            Path::new("."),
            Duration::from_secs(1),
        )
        .await;
        assert!(missing.is_err_and(|e| e.contains("cannot run `mailrig-no-such-client`")));
    }
}
