//! `mailrig bench imap`: an IMAP load generator and idle-connection memory meter.
//!
//! The load: `--sessions` connections, each logging in with LOGIN, selecting INBOX once and
//! repeating one round of APPEND (a literal; LITERAL+ when advertised), FETCH 1:* (FLAGS), UID
//! FETCH of the new message's BODY.PEEK[], UID STORE +FLAGS (\Deleted) on it and EXPUNGE, with
//! LOGOUT and a new connection (LOGIN, SELECT) every `--reconnect-every` rounds, as a client
//! that keeps its mailbox open does. Every tagged OK counts; a NO or BAD
//! fails the run. The idle test holds `--idle` connections logged in with INBOX selected and
//! reports the server's resident memory growth; `--messages` fills that INBOX first, so the
//! growth shows what each connection costs per message it can see.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use mailrig::{Protocol, Store, User};
use mailrig_server::{Server, ServerConfig, TlsSetting};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use super::{Memory, ensure_fd_limit, memory};

/// Commands in one round of the mix (APPEND, FETCH, UID FETCH, UID STORE, EXPUNGE).
const ROUND: usize = 5;

/// `mailrig bench imap` options.
#[derive(Debug, Args)]
pub(crate) struct ImapBench {
    /// Load this server instead of an in-process mailrig (log in with `--user`/`--password`).
    #[arg(long, value_name = "HOST:PORT")]
    target: Option<SocketAddr>,
    /// The login.
    #[arg(long, default_value = "bench")]
    user: String,
    /// The password.
    #[arg(long, default_value = "bench")]
    password: String,
    /// Spread the sessions over this many users (`USER1`..`USERn`, same password), each with
    /// its own INBOX; 1 (the default) puts every session on `--user`'s INBOX.
    #[arg(long, default_value_t = 1)]
    users: usize,
    /// Concurrent sessions.
    #[arg(long, default_value_t = 20)]
    sessions: usize,
    /// Commands of the mix in total (rounded down to whole rounds of 5); 0 skips the load.
    #[arg(long, default_value_t = 60_000)]
    commands: usize,
    /// Size of each appended message, in bytes.
    #[arg(long, default_value_t = 1000)]
    size: usize,
    /// LOGOUT and reconnect after this many rounds.
    #[arg(long, default_value_t = 50)]
    reconnect_every: usize,
    /// Then open this many connections, LOGIN and SELECT INBOX on each, and report the
    /// server's resident memory growth (0 skips it).
    #[arg(long, default_value_t = 0)]
    idle: usize,
    /// Before the idle test, APPEND this many `--size`-byte messages to `--user`'s INBOX (on
    /// one connection), so the idle connections select a full INBOX; the memory before the
    /// idle test already holds them.
    #[arg(long, default_value_t = 0)]
    messages: usize,
    /// With `--target`: the server's PID, whose memory (summed over it and its descendants)
    /// the idle test reports. In process, the bench reads its own memory.
    #[arg(long, requires = "target")]
    pid: Option<u32>,
}

pub(super) async fn imap(args: ImapBench) -> anyhow::Result<ExitCode> {
    if args.sessions == 0 || args.reconnect_every == 0 || args.users == 0 {
        bail!("--sessions, --users and --reconnect-every must be at least 1");
    }
    if args.idle > 0 {
        if args.target.is_some() && args.pid.is_none() {
            bail!("--idle with --target needs the server's --pid to read its memory");
        }
        // Each in-process connection holds two sockets (client and server).
        let per = if args.target.is_some() { 1 } else { 2 };
        ensure_fd_limit(args.idle as u64 * per + 256)?;
    }
    let store = Store::new();
    for login in
        std::iter::once(args.user.clone()).chain((1..=args.users).map(|n| login(&args.user, args.users, n)))
    {
        if store.messages(&login, "INBOX").is_err() {
            store.add_user(User::new(
                &login,
                &args.password,
                [format!("{login}@example.test")],
            ))?;
        }
    }
    let (server, target) = match args.target {
        Some(target) => (None, target),
        None => {
            let server = Server::start(config(store.clone())).await?;
            let addr = server.addr(Protocol::Imap).context("imap listener")?;
            (Some(server), addr)
        }
    };
    if args.commands >= ROUND {
        let report = load(target, &args).await?;
        println!("{report}");
        if server.is_some() {
            let mut left = 0;
            for n in 1..=args.users {
                left += store
                    .messages(&login(&args.user, args.users, n), "INBOX")?
                    .messages
                    .len();
            }
            if left != 0 {
                bail!("{left} messages are left in INBOX; every round expunges its own");
            }
        }
    }
    if args.messages > 0 {
        println!("{}", fill(target, &args).await?);
    }
    if args.idle > 0 {
        println!("{}", idle(target, &args).await?);
    }
    if let Some(server) = server {
        server.shutdown(Duration::from_secs(2)).await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Only the IMAP listener, plaintext LOGIN allowed (no TLS), like `mailrig serve --no-tls`.
fn config(store: Store) -> ServerConfig {
    let mut config = ServerConfig::loopback(store);
    config.listeners.retain(|(s, _)| *s == Protocol::Imap);
    config.tls = TlsSetting::Off;
    config.max_connections = 100_000;
    config.imap.config.login_disabled_before_tls = false;
    config.keep_transcripts = Some(10_000); // what `mailrig serve` keeps by default
    config
}

/// What the sessions did.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    /// Tagged OK responses, LOGIN and LOGOUT included.
    ok: usize,
    /// Rounds of the mix.
    rounds: usize,
    /// Connections opened.
    connections: usize,
}

/// Runs the sessions, each on its share of the rounds; returns a one-line report.
async fn load(target: SocketAddr, args: &ImapBench) -> anyhow::Result<String> {
    let message = Arc::new(message(args.size));
    let total_rounds = args.commands / ROUND;
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for i in 0..args.sessions {
        let message = message.clone();
        let rounds = share(total_rounds, args.sessions, i);
        let user = login(&args.user, args.users, i % args.users + 1);
        let (password, every) = (args.password.clone(), args.reconnect_every);
        tasks.spawn(async move { session(target, (&user, &password), every, &message, rounds).await });
    }
    let mut total = Counts::default();
    while let Some(done) = tasks.join_next().await {
        let done = done.context("session task")??;
        total.ok += done.ok;
        total.rounds += done.rounds;
        total.connections += done.connections;
    }
    let elapsed = start.elapsed().as_secs_f64();
    Ok(format!(
        "throughput: {} tagged OK in {elapsed:.2} s = {:.0} commands/s ({} rounds of \
         APPEND/FETCH/UID FETCH/UID STORE/EXPUNGE, {} connections with LOGIN, SELECT and LOGOUT, \
         {} sessions on {} INBOX(es), {}-byte messages)",
        total.ok,
        total.ok as f64 / elapsed,
        total.rounds,
        total.connections,
        args.sessions,
        args.users,
        args.size
    ))
}

/// Session `i`'s share of `total` rounds over `sessions` sessions: equal shares, the first
/// `total % sessions` sessions taking one more. Fixed shares (rather than a shared counter)
/// keep the connection count independent of scheduling, so every session connects whenever
/// there are at least as many rounds as sessions.
fn share(total: usize, sessions: usize, i: usize) -> usize {
    total / sessions + usize::from(i < total % sessions)
}

/// The login of user `n` of `users` (1-based): `user` itself when there is one user.
fn login(user: &str, users: usize, n: usize) -> String {
    if users == 1 {
        user.to_owned()
    } else {
        format!("{user}{n}")
    }
}

/// One session: `rounds` rounds, on connections of `every` rounds each.
async fn session(
    target: SocketAddr,
    (user, password): (&str, &str),
    every: usize,
    message: &[u8],
    mut rounds: usize,
) -> anyhow::Result<Counts> {
    let mut counts = Counts::default();
    let mut take = || {
        let left = rounds > 0;
        rounds = rounds.saturating_sub(1);
        left
    };
    loop {
        if !take() {
            return Ok(counts);
        }
        let mut client = Client::connect(target).await?;
        counts.connections += 1;
        client.login(user, password).await?;
        client.command(b"SELECT INBOX").await?;
        counts.ok += 2;
        let mut done = 0;
        loop {
            round(&mut client, message).await?;
            counts.ok += ROUND;
            counts.rounds += 1;
            done += 1;
            if done == every || !take() {
                break;
            }
        }
        client.command(b"LOGOUT").await?;
        counts.ok += 1;
    }
}

/// One round of the mix.
async fn round(client: &mut Client, message: &[u8]) -> anyhow::Result<()> {
    let tagged = client.append(message).await?;
    let uid = append_uid(&tagged).with_context(|| {
        format!(
            "APPEND: no APPENDUID in {:?} (the bench needs UIDPLUS)",
            String::from_utf8_lossy(&tagged)
        )
    })?;
    client.command(b"FETCH 1:* (FLAGS)").await?;
    client
        .command(format!("UID FETCH {uid} (BODY.PEEK[])").as_bytes())
        .await?;
    if client.last_literal != Some(message.len()) {
        bail!(
            "UID FETCH {uid} BODY.PEEK[]: got {:?} bytes, appended {}",
            client.last_literal,
            message.len()
        );
    }
    client
        .command(format!("UID STORE {uid} +FLAGS (\\Deleted)").as_bytes())
        .await?;
    client.command(b"EXPUNGE").await?;
    Ok(())
}

/// APPENDs `--messages` messages to `--user`'s INBOX on one connection.
async fn fill(target: SocketAddr, args: &ImapBench) -> anyhow::Result<String> {
    let message = message(args.size);
    let start = Instant::now();
    let mut client = Client::connect(target).await?;
    client.login(&args.user, &args.password).await?;
    for _ in 0..args.messages {
        client.append(&message).await?;
    }
    client.command(b"LOGOUT").await?;
    Ok(format!(
        "fill: {} messages of {} bytes appended to {}'s INBOX in {:.1} s",
        args.messages,
        args.size,
        args.user,
        start.elapsed().as_secs_f64()
    ))
}

/// Opens `--idle` connections (LOGIN, SELECT INBOX) and reports the server's memory growth.
async fn idle(target: SocketAddr, args: &ImapBench) -> anyhow::Result<String> {
    let before = memory(args.pid)?;
    let start = Instant::now();
    let mut open: Vec<TcpStream> = Vec::with_capacity(args.idle);
    let mut batch = JoinSet::new();
    while open.len() < args.idle {
        let size = (args.idle - open.len()).min(200);
        for _ in 0..size {
            let (user, password) = (args.user.clone(), args.password.clone());
            batch.spawn(async move {
                let mut client = Client::connect(target).await?;
                client.login(&user, &password).await?;
                client.command(b"SELECT INBOX").await?;
                anyhow::Ok(client.stream.into_inner())
            });
        }
        while let Some(stream) = batch.join_next().await {
            open.push(stream.context("idle task")??);
        }
    }
    let opened = start.elapsed();
    // Let the server settle (Dovecot hands each login to an imap process asynchronously).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = memory(args.pid)?;
    Ok(idle_report(args.idle, opened, before, after, args.pid.is_none()))
}

fn idle_report(count: usize, opened: Duration, before: Memory, after: Memory, in_process: bool) -> String {
    let grew = after.rss_kib.saturating_sub(before.rss_kib);
    let whose = if in_process {
        "this process: server and the client sockets".to_owned()
    } else {
        format!("server: {} process(es)", after.processes)
    };
    format!(
        "idle: {count} connections logged in with INBOX selected (opened in {:.1} s); resident \
         memory ({whose}) {} KiB -> {} KiB = +{grew} KiB, {:.1} KiB per connection, total {:.1} \
         MiB; PSS {} KiB -> {} KiB",
        opened.as_secs_f64(),
        before.rss_kib,
        after.rss_kib,
        grew as f64 / count as f64,
        after.rss_kib as f64 / 1024.0,
        before.pss_kib,
        after.pss_kib,
    )
}

/// A minimal IMAP client: one command at a time, tags `a1`, `a2`, ...
struct Client {
    stream: BufReader<TcpStream>,
    tag: u64,
    literal_plus: bool,
    line: Vec<u8>,
    /// The size of the last literal the server sent (a FETCH body).
    last_literal: Option<usize>,
}

impl Client {
    /// Connects and reads the greeting; asks for CAPABILITY if the greeting does not say.
    async fn connect(target: SocketAddr) -> anyhow::Result<Client> {
        let stream = TcpStream::connect(target)
            .await
            .with_context(|| format!("cannot connect to {target}"))?;
        stream.set_nodelay(true)?;
        let mut client = Client {
            stream: BufReader::with_capacity(4096, stream),
            tag: 0,
            literal_plus: false,
            line: Vec::new(),
            last_literal: None,
        };
        client.read_piece().await?;
        if !client.line.starts_with(b"* OK") {
            bail!("greeting: {}", String::from_utf8_lossy(&client.line).trim_end());
        }
        match capabilities(&client.line) {
            Some(caps) => client.literal_plus = has_literal_plus(caps),
            None => {
                let mut plus = false;
                client
                    .run(b"CAPABILITY", None, &mut |line| {
                        if let Some(caps) = line.strip_prefix(b"* CAPABILITY ") {
                            plus |= has_literal_plus(caps);
                        }
                    })
                    .await?;
                client.literal_plus = plus;
            }
        }
        Ok(client)
    }

    async fn login(&mut self, user: &str, password: &str) -> anyhow::Result<()> {
        let command = format!("LOGIN {} {}", quoted(user), quoted(password));
        self.command(command.as_bytes()).await.map(drop)
    }

    /// Runs a command without literals; returns its tagged OK line.
    async fn command(&mut self, command: &[u8]) -> anyhow::Result<Vec<u8>> {
        self.run(command, None, &mut |_| {}).await
    }

    /// APPEND INBOX with `message` as a literal; returns the tagged OK line.
    async fn append(&mut self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        self.run(b"APPEND INBOX", Some(message), &mut |_| {}).await
    }

    /// Sends `command` (and `literal`, announced at its end), reads up to the tagged
    /// response, calls `untagged` for each other line, and fails on NO or BAD.
    async fn run(
        &mut self,
        command: &[u8],
        literal: Option<&[u8]>,
        untagged: &mut (dyn FnMut(&[u8]) + Send),
    ) -> anyhow::Result<Vec<u8>> {
        self.tag += 1;
        let tag = format!("a{}", self.tag);
        let mut out = Vec::with_capacity(command.len() + 32 + literal.map_or(0, <[u8]>::len));
        out.extend_from_slice(tag.as_bytes());
        out.push(b' ');
        out.extend_from_slice(command);
        match literal {
            Some(data) if self.literal_plus => {
                out.extend_from_slice(format!(" {{{}+}}\r\n", data.len()).as_bytes());
                out.extend_from_slice(data);
            }
            Some(data) => {
                out.extend_from_slice(format!(" {{{}}}\r\n", data.len()).as_bytes());
                self.stream.get_mut().write_all(&out).await?;
                self.await_continuation(command, &tag).await?;
                out.clear();
                out.extend_from_slice(data);
            }
            None => {}
        }
        out.extend_from_slice(b"\r\n");
        self.stream.get_mut().write_all(&out).await?;
        self.last_literal = None;
        loop {
            self.read_piece().await?;
            match tagged_status(&self.line, &tag) {
                Some(Status::Ok) => return Ok(std::mem::take(&mut self.line)),
                Some(_) => bail!(
                    "{}: {}",
                    String::from_utf8_lossy(command),
                    String::from_utf8_lossy(&self.line).trim_end()
                ),
                None => {
                    untagged(&self.line);
                    self.skip_literals().await?;
                }
            }
        }
    }

    /// Waits for `+` after a synchronizing literal's announcement.
    async fn await_continuation(&mut self, command: &[u8], tag: &str) -> anyhow::Result<()> {
        loop {
            self.read_piece().await?;
            if self.line.starts_with(b"+") {
                return Ok(());
            }
            if tagged_status(&self.line, tag).is_some() {
                bail!(
                    "{}: {}",
                    String::from_utf8_lossy(command),
                    String::from_utf8_lossy(&self.line).trim_end()
                );
            }
            self.skip_literals().await?;
        }
    }

    /// Reads (and drops) the literals that end the current line, and the lines they continue.
    async fn skip_literals(&mut self) -> anyhow::Result<()> {
        while let Some(size) = literal_size(&self.line) {
            let copied =
                tokio::io::copy(&mut (&mut self.stream).take(size as u64), &mut tokio::io::sink()).await?;
            if copied != size as u64 {
                bail!("the server closed the connection inside a literal");
            }
            self.last_literal = Some(size);
            self.read_piece().await?;
        }
        Ok(())
    }

    /// Reads one CRLF-terminated piece of a response into `self.line`.
    async fn read_piece(&mut self) -> anyhow::Result<()> {
        self.line.clear();
        if self.stream.read_until(b'\n', &mut self.line).await? == 0 {
            bail!("the server closed the connection");
        }
        Ok(())
    }
}

/// A tagged response's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    No,
    Bad,
}

/// The status of `line` if it is the tagged response for `tag` (RFC 9051 `response-tagged`).
fn tagged_status(line: &[u8], tag: &str) -> Option<Status> {
    let rest = line.strip_prefix(tag.as_bytes())?.strip_prefix(b" ")?;
    let word = rest.split(|b| *b == b' ' || *b == b'\r').next()?;
    match word.to_ascii_uppercase().as_slice() {
        b"OK" => Some(Status::Ok),
        b"NO" => Some(Status::No),
        b"BAD" => Some(Status::Bad),
        _ => None,
    }
}

/// The size of the literal announced at the end of `line` (`{123}` or `{123+}` before CRLF).
fn literal_size(line: &[u8]) -> Option<usize> {
    mailrig_transcript::framing::literal_size(line.strip_suffix(b"\r\n")?)
}

/// The capability list inside a `[CAPABILITY ...]` response code, if the line has one.
fn capabilities(line: &[u8]) -> Option<&[u8]> {
    let start = line
        .windows(12)
        .position(|w| w.eq_ignore_ascii_case(b"[CAPABILITY "))?
        + 12;
    let len = line[start..].iter().position(|b| *b == b']')?;
    Some(&line[start..start + len])
}

fn has_literal_plus(capabilities: &[u8]) -> bool {
    capabilities
        .split(|b| *b == b' ')
        .any(|c| c.eq_ignore_ascii_case(b"LITERAL+"))
}

/// The UID from a tagged `OK [APPENDUID uidvalidity uid]` (RFC 4315).
fn append_uid(tagged: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(tagged).ok()?;
    let at = text.to_ascii_uppercase().find("[APPENDUID ")? + "[APPENDUID ".len();
    let mut words = text[at..].split([' ', ']']);
    words.next()?.parse::<u32>().ok()?;
    words.next()?.parse().ok()
}

/// An IMAP quoted string (the bench's credentials have no CR or LF).
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A message of `size` bytes: headers, then lines of at most 78 characters.
fn message(size: usize) -> Vec<u8> {
    let mut message = b"From: load@example.test\r\nTo: bench@example.test\r\nSubject: bench\r\n\r\n".to_vec();
    while message.len() + 78 <= size {
        message.extend_from_slice(&[b'x'; 76]);
        message.extend_from_slice(b"\r\n");
    }
    while message.len() + 2 < size {
        message.push(b'y');
    }
    message.extend_from_slice(b"\r\n");
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_status_matches_only_its_own_tag() {
        assert_eq!(
            tagged_status(b"a12 OK SELECT completed\r\n", "a12"),
            Some(Status::Ok)
        );
        assert_eq!(tagged_status(b"a12 ok\r\n", "a12"), Some(Status::Ok));
        assert_eq!(
            tagged_status(b"a12 NO [TRYCREATE] no\r\n", "a12"),
            Some(Status::No)
        );
        assert_eq!(tagged_status(b"a12 BAD what\r\n", "a12"), Some(Status::Bad));
        assert_eq!(tagged_status(b"a123 OK done\r\n", "a12"), None);
        assert_eq!(tagged_status(b"* OK [UIDNEXT 4] x\r\n", "a12"), None);
        assert_eq!(tagged_status(b"a12 PREAUTH x\r\n", "a12"), None);
    }

    #[test]
    fn literal_sizes_are_found_at_line_ends() {
        assert_eq!(literal_size(b"* 1 FETCH (UID 7 BODY[] {1000}\r\n"), Some(1000));
        assert_eq!(literal_size(b"a1 APPEND INBOX {5+}\r\n"), Some(5));
        assert_eq!(literal_size(b"* 1 FETCH (FLAGS (\\Seen))\r\n"), None);
        assert_eq!(literal_size(b"* OK {x}\r\n"), None);
        assert_eq!(literal_size(b"* OK {12}"), None);
    }

    #[test]
    fn capabilities_and_literal_plus() {
        let greeting = b"* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ AUTH=PLAIN] Dovecot ready.\r\n";
        let caps = capabilities(greeting).expect("a capability code");
        assert!(has_literal_plus(caps));
        assert!(!has_literal_plus(b"IMAP4rev1 LITERAL- IDLE"));
        assert_eq!(capabilities(b"* OK ready\r\n"), None);
    }

    #[test]
    fn append_uid_reads_the_second_number() {
        assert_eq!(
            append_uid(b"a3 OK [APPENDUID 1764 42] APPEND completed\r\n"),
            Some(42)
        );
        assert_eq!(
            append_uid(b"a3 OK [appenduid 9 7] Append completed.\r\n"),
            Some(7)
        );
        assert_eq!(append_uid(b"a3 OK APPEND completed\r\n"), None);
    }

    #[test]
    fn messages_have_the_asked_size_and_crlf_lines() {
        for size in [100, 1000, 5000] {
            let m = message(size);
            assert_eq!(m.len(), size);
            assert!(m.ends_with(b"\r\n"));
            assert!(m.split(|b| *b == b'\n').all(|l| l.len() <= 80));
        }
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn sessions_spread_over_numbered_users() {
        assert_eq!(login("bench", 1, 1), "bench");
        let logins: Vec<String> = (0..5).map(|i| login("bench", 2, i % 2 + 1)).collect();
        assert_eq!(logins, ["bench1", "bench2", "bench1", "bench2", "bench1"]);
    }

    #[test]
    fn rounds_are_shared_out_whole_and_all_spent() {
        let shares: Vec<usize> = (0..4).map(|i| share(10, 4, i)).collect();
        assert_eq!(shares, [3, 3, 2, 2]);
        assert_eq!((0..3).map(|i| share(2, 3, i)).sum::<usize>(), 2);
        assert_eq!(share(12, 2, 1), 6);
    }
}
