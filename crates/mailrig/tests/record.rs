//! `mailrig record` end to end: Python's imaplib and smtplib and curl talk to a `mailrig serve`
//! through the recording proxy (plaintext, STARTTLS, implicit TLS); the file it writes passes
//! `mailrig check`, holds the exchanged lines but no credentials, survives the proxy being
//! killed mid-session, and plays back with `mailrig run` against a fresh server.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::mailrig;

/// The account every test logs in with: a password that appears nowhere else.
const USER: &str = "carol:Pw-rec0rded:carol@example.test";
const PASSWORD: &str = "Pw-rec0rded";

/// How long a client or a stopping proxy may take.
const DEADLINE: Duration = Duration::from_secs(60);

/// A `mailrig serve` with one account, every service on a free port.
fn serve(dir: &Path) -> (Child, serde_json::Value) {
    let dir = dir.join(format!("serve-{}", rand_suffix()));
    fs::create_dir_all(&dir).expect("serve dir");
    let ports = [
        "--smtp",
        "127.0.0.1:0",
        "--submission",
        "127.0.0.1:0",
        "--smtps",
        "127.0.0.1:0",
        "--imap",
        "127.0.0.1:0",
        "--imaps",
        "127.0.0.1:0",
        "--user",
        USER,
    ];
    common::start_serve(&ports, &dir, false)
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos()
}

/// A running `mailrig record`: the process, where clients connect, the CA they trust.
struct Proxy {
    child: Child,
    listen: String,
    ca: String,
}

/// Starts `mailrig record --upstream URL --out OUT` (trusting the server's CA) and waits
/// for its ready file.
fn record(dir: &Path, upstream: &str, server_ca: &str, out: &Path, extra: &[&str]) -> Proxy {
    let ready = dir.join(format!("record-{}.json", rand_suffix()));
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("mailrig"))
        .args(["record", "--upstream", upstream, "--ca", server_ca, "--out"])
        .arg(out)
        .arg("--ready-file")
        .arg(&ready)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mailrig record starts");
    let started = Instant::now();
    while !ready.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no ready file within 20 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let info: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&ready).expect("ready file")).expect("JSON");
    Proxy {
        child,
        listen: info["listen"].as_str().expect("listen").to_owned(),
        ca: info["ca"].as_str().expect("ca").to_owned(),
    }
}

impl Proxy {
    /// Ctrl-C, then waits for a clean exit.
    fn stop(mut self) {
        signal("INT", &self.child);
        let status = wait(&mut self.child);
        assert!(status.success(), "mailrig record exited with {status}");
    }

    fn port(&self) -> &str {
        self.listen.rsplit_once(':').expect("HOST:PORT").1
    }
}

/// Starts `mailrig record` in front of `service` of the `mailrig serve` that `info`
/// describes (its ready file), trusting that server's CA.
fn record_service(dir: &Path, info: &serde_json::Value, service: &str, out: &Path, extra: &[&str]) -> Proxy {
    let upstream = format!("{service}://{}", info[service].as_str().expect("address"));
    record(dir, &upstream, info["ca"].as_str().expect("ca"), out, extra)
}

/// Stops a `mailrig serve` (SIGTERM) and waits for it to exit.
fn stop_server(server: &mut Child) {
    signal("TERM", server);
    wait(server);
}

/// Sends a signal through `sh`'s `kill` builtin (`/bin/kill` is not everywhere).
fn signal(name: &str, child: &Child) {
    let status = std::process::Command::new("sh")
        .args([
            "-c",
            &format!("kill -{name} \"$1\""),
            "sh",
            &child.id().to_string(),
        ])
        .status()
        .expect("sh runs");
    assert!(status.success(), "kill -{name} {}", child.id());
}

fn wait(child: &mut Child) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("process {} did not exit within {DEADLINE:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Python 3 running `script` with `args`, within the deadline; must succeed.
fn python(script: &str, args: &[&str]) -> String {
    let assert = assert_cmd::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .timeout(DEADLINE)
        .assert()
        .success();
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

/// curl with `args`, within the deadline; must succeed.
fn curl(args: &[&str]) -> String {
    let assert = assert_cmd::Command::new("curl")
        .args(["-sS", "--max-time", "30"])
        .args(args)
        .timeout(DEADLINE)
        .assert()
        .success();
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

/// `mailrig check FILE` must accept it.
fn check(file: &Path) {
    let assert = mailrig().arg("check").arg(file).assert();
    let output = assert.get_output();
    assert!(
        output.status.success(),
        "mailrig check rejected the recording:\n{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        fs::read_to_string(file).unwrap_or_default()
    );
}

/// `mailrig run FILE` against a fresh `mailrig serve`, with the same account.
fn run_against_fresh_server(
    dir: &Path,
    file: &Path,
    option: &str,
    service: &str,
    scheme: &str,
) -> std::process::Output {
    let (mut server, info) = serve(dir);
    let url = format!("{scheme}://{}", info[service].as_str().expect("address"));
    let output = mailrig()
        .arg("run")
        .arg(file)
        .args([
            option,
            &url,
            "--ca",
            info["ca"].as_str().expect("ca"),
            "--user",
            USER,
        ])
        .output()
        .expect("mailrig run");
    stop_server(&mut server);
    output
}

fn assert_runs(dir: &Path, file: &Path, option: &str, service: &str, scheme: &str) {
    let output = run_against_fresh_server(dir, file, option, service, scheme);
    assert!(
        output.status.success(),
        "the recording did not pass against a fresh server:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        fs::read_to_string(file).unwrap_or_default()
    );
}

fn read(file: &Path) -> String {
    fs::read_to_string(file).expect("the recording exists")
}

const IMAPLIB: &str = r#"
import imaplib, ssl, sys
host, port, ca, mode, user, password = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=ca)
if mode == 'tls':
    m = imaplib.IMAP4_SSL(host, int(port), ssl_context=ctx)
else:
    m = imaplib.IMAP4(host, int(port))
    m.starttls(ssl_context=ctx)
m.login(user, password)
m.select('INBOX')
m.append('INBOX', None, None, b'Subject: recorded\r\n\r\nhello through the proxy\r\n')
typ, data = m.fetch('1', '(BODY[])')
print(data[0][1].decode())
m.logout()
"#;

fn imaplib(proxy: &Proxy, mode: &str) -> String {
    python(
        IMAPLIB,
        &["localhost", proxy.port(), &proxy.ca, mode, "carol", PASSWORD],
    )
}

#[test]
fn imaplib_with_starttls_is_recorded_redacted_and_runs_again() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, info) = serve(dir.path());
    let out = dir.path().join("imap.scenario");
    let proxy = record_service(dir.path(), &info, "imap", &out, &[]);
    let fetched = imaplib(&proxy, "starttls");
    assert!(fetched.contains("hello through the proxy"), "{fetched}");
    proxy.stop();
    stop_server(&mut server);

    let text = read(&out);
    check(&out);
    assert!(!text.contains(PASSWORD) && !text.contains("carol"), "{text}");
    assert!(text.contains("sessions: s1=imap\n"), "{text}");
    for expected in [
        " STARTTLS\n",
        "OK Begin TLS negotiation now\ns1 @starttls\n",
        " LOGIN ${user} \"${password}\"\n",
        " APPEND INBOX {{{\nSubject: recorded\n\nhello through the proxy\n}}}\n",
        " LOGOUT\n",
        // The server closes after BYE, imaplib after the tagged OK: either may come first.
        "s1 @close ",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert_runs(dir.path(), &out, "--imap", "imap", "imap");
}

#[test]
fn a_changed_server_line_fails_the_run() {
    // The run above passes because the file matches the server; this one shows the check
    // is real: one recorded server line edited, the same run fails.
    let dir = tempfile::tempdir().unwrap();
    let (mut server, info) = serve(dir.path());
    let out = dir.path().join("imap.scenario");
    let proxy = record_service(dir.path(), &info, "imaps", &out, &[]);
    imaplib(&proxy, "tls");
    proxy.stop();
    stop_server(&mut server);
    let text = read(&out);
    check(&out);
    assert!(
        text.contains("sessions: s1=imaps\n") && !text.contains("@starttls"),
        "{text}"
    );
    assert_runs(dir.path(), &out, "--imaps", "imaps", "imaps");
    fs::write(&out, text.replace("[READ-WRITE]", "[READ-ONLY]")).unwrap();
    let output = run_against_fresh_server(dir.path(), &out, "--imaps", "imaps", "imaps");
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

const SMTPLIB: &str = r#"
import smtplib, ssl, sys
host, port, ca, mode, user, password = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=ca)
if mode == 'tls':
    s = smtplib.SMTP_SSL(host, int(port), context=ctx)
    s.ehlo('client.example.test')
else:
    s = smtplib.SMTP(host, int(port))
    s.ehlo('client.example.test')
    if mode == 'starttls':
        s.starttls(context=ctx)
        s.ehlo('client.example.test')
if mode != 'plain':
    s.user, s.password = user, password
    s.auth('PLAIN', s.auth_plain)
s.sendmail('carol@example.test', ['carol@example.test'],
           b'Subject: via smtplib\r\n\r\nrecorded body\r\n.leading dot\r\n')
s.quit()
"#;

#[test]
fn smtplib_with_starttls_and_auth_plain_is_recorded_and_runs_again() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, info) = serve(dir.path());
    let out = dir.path().join("submission.scenario");
    let proxy = record_service(dir.path(), &info, "submission", &out, &[]);
    python(
        SMTPLIB,
        &[
            "localhost",
            proxy.port(),
            &proxy.ca,
            "starttls",
            "carol",
            PASSWORD,
        ],
    );
    proxy.stop();
    stop_server(&mut server);

    let text = read(&out);
    check(&out);
    let plain = mailrig_runner::record::auth_plain("carol", PASSWORD);
    assert!(!text.contains(PASSWORD) && !text.contains(&plain), "{text}");
    for expected in [
        // `${auth_plain}` is a run variable: nothing to declare.
        "sessions: s1=submission\nplays: both\n",
        "s1 C: STARTTLS\ns1 S: 220 ",
        "s1 @starttls\n",
        "s1 C: AUTH PLAIN ${auth_plain}\n",
        "s1 C: Subject: via smtplib\ns1 C:\ns1 C: recorded body\ns1 C: ..leading dot\ns1 C: .\n",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert_runs(dir.path(), &out, "--submission", "submission", "smtp");
}

#[test]
fn curl_over_implicit_tls_and_starttls_and_smtplib_over_plaintext_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, info) = serve(dir.path());
    let message = dir.path().join("m.eml");
    fs::write(&message, "Subject: curl\r\n\r\nsent by curl\r\n").unwrap();

    let smtps = dir.path().join("smtps.scenario");
    let proxy = record_service(dir.path(), &info, "smtps", &smtps, &[]);
    let url = format!("smtps://localhost:{}", proxy.port());
    curl(&[
        "--url",
        &url,
        "--cacert",
        &proxy.ca,
        "-u",
        &format!("carol:{PASSWORD}"),
        "--login-options",
        "AUTH=PLAIN",
        "--mail-from",
        "carol@example.test",
        "--mail-rcpt",
        "carol@example.test",
        "--upload-file",
        message.to_str().unwrap(),
    ]);
    proxy.stop();

    // curl reads it back over IMAP with STARTTLS.
    let imap = dir.path().join("imap.scenario");
    let proxy = record_service(dir.path(), &info, "imap", &imap, &[]);
    let url = format!("imap://localhost:{}/INBOX;UID=1", proxy.port());
    let user = format!("carol:{PASSWORD}");
    let fetched = curl(&["--ssl-reqd", "--cacert", &proxy.ca, "-u", &user, &url]);
    assert!(fetched.contains("sent by curl"), "{fetched}");
    proxy.stop();

    // smtplib over plaintext SMTP, no TLS on either side.
    let smtp = dir.path().join("smtp.scenario");
    let proxy = record_service(dir.path(), &info, "smtp", &smtp, &[]);
    python(
        SMTPLIB,
        &["localhost", proxy.port(), &proxy.ca, "plain", "carol", PASSWORD],
    );
    proxy.stop();
    stop_server(&mut server);

    let text = read(&smtps);
    check(&smtps);
    assert!(!text.contains(PASSWORD), "{text}");
    // curl sends PLAIN's response after the 334, on a line of its own.
    assert!(
        text.contains("s1 C: AUTH PLAIN\ns1 S: 334${\\x20}\n\ns1 C: ${auth_plain}\n"),
        "{text}"
    );
    assert!(text.contains("s1 C: sent by curl\n"), "{text}");
    assert_runs(dir.path(), &smtps, "--smtps", "smtps", "smtps");
    let text = read(&imap);
    check(&imap);
    assert!(!text.contains(PASSWORD), "{text}");
    assert!(
        text.contains("s1 @starttls\n") && text.contains("sent by curl"),
        "{text}"
    );
    // SASL-IR (RFC 4959): the initial response rides on the command.
    assert!(text.contains(" AUTHENTICATE PLAIN ${auth_plain}\n"), "{text}");
    // Not run again: this session read a message an earlier session delivered, and a fresh
    // server's INBOX is empty (a recording replays the exchange, not the server's state).
    let text = read(&smtp);
    check(&smtp);
    assert!(
        text.contains("s1 C: mail FROM:<carol@example.test>") && !text.contains("@starttls"),
        "{text}"
    );
    assert_runs(dir.path(), &smtp, "--smtp", "smtp", "smtp");
}

#[test]
fn the_file_is_valid_after_the_proxy_is_killed_mid_session() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, info) = serve(dir.path());
    let out = dir.path().join("killed.scenario");
    let mut proxy = record_service(dir.path(), &info, "imaps", &out, &[]);
    // Two sessions at once, the second opened mid-way through the first: the header is
    // rewritten and the first session's lines are kept.
    let script = r#"
import imaplib, ssl, sys, time
host, port, ca, password = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=ca)
a = imaplib.IMAP4_SSL(host, int(port), ssl_context=ctx)
a.login('carol', password)
b = imaplib.IMAP4_SSL(host, int(port), ssl_context=ctx)
b.login('carol', password)
a.select('INBOX')
b.noop()
print('ready', flush=True)
time.sleep(60)
"#;
    let mut client = std::process::Command::new("python3")
        .args(["-c", script, "localhost", proxy.port(), &proxy.ca, PASSWORD])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(client.stdout.take().expect("piped")),
        &mut line,
    )
    .expect("client output");
    assert_eq!(line, "ready\n");
    let started = Instant::now();
    while !read(&out).contains(" OK NOOP completed") {
        assert!(started.elapsed() < DEADLINE, "{}", read(&out));
        std::thread::sleep(Duration::from_millis(20));
    }
    proxy.child.kill().expect("SIGKILL");
    wait(&mut proxy.child);
    let _ = client.kill();
    wait(&mut client);
    stop_server(&mut server);

    let text = read(&out);
    check(&out);
    assert!(text.contains("sessions: s1=imaps, s2=imaps\n"), "{text}");
    assert!(
        text.contains("s1 C: ") && text.contains(" SELECT INBOX\n"),
        "{text}"
    );
    assert!(text.contains("s2 C: ") && text.contains(" NOOP\n"), "{text}");
    assert!(!text.contains("@close"), "nobody closed: {text}");
}

#[test]
fn plaintext_pipelined_behind_starttls_is_not_forwarded() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, info) = serve(dir.path());
    let out = dir.path().join("inject.scenario");
    let proxy = record_service(dir.path(), &info, "imap", &out, &[]);
    // RFC 9051 §11.1: a2 rides in the same plaintext write as STARTTLS; it must not reach the
    // server, in clear or inside TLS.
    let script = r#"
import socket, ssl, sys
host, port, ca = sys.argv[1:4]
s = socket.create_connection((host, int(port)), timeout=20)
f = s.makefile('rb')
f.readline()
s.sendall(b'a1 STARTTLS\r\na2 NOOP\r\n')
print(f.readline().decode().strip())
t = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname=host)
t.sendall(b'a3 NOOP\r\n')
g = t.makefile('rb')
print(g.readline().decode().strip())
t.sendall(b'a4 LOGOUT\r\n')
"#;
    let printed = python(script, &["localhost", proxy.port(), &proxy.ca]);
    assert_eq!(printed, "a1 OK Begin TLS negotiation now\na3 OK NOOP completed\n");
    proxy.stop();
    stop_server(&mut server);
    let text = read(&out);
    check(&out);
    assert!(!text.contains("C: a2"), "{text}");
    assert!(
        text.contains("# s1: the client sent 9 byte(s) in plaintext after STARTTLS's reply point; not forwarded: a2 NOOP${\\r\\n}\n"),
        "{text}"
    );
    assert!(text.contains("s1 @starttls\n\ns1 C: a3 NOOP\n"), "{text}");
}

#[test]
fn a_message_of_several_megabytes_streams_to_a_literal_file() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, info) = serve(dir.path());
    let out = dir.path().join("big.scenario");
    let proxy = record_service(dir.path(), &info, "imap", &out, &[]);
    let script = r#"
import imaplib, ssl, sys
host, port, ca, password = sys.argv[1:5]
m = imaplib.IMAP4(host, int(port))
m.starttls(ssl_context=ssl.create_default_context(cafile=ca))
m.login('carol', password)
line = b'x' * 998 + b'\r\n'
body = b'Subject: big\r\n\r\n' + line * 8000
m.append('INBOX', None, None, body)
m.select('INBOX')
typ, data = m.fetch('1', '(BODY[])')
assert data[0][1] == body, 'the message came back changed'
m.logout()
print(len(body))
"#;
    let size: usize = python(script, &["localhost", proxy.port(), &proxy.ca, PASSWORD])
        .trim()
        .parse()
        .expect("size");
    let pid = proxy.child.id();
    let peak = peak_memory_kib(pid);
    proxy.stop();
    stop_server(&mut server);

    let text = read(&out);
    check(&out);
    assert!(
        text.len() < 100_000,
        "the message is not in the scenario: {} bytes",
        text.len()
    );
    let literals: Vec<PathBuf> = fs::read_dir(dir.path().join("big.literals"))
        .expect("literal directory")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(literals.len(), 2, "APPEND's and FETCH's: {literals:?}");
    for path in &literals {
        assert_eq!(fs::metadata(path).unwrap().len() as usize, size);
    }
    assert!(
        text.contains(" APPEND INBOX {{{file:big.literals/1.bin}}}\n"),
        "{text}"
    );
    assert!(
        text.contains("s1 S: * 1 FETCH (BODY[] {{{file:big.literals/2.bin}}}"),
        "{text}"
    );
    // 8 MB went through twice; the proxy never held a copy of it.
    if let Some(peak) = peak {
        assert!(peak < 64 * 1024, "mailrig record peaked at {peak} KiB");
    }
}

/// The peak resident memory of a process (Linux `VmHWM`), if readable.
fn peak_memory_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn ctrl_c_with_a_session_open_ends_the_recording_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, info) = serve(dir.path());
    let out = dir.path().join("open.scenario");
    let proxy = record_service(dir.path(), &info, "smtp", &out, &[]);
    let script = r#"
import socket, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=20)
f = s.makefile('rb')
f.readline()
s.sendall(b'NOOP\r\nHALF A LI')
f.readline()
print('ready', flush=True)
time.sleep(60)
"#;
    let mut client = std::process::Command::new("python3")
        .args(["-c", script, proxy.port()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(client.stdout.take().expect("piped")),
        &mut line,
    )
    .expect("client output");
    assert_eq!(line, "ready\n");
    // Give the proxy a moment to forward the half line before Ctrl-C.
    std::thread::sleep(Duration::from_millis(500));
    proxy.stop();
    let _ = client.kill();
    wait(&mut client);
    stop_server(&mut server);
    let text = read(&out);
    check(&out);
    assert!(
        text.ends_with(
            "s1 C: NOOP\ns1 S: 250 Ok\n\ns1 C: HALF A LI${nocrlf}\n# s1: still open when the recording ended\n"
        ),
        "{text}"
    );
}

#[test]
fn a_generalized_recording_passes_again_against_the_same_server_where_a_raw_one_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, info) = serve(dir.path());
    let upstream = format!("imap://{}", info["imap"].as_str().unwrap());
    let ca = info["ca"].as_str().unwrap();
    let raw = dir.path().join("raw.scenario");
    let general = dir.path().join("general.scenario");
    // BODY.PEEK: a FETCH that sets \Seen also reports FLAGS, and `\Recent` (IMAP4rev1) goes
    // to one session only, so flags differ from run to run; --generalize keeps flags.
    let script = IMAPLIB.replace("(BODY[])", "(BODY.PEEK[])");
    for (out, extra) in [(&general, &["--generalize"][..]), (&raw, &[][..])] {
        let proxy = record(dir.path(), &upstream, ca, out, extra);
        python(
            &script,
            &[
                "localhost",
                proxy.port(),
                &proxy.ca,
                "starttls",
                "carol",
                PASSWORD,
            ],
        );
        proxy.stop();
        check(out);
    }
    let text = read(&general);
    for expected in [
        "] ${_:text=mailrig ready}\n",
        " LOGIN ${user} \"${password}\"\n",
        "s1 S: * ${_:num=",
        "[UIDVALIDITY ${uidvalidity:num=1}]",
        "[APPENDUID ${uidvalidity} ${uid1:num=",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // The server now holds two messages more than when each session ran: EXISTS, UIDNEXT and
    // APPENDUID's UID differ, so the raw file fails where the general one passes.
    let run = |file: &Path| {
        mailrig()
            .arg("run")
            .arg(file)
            .args(["--imap", &upstream, "--ca", ca, "--user", USER])
            .output()
            .expect("mailrig run")
    };
    let output = run(&raw);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let output = run(&general);
    assert!(
        output.status.success(),
        "{}\n{text}",
        String::from_utf8_lossy(&output.stdout)
    );
    stop_server(&mut server);
    assert_runs(dir.path(), &general, "--imap", "imap", "imap");
}

#[test]
fn no_redact_keeps_credentials_and_bad_options_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, info) = serve(dir.path());
    let out = dir.path().join("clear.scenario");
    let proxy = record_service(dir.path(), &info, "imaps", &out, &["--no-redact"]);
    imaplib(&proxy, "tls");
    proxy.stop();
    stop_server(&mut server);
    check(&out);
    assert!(
        read(&out).contains(&format!(" LOGIN carol \"{PASSWORD}\"\n")),
        "{}",
        read(&out)
    );

    let assert = mailrig()
        .args(["record", "--upstream", "pop3://127.0.0.1:110", "--out"])
        .arg(dir.path().join("x.scenario"))
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("smtp://, submission://, smtps://, imap:// or imaps://"),
        "{stderr}"
    );
    mailrig()
        .args([
            "record",
            "--upstream",
            "imap://127.0.0.1:1",
            "--ca",
            "/nonexistent.pem",
            "--out",
            "x",
        ])
        .assert()
        .code(2);
}
