//! Helpers shared by the tests that run real clients as subprocesses. Every run has a deadline:
//! a client that hangs is killed and the test fails with what it printed so far, so a hang
//! never stalls the suite.

use std::io::{Read, Write as _};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long one client run may take. The clients finish in well under a second here; the
/// margin is for a loaded 2-core CI machine.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `program` with `args` (and `stdin`, if given) and asserts that it succeeds within
/// [`TIMEOUT`]. Panics with the program's output otherwise.
pub(crate) fn run(program: &str, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let output = run_unchecked(program, args, stdin, TIMEOUT);
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs `program` like [`run`] but returns its output whatever its exit status. Panics if the
/// program cannot be started or does not exit within `timeout` (it is killed first).
pub(crate) fn run_unchecked(program: &str, args: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Output {
    let deadline = Instant::now() + timeout;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}); {INSTALL_HINT}"));
    let input = child.stdin.take().expect("piped stdin");
    let stdin = stdin.unwrap_or_default().to_vec();
    // In a thread, so a child that prints a lot before reading cannot deadlock the test.
    thread::spawn(move || {
        let mut input = input;
        let _ = input.write_all(&stdin);
    });
    let (stdout, stderr) = (
        Captured::start(&mut child.stdout),
        Captured::start(&mut child.stderr),
    );
    let hung = |what: &str| -> ! {
        panic!(
            "{program} {args:?} {what} within {timeout:?}\nstdout so far:\n{}\nstderr so far:\n{}",
            stdout.text(),
            stderr.text()
        )
    };
    let Some(status) = wait_until(&mut child, deadline) else {
        hung("was killed: it did not exit")
    };
    if !(stdout.finish(deadline) && stderr.finish(deadline)) {
        hung("exited but its output stayed open (a leftover child process?)")
    }
    Output {
        status,
        stdout: stdout.take(),
        stderr: stderr.take(),
    }
}

/// Python 3 running `script` with `args`; must succeed within [`TIMEOUT`].
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

const INSTALL_HINT: &str = "`cargo test` needs curl and python3; the other clients (swaks, \
    msmtp, mbsync) are installed by `bash ci/interop.sh` (as root, on Debian or Ubuntu), which \
    runs the tests that need them with `--features interop`";

/// Waits for `child` to exit until `deadline`; past it, kills the child and returns `None`.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// One output pipe of a child, read to its end by a thread; what arrived so far stays
/// readable while the thread runs.
struct Captured {
    bytes: Arc<Mutex<Vec<u8>>>,
    done: Receiver<()>,
}

impl Captured {
    fn start<R: Read + Send + 'static>(pipe: &mut Option<R>) -> Captured {
        let mut pipe = pipe.take().expect("piped output");
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let (tell, done) = mpsc::channel();
        let sink = Arc::clone(&bytes);
        thread::spawn(move || {
            let mut chunk = [0; 8192];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                sink.lock().expect("output lock").extend_from_slice(&chunk[..n]);
            }
            let _ = tell.send(());
        });
        Captured { bytes, done }
    }

    /// Whether the pipe reached its end before `deadline`.
    fn finish(&self, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        self.done.recv_timeout(left).is_ok()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes.lock().expect("output lock")).into_owned()
    }

    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.bytes.lock().expect("output lock"))
    }
}

mod tests {
    use super::*;

    /// The panic message of `f`, which must panic.
    fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let payload = std::panic::catch_unwind(f).expect_err("must panic");
        match payload.downcast::<String>() {
            Ok(text) => *text,
            Err(payload) => payload.downcast_ref::<&str>().expect("text panic").to_string(),
        }
    }

    #[test]
    fn a_hanging_client_is_killed_and_fails_with_what_it_printed() {
        let script = "import sys, time\nprint('greeted', flush=True)\n\
                      print('to stderr', file=sys.stderr, flush=True)\ntime.sleep(60)";
        let started = Instant::now();
        let message = panic_message(|| {
            run_unchecked("python3", &["-c", script], None, Duration::from_secs(1));
        });
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "killed, not waited for"
        );
        assert!(
            message.contains("was killed: it did not exit within 1s"),
            "{message}"
        );
        assert!(message.contains("stdout so far:\ngreeted\n"), "{message}");
        assert!(message.contains("stderr so far:\nto stderr\n"), "{message}");
    }

    #[test]
    fn a_client_that_finishes_in_time_returns_its_output() {
        let output = run(
            "python3",
            &["-c", "import sys; print(sys.stdin.read().upper())"],
            Some(b"hi"),
        );
        assert_eq!(output.stdout, b"HI\n");
    }

    #[test]
    fn a_failing_client_fails_the_test_with_its_output() {
        let message = panic_message(|| {
            run(
                "python3",
                &["-c", "import sys; sys.exit('broken on purpose')"],
                None,
            );
        });
        assert!(message.contains("stderr:\nbroken on purpose"), "{message}");
    }

    #[test]
    fn a_missing_client_fails_loudly_with_how_to_install_it() {
        let message = panic_message(|| {
            run("mailrig-no-such-client", &[], None);
        });
        assert!(
            message.starts_with("cannot run mailrig-no-such-client"),
            "{message}"
        );
        assert!(message.contains("bash ci/interop.sh"), "{message}");
    }
}
