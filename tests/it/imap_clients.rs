//! Real IMAP clients (curl, Python's imaplib, mbsync) as subprocesses against a `Rig`:
//! mailbox listing, fetching by UID, flag changes, two sessions that must see each other's
//! changes and mail delivered over SMTP, and a Maildir mirrored both ways. curl and python3
//! are all `cargo test` needs; the mbsync test runs only with `--features interop`
//! (`ci/interop.sh` installs isync and turns it on).

use std::path::PathBuf;

use mailrig::Protocol;
use mailrig::blocking::Rig;
use mailrig_store::{Flag, Flags};

use crate::support::{TIMEOUT, port, python, run, run_unchecked, s};

const MESSAGE: &[u8] = b"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: imap e2e\r\n\r\nfirst line\r\nsecond line\r\n";

struct Fixture {
    rig: Rig,
    dir: tempfile::TempDir,
}

impl Fixture {
    /// A rig with one message in alice's INBOX (UID 1).
    fn start(builder: mailrig::RigBuilder) -> Fixture {
        let rig = Rig::start(builder).expect("rig starts");
        rig.store()
            .deliver("alice", MESSAGE, 1_700_000_000)
            .expect("seed message");
        let dir = tempfile::tempdir().expect("temp dir");
        if let Some(pem) = rig.ca_pem() {
            std::fs::write(dir.path().join("ca.pem"), pem).expect("write CA");
        }
        Fixture { rig, dir }
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// curl against `url` with STARTTLS required and the rig's CA trusted.
    fn curl(&self, url: &str, extra: &[&str]) -> String {
        let ca = self.ca();
        let mut args = vec![
            "-sS",
            "--ssl-reqd",
            "--cacert",
            s(&ca),
            "-u",
            "alice:secret",
            "--url",
            url,
        ];
        args.extend_from_slice(extra);
        String::from_utf8(run("curl", &args, None).stdout).expect("utf-8 output")
    }

    /// The flags of the first message in alice's INBOX.
    fn alice_flags(&self) -> Flags {
        self.rig.messages("alice")[0].flags.clone()
    }
}

fn imap_url(addr: std::net::SocketAddr, path: &str) -> String {
    format!("imap://localhost:{}/{path}", port(addr))
}

#[test]
fn curl_lists_examines_fetches_by_uid_and_stores_over_starttls() {
    let f = Fixture::start(mailrig::Rig::builder());
    let addr = f.rig.imap_addr();

    let list = f.curl(&imap_url(addr, ""), &[]);
    assert_eq!(
        list,
        "* LIST (\\HasNoChildren \\Drafts) \"/\" \"Drafts\"\r\n\
         * LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n\
         * LIST (\\HasNoChildren \\Junk) \"/\" \"Junk\"\r\n\
         * LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n\
         * LIST (\\HasNoChildren \\Trash) \"/\" \"Trash\"\r\n",
        "LIST with special-use attributes"
    );

    let examine = f.curl(&imap_url(addr, ""), &["-X", "EXAMINE INBOX"]);
    assert!(examine.contains("* 1 EXISTS\r\n"), "EXAMINE output:\n{examine}");

    let fetched = f.curl(&imap_url(addr, "INBOX;UID=1"), &[]);
    assert_eq!(
        fetched.as_bytes(),
        MESSAGE,
        "curl fetched the message byte for byte"
    );
    assert!(
        f.alice_flags().contains(&Flag::Seen),
        "fetching BODY[] set \\Seen (curl does not PEEK)"
    );

    f.curl(&imap_url(addr, "INBOX"), &["-X", "STORE 1 +FLAGS (\\Flagged)"]);
    assert!(
        f.alice_flags().contains(&Flag::Flagged),
        "STORE via curl reached the store"
    );
}

#[test]
fn curl_fetches_over_implicit_tls() {
    let f = Fixture::start(mailrig::Rig::builder());
    let url = format!("imaps://localhost:{}/INBOX;UID=1", port(f.rig.imaps_addr()));
    let fetched = f.curl(&url, &[]);
    assert_eq!(fetched.as_bytes(), MESSAGE);
}

/// curl 67 (`CURLE_LOGIN_DENIED`): curl gave up logging in, not some other failure.
const CURL_LOGIN_DENIED: i32 = 67;

/// Why a plaintext login to `f`'s IMAP port was refused, as seen from both sides: curl fails
/// with "Login denied" because the server advertised `LOGINDISABLED` before TLS (RFC 9051
/// §6.2.3, §7.2.2), and a LOGIN sent anyway gets NO or BAD. `Err` says what was missing.
fn plaintext_login_refusal(f: &Fixture) -> Result<(), String> {
    let url = imap_url(f.rig.imap_addr(), "INBOX;UID=1");
    // Without --ssl-reqd curl does not upgrade; -v shows the server's lines (`< ...`).
    let args = ["-sS", "-v", "-u", "alice:secret", "--url", &url];
    let output = run_unchecked("curl", &args, None, TIMEOUT);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() != Some(CURL_LOGIN_DENIED) {
        return Err(format!(
            "curl exit {:?}, not Login denied: {stderr}",
            output.status.code()
        ));
    }
    let advertised = stderr
        .lines()
        .any(|l| l.starts_with("< ") && l.contains("CAPABILITY") && l.contains(" LOGINDISABLED"));
    if !advertised {
        return Err(format!("no LOGINDISABLED in the server's capabilities: {stderr}"));
    }
    // The server itself refuses a LOGIN a client sends regardless.
    let mut socket = std::net::TcpStream::connect(f.rig.imap_addr()).map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut reader = std::io::BufReader::new(socket.try_clone().map_err(|e| e.to_string())?);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut reader, &mut line).map_err(|e| e.to_string())?;
    std::io::Write::write_all(&mut socket, b"a LOGIN alice secret\r\n").map_err(|e| e.to_string())?;
    loop {
        line.clear();
        std::io::BufRead::read_line(&mut reader, &mut line).map_err(|e| e.to_string())?;
        if let Some(status) = line.strip_prefix("a ") {
            return match status.split(' ').next() {
                Some("NO" | "BAD") => Ok(()),
                _ => Err(format!("plaintext LOGIN answered {line:?}")),
            };
        }
        if line.is_empty() {
            return Err("connection closed without an answer to LOGIN".into());
        }
    }
}

#[test]
fn curl_cannot_log_in_before_tls_by_default() {
    let f = Fixture::start(mailrig::Rig::builder());
    plaintext_login_refusal(&f).unwrap_or_else(|e| panic!("{e}"));
    assert!(f.alice_flags().is_empty(), "nothing was fetched");
}

/// The check above fails when the server does allow plaintext LOGIN (curl then logs in and
/// fetches), so it tests the refusal and not just any curl failure.
#[test]
fn curl_login_refusal_check_fails_when_plaintext_login_is_allowed() {
    let builder = mailrig::Rig::builder().imap(|o| o.config.login_disabled_before_tls = false);
    let f = Fixture::start(builder);
    let failure = plaintext_login_refusal(&f).expect_err("plaintext login was allowed");
    assert!(failure.contains("curl exit Some(0)"), "{failure}");
}

/// Two imaplib sessions (`a`, `b`) on alice's INBOX, plus SMTP delivery with smtplib. Python
/// asserts each step; the test checks the store afterwards.
const TWO_SESSIONS: &str = r#"
import imaplib, smtplib, socket, ssl, sys
mode, imap_port, smtp_port, ca = sys.argv[1:5]
context = ssl.create_default_context(cafile=ca) if ca else None

def connect():
    if mode == "imaps":
        c = imaplib.IMAP4_SSL("localhost", int(imap_port), ssl_context=context, timeout=10)
    else:
        c = imaplib.IMAP4("localhost", int(imap_port), timeout=10)
        if mode == "starttls":
            c.starttls(ssl_context=context)
    c.login("alice", "secret")
    return c

def check(cond, what):
    if not cond:
        sys.exit("FAILED: " + what)

a, b = connect(), connect()
typ, data = a.append("INBOX", None, None, b"Subject: appended\r\n\r\nby a\r\n")
check(typ == "OK" and b"APPENDUID" in data[0], "APPEND with APPENDUID: %r" % data)
check(a.select("INBOX") == ("OK", [b"2"]), "a sees 2 messages")
check(b.select("INBOX") == ("OK", [b"2"]), "b sees 2 messages")

# A flag set in a reaches b at its NOOP.
check(a.store("2", "+FLAGS", "(\\Seen)")[0] == "OK", "STORE in a")
b.noop()
fetches = b.untagged_responses.pop("FETCH", [])
check(any(b"\\Seen" in f and f.startswith(b"2 ") for f in fetches), "b saw the flag: %r" % fetches)

# b IDLEs; a message delivered over SMTP is pushed to it as EXISTS.
b.send(b"I1 IDLE\r\n")
check(b.readline().startswith(b"+"), "IDLE continuation")
smtp = smtplib.SMTP("localhost", int(smtp_port), timeout=10)
smtp.sendmail("bob@example.test", ["alice@example.test"], b"Subject: pushed\r\n\r\nwhile idling\r\n")
smtp.quit()
pushed = []
while b"EXISTS" not in b"".join(pushed):
    pushed.append(b.readline())
check(b"* 3 EXISTS\r\n" in pushed, "EXISTS pushed during IDLE: %r" % pushed)
b.send(b"DONE\r\n")
line = b.readline()
while line.startswith(b"*"):
    line = b.readline()
check(line.startswith(b"I1 OK"), "IDLE ended: %r" % line)

# An expunge in a reaches b at its NOOP, as EXPUNGE 1.
check(a.store("1", "+FLAGS", "(\\Deleted)")[0] == "OK", "STORE \\Deleted in a")
check(a.expunge()[0] == "OK", "EXPUNGE in a")
b.noop()
check(b.untagged_responses.pop("EXPUNGE", []) == [b"1"], "b saw EXPUNGE 1")
b.untagged_responses.pop("FETCH", None)  # the \Deleted flag update, seen before the expunge
typ, data = b.fetch("1:*", "(UID FLAGS)")
check(typ == "OK" and len(data) == 2, "b now has 2 messages: %r" % data)
a.logout(); b.logout()
print("ok")
"#;

fn two_sessions(rig: &Rig, mode: &str, service: Protocol, ca: &str) {
    let imap = port(rig.addr(service));
    let smtp = port(rig.smtp_addr());
    let output = python(TWO_SESSIONS, &[mode, &imap, &smtp, ca]);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "ok\n");
    let inbox = rig.messages("alice");
    let raw: Vec<&[u8]> = inbox.iter().map(|m| &*m.raw).collect();
    assert_eq!(
        raw,
        [
            &b"Subject: appended\r\n\r\nby a\r\n"[..],
            b"Subject: pushed\r\n\r\nwhile idling\r\n"
        ],
        "the seeded message was expunged; the appended and the delivered ones remain, byte for byte"
    );
    assert!(inbox[0].flags.contains(&Flag::Seen));
}

#[test]
fn python_imaplib_two_sessions_over_starttls() {
    let f = Fixture::start(mailrig::Rig::builder());
    two_sessions(&f.rig, "starttls", Protocol::Imap, s(&f.ca()));
}

#[test]
fn python_imaplib_two_sessions_over_implicit_tls() {
    let f = Fixture::start(mailrig::Rig::builder());
    two_sessions(&f.rig, "imaps", Protocol::Imaps, s(&f.ca()));
}

#[test]
fn python_imaplib_two_sessions_in_plaintext_when_allowed() {
    let builder = mailrig::Rig::builder().imap(|o| o.config.login_disabled_before_tls = false);
    let f = Fixture::start(builder);
    two_sessions(&f.rig, "plain", Protocol::Imap, "");
}

/// mbsync (isync) mirrors the IMAP account into a Maildir and back: a full pull, then local
/// changes (a flag, a deletion, a new message in Sent) pushed with UIDPLUS, over IMAPS.
#[cfg(feature = "interop")]
#[test]
fn mbsync_pulls_the_mailbox_and_pushes_flags_deletions_and_new_mail() {
    let f = Fixture::start(mailrig::Rig::builder());
    for i in 2..=3 {
        let raw = format!("Subject: m{i}\r\n\r\nbody {i}\r\n");
        f.rig
            .store()
            .deliver("alice", raw.as_bytes(), 1_700_000_000)
            .expect("deliver");
    }
    let maildir = f.dir.path().join("mail");
    std::fs::create_dir(&maildir).expect("maildir root");
    let config = f.dir.path().join("mbsyncrc");
    let text = format!(
        "IMAPAccount rig\nHost localhost\nPort {}\nUser alice\nPass secret\nSSLType IMAPS\n\
         CertificateFile {}\n\nIMAPStore remote\nAccount rig\n\n\
         MaildirStore local\nPath {m}/\nInbox {m}/INBOX\nSubFolders Verbatim\n\n\
         Channel rig\nFar :remote:\nNear :local:\nPatterns INBOX Sent\nCreate Both\n\
         Expunge Both\nSyncState *\n",
        port(f.rig.imaps_addr()),
        s(&f.ca()),
        m = s(&maildir),
    );
    std::fs::write(&config, text).expect("write mbsyncrc");
    let sync = || run("mbsync", &["-c", s(&config), "rig"], None);

    sync();
    let new = maildir.join("INBOX/new");
    let mut pulled: Vec<(String, Vec<u8>)> = std::fs::read_dir(&new)
        .expect("INBOX/new")
        .map(|e| {
            let path = e.expect("entry").path();
            let name = path.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("read"))
        })
        .collect();
    pulled.sort_by_key(|(name, _)| name.rsplit_once(",U=").map(|(_, uid)| uid.to_owned()));
    // mbsync stores Maildir files with LF line ends and adds an X-TUID header of its own.
    let unix = |raw: &[u8]| String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let bodies: Vec<String> = pulled
        .iter()
        .map(|(_, raw)| {
            let text = unix(raw);
            let tuid = text.find("X-TUID: ").expect("X-TUID header");
            let end = tuid + text[tuid..].find('\n').expect("end of header") + 1;
            format!("{}{}", &text[..tuid], &text[end..])
        })
        .collect();
    assert_eq!(
        bodies,
        [
            unix(MESSAGE),
            unix(b"Subject: m2\r\n\r\nbody 2\r\n"),
            unix(b"Subject: m3\r\n\r\nbody 3\r\n")
        ],
        "every message pulled whole, in UID order"
    );

    // Locally: read UID 1, delete UID 2 (T = trashed), write a message into Sent.
    let rename = |name: &str, flag: &str| {
        let from = new.join(name);
        let to = maildir.join("INBOX/cur").join(format!("{name}{flag}"));
        std::fs::rename(from, to).expect("rename");
    };
    rename(&pulled[0].0, "S");
    rename(&pulled[1].0, "T");
    let sent = maildir.join("Sent/cur");
    std::fs::create_dir_all(&sent).expect("Sent/cur");
    std::fs::write(
        sent.join("local.host:2,S"),
        b"Subject: local\r\n\r\nwritten offline\r\n",
    )
    .expect("write");
    sync();

    let inbox = f.rig.messages("alice");
    let uids: Vec<u32> = inbox.iter().map(|m| m.uid).collect();
    assert_eq!(uids, [1, 3], "UID 2 was expunged on the server");
    assert!(inbox[0].flags.contains(&Flag::Seen) && !inbox[1].flags.contains(&Flag::Seen));
    let sent = f.rig.store().messages("alice", "Sent").expect("Sent").messages;
    assert_eq!(sent.len(), 1, "the local message was appended to Sent");
    assert!(sent[0].flags.contains(&Flag::Seen));
    let raw = String::from_utf8_lossy(&sent[0].raw);
    assert!(
        raw.starts_with("Subject: local\r\n") && raw.ends_with("\r\n\r\nwritten offline\r\n"),
        "{raw}"
    );
}

/// Python's imaplib has no COMPRESS support: this wraps its socket with zlib's raw DEFLATE
/// (`wbits=-15`, a sync flush after each command) once `COMPRESS DEFLATE` is answered OK, the
/// way RFC 4978 §4 describes a zlib-based client, and counts the bytes on the wire.
const COMPRESSING_CLIENT: &str = r#"
import imaplib, ssl, sys, zlib
port, ca = sys.argv[1:3]
imaplib.Commands["COMPRESS"] = ("AUTH", "SELECTED")

def check(cond, what):
    if not cond:
        sys.exit("FAILED: " + what)

class Deflating(imaplib.IMAP4):
    deflate = None
    wire_in = plain_in = 0

    def compress(self):
        typ, data = self._simple_command("COMPRESS", "DEFLATE")
        check(typ == "OK", "COMPRESS DEFLATE: %r %r" % (typ, data))
        self.deflate = zlib.compressobj(wbits=-15)
        self.inflate = zlib.decompressobj(wbits=-15)
        self.pending = b""

    def send(self, data):
        if self.deflate:
            data = self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def more(self):
        wire = self.sock.recv(65536)
        if not wire:
            raise self.abort("EOF")
        plain = self.inflate.decompress(wire)
        self.wire_in += len(wire)
        self.plain_in += len(plain)
        self.pending += plain

    def read(self, size):
        if not self.deflate:
            return super().read(size)
        while len(self.pending) < size:
            self.more()
        out, self.pending = self.pending[:size], self.pending[size:]
        return out

    def readline(self):
        if not self.deflate:
            return super().readline()
        while b"\n" not in self.pending:
            self.more()
        n = self.pending.index(b"\n") + 1
        out, self.pending = self.pending[:n], self.pending[n:]
        return out

c = Deflating("localhost", int(port), timeout=10)
c.starttls(ssl_context=ssl.create_default_context(cafile=ca))
c.login("alice", "secret")
check("COMPRESS=DEFLATE" in c.capabilities, "advertised: %r" % (c.capabilities,))
c.compress()
body = b"Subject: big\r\n\r\n" + b"a line that compresses well\r\n" * 4000
typ, data = c.append("INBOX", None, None, body)
check(typ == "OK", "APPEND: %r" % data)
check(c.select("INBOX") == ("OK", [b"2"]), "SELECT")
typ, data = c.uid("FETCH", "2", "(BODY.PEEK[])")
check(typ == "OK" and data[0][1] == body, "the message comes back whole")
typ, data = c._simple_command("COMPRESS", "DEFLATE")
check(typ == "NO" and b"[COMPRESSIONACTIVE]" in data[0], "second COMPRESS: %r %r" % (typ, data))
check(c.wire_in * 20 < c.plain_in, "compressed: %d bytes for %d" % (c.wire_in, c.plain_in))
c.logout()
print("ok")
"#;

/// COMPRESS=DEFLATE (RFC 4978) with a real zlib client over STARTTLS: a 116 KB message goes
/// both ways compressed, and the server's transcript holds the uncompressed protocol.
#[test]
fn python_imaplib_with_zlib_compresses_both_ways() {
    let f = Fixture::start(mailrig::Rig::builder());
    let output = python(COMPRESSING_CLIENT, &[&port(f.rig.imap_addr()), s(&f.ca())]);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "ok\n");
    let inbox = f.rig.messages("alice");
    assert_eq!(inbox.len(), 2);
    assert!(inbox[1].raw.ends_with(b"a line that compresses well\r\n"));
    let transcript = f.rig.redacted_transcript();
    for recorded in [
        "COMPRESS DEFLATE",
        "UID FETCH 2 (BODY.PEEK[])",
        "NO [COMPRESSIONACTIVE]",
        "BYE mailrig logging out",
    ] {
        assert!(transcript.contains(recorded), "{recorded} in {transcript}");
    }
}
