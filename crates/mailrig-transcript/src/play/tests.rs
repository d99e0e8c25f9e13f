//! The player against a toy in-memory IMAP-like server.

use std::collections::HashMap;

use super::*;
use crate::framing::{Frame, next_line};
use crate::scenario::{Family, Side};

/// Answers a handful of commands; `broken` makes UID SEARCH report a different UID.
#[derive(Default)]
struct Toy {
    inbox: HashMap<String, Vec<u8>>,
    outbox: HashMap<String, Vec<Vec<u8>>>,
    closed: HashMap<String, bool>,
    tls: HashMap<String, bool>,
    broken: bool,
}

impl Toy {
    fn reply(&mut self, session: &str, line: &[u8]) {
        let text = String::from_utf8_lossy(line).trim_end().to_owned();
        let (tag, command) = text.split_once(' ').unwrap_or((&text, ""));
        let out = match command {
            c if c.starts_with("APPEND") => format!("{tag} OK [APPENDUID 1 42] done\r\n"),
            "UID SEARCH ALL" => format!(
                "* SEARCH {}\r\n{tag} OK done\r\n",
                if self.broken { 41 } else { 42 }
            ),
            c if c.starts_with("UID FETCH") => {
                let uid = c.split(' ').nth(2).unwrap_or("?");
                format!("* 1 FETCH (UID {uid} FLAGS ())\r\n{tag} OK done\r\n")
            }
            "STARTTLS" => format!("{tag} OK go\r\n"),
            "LOGOUT" => {
                self.closed.insert(session.to_owned(), true);
                format!("* BYE\r\n{tag} OK bye\r\n")
            }
            _ => format!("{tag} BAD what\r\n"),
        };
        self.outbox
            .entry(session.to_owned())
            .or_default()
            .push(out.into_bytes());
    }
}

impl Target for Toy {
    fn connect(&mut self, session: &str, _: Protocol) {
        self.outbox
            .insert(session.to_owned(), vec![b"* OK toy\r\n".to_vec()]);
    }

    fn send(&mut self, session: &str, bytes: &[u8]) {
        let buf = self.inbox.entry(session.to_owned()).or_default();
        buf.extend_from_slice(bytes);
        let mut lines = Vec::new();
        loop {
            let buf = self.inbox.get_mut(session).expect("connected");
            match next_line(buf, Family::Imap, 1 << 20) {
                Frame::Line(n) => lines.push(buf.drain(..n).collect::<Vec<u8>>()),
                _ => {
                    // A synchronizing literal announced at the end of the buffer: ask for it.
                    if buf.ends_with(b"}\r\n") && !buf.ends_with(b"+}\r\n") && !buf.is_empty() {
                        self.outbox
                            .entry(session.to_owned())
                            .or_default()
                            .push(b"+ go\r\n".to_vec());
                    }
                    break;
                }
            }
        }
        for line in lines {
            self.reply(session, &line);
        }
    }

    fn receive(&mut self, session: &str) -> Vec<Vec<u8>> {
        std::mem::take(self.outbox.entry(session.to_owned()).or_default())
    }

    fn start_tls(&mut self, session: &str) {
        self.tls.insert(session.to_owned(), true);
    }

    fn close(&mut self, session: &str) {
        self.closed.insert(session.to_owned(), true);
    }

    fn is_closed(&mut self, session: &str) -> bool {
        self.closed.get(session).copied().unwrap_or(false)
    }
}

const SCENARIO: &str = "name: play\nsessions: a=imap, b=imap\nplays: client\n\n\
a S: * OK ${_}\nb S: * OK ${_}\n\
a C: A1 APPEND INBOX {{{\nSubject: x\n}}}\na S: A1 OK [APPENDUID ${_:num} ${uid:num}] ${_}\n\
a C: A2 STARTTLS\na S: A2 OK ${_}\na @starttls\n\
b C: B1 UID SEARCH ALL\nb S: * SEARCH ${uid}\nb S: B1 OK ${_}\n\
b C: B2 UID FETCH ${uid} FLAGS\nb S: * 1 FETCH (UID ${uid} FLAGS ())\nb S: B2 OK ${_}\n\
a C: A3 LOGOUT\na S: * BYE${_}\na S: A3 OK ${_}\na @close server\n";

#[test]
fn plays_captures_literals_tls_and_close() {
    let scenario = crate::parse("play.scenario", SCENARIO).expect("parses");
    let mut toy = Toy::default();
    let played = play_client(&scenario, &mut toy, &BTreeMap::new()).expect("plays");
    assert!(
        played.report.passed(),
        "{}",
        crate::report::render(&played.report, "play.scenario", SCENARIO)
    );
    assert_eq!(toy.tls.get("a"), Some(&true));
    let b = played.transcript.session("b").expect("b");
    assert!(String::from_utf8_lossy(&b.bytes_from(Side::Client)).contains("B2 UID FETCH 42 FLAGS"));
}

#[test]
fn a_mismatch_stops_the_play_where_it_happened() {
    let scenario = crate::parse("play.scenario", SCENARIO).expect("parses");
    let mut toy = Toy {
        broken: true,
        ..Toy::default()
    };
    let played = play_client(&scenario, &mut toy, &BTreeMap::new()).expect("plays");
    let failure = played.report.failure().expect("fails");
    assert_eq!((failure.session.as_str(), failure.pos.line), ("b", 15));
    let b = played.transcript.session("b").expect("b");
    assert!(
        !String::from_utf8_lossy(&b.bytes_from(Side::Client)).contains("B2"),
        "stopped before B2"
    );
}

#[test]
fn refuses_server_only_scenarios() {
    let scenario = crate::parse(
        "s",
        "name: s\nsessions: a=imap\nplays: server\n\nS: * OK ${_:text=hi}\n",
    )
    .expect("parses");
    assert_eq!(
        play_client(&scenario, &mut Toy::default(), &BTreeMap::new()),
        Err(PlayError::WrongRole)
    );
}
