//! CONDSTORE and QRESYNC (RFC 7162) and the SEARCH criteria, session by session.

use std::collections::BTreeSet;

use mailrig_store::{Flags, Store};
use proptest::prelude::*;

use super::{Session, exchange, logged_in, selected, store};

/// A store whose INBOX holds `count` messages; message `i` (from 1) has modseq `i + 1`.
/// A store with `count` messages in alice's INBOX, already seen by one earlier session, so
/// that they are `\Recent` (IMAP4rev1) in none of the sessions under test.
fn inbox(count: usize) -> Store {
    let store = store();
    for i in 1..=count {
        let raw = format!("Subject: m{i}\r\n\r\nbody {i}\r\n").into_bytes();
        store.deliver("alice", raw, 0).expect("INBOX exists");
    }
    drop(selected(&store));
    store
}

fn uidvalidity(store: &Store) -> u32 {
    store.status("alice", "INBOX").expect("INBOX exists").uidvalidity
}

/// RFC 7162 §3.1.2.1, §3.1.3, §3.1.4, §3.1.5, §3.1.6 in one session.
#[test]
fn condstore_fetch_store_search_status() {
    let store = inbox(3);
    let mut session = logged_in(&store);
    assert_eq!(
        exchange(
            &mut session,
            b"a ENABLE CONDSTORE X-UNKNOWN\r\nb ENABLE CONDSTORE\r\n"
        ),
        "* ENABLED CONDSTORE\r\na OK ENABLE completed\r\n* ENABLED\r\nb OK ENABLE completed\r\n"
    );
    let text = exchange(&mut session, b"c SELECT INBOX\r\n");
    assert!(
        text.ends_with(
            "* OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft \\*)] limited\r\n\
             * OK [HIGHESTMODSEQ 4] Highest\r\n* OK [MAILBOXID (M1)] Ok\r\nc OK [READ-WRITE] SELECT completed\r\n"
        ),
        "{text}"
    );
    assert_eq!(
        exchange(&mut session, b"d FETCH 1:* (MODSEQ)\r\n"),
        "* 1 FETCH (MODSEQ (2))\r\n* 2 FETCH (MODSEQ (3))\r\n* 3 FETCH (MODSEQ (4))\r\nd OK FETCH completed\r\n"
    );
    // Message 2 changed after modseq 2: it is left alone and named in MODIFIED.
    assert_eq!(
        exchange(
            &mut session,
            b"e STORE 1,2 (UNCHANGEDSINCE 2) +FLAGS (\\Seen)\r\n"
        ),
        "* 1 FETCH (FLAGS (\\Seen) UID 1 MODSEQ (5))\r\ne OK [MODIFIED 2] Conditional STORE failed\r\n"
    );
    // Under CONDSTORE even .SILENT reports the new modseqs.
    assert_eq!(
        exchange(
            &mut session,
            b"f UID STORE 1:3 (UNCHANGEDSINCE 5) +FLAGS.SILENT (\\Flagged)\r\n"
        ),
        "* 1 FETCH (UID 1 MODSEQ (6))\r\n* 2 FETCH (UID 2 MODSEQ (7))\r\n* 3 FETCH (UID 3 MODSEQ (8))\r\n\
         f OK UID STORE completed\r\n"
    );
    assert_eq!(
        exchange(
            &mut session,
            b"g UID STORE 1,3 (UNCHANGEDSINCE 0) -FLAGS (\\Flagged)\r\n"
        ),
        "g OK [MODIFIED 1,3] Conditional STORE failed\r\n"
    );
    assert_eq!(
        exchange(&mut session, b"h UID FETCH 1:* (FLAGS) (CHANGEDSINCE 6)\r\n"),
        "* 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (7))\r\n* 3 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (8))\r\n\
         h OK UID FETCH completed\r\n"
    );
    assert_eq!(
        exchange(&mut session, b"i STATUS INBOX (HIGHESTMODSEQ MESSAGES)\r\n"),
        "* STATUS \"INBOX\" (HIGHESTMODSEQ 8 MESSAGES 3)\r\ni OK STATUS completed\r\n"
    );
    assert_eq!(
        exchange(
            &mut session,
            b"j SEARCH MODSEQ 7\r\nk UID SEARCH MODSEQ \"/flags/\\\\flagged\" all 8 FLAGGED\r\nl SEARCH MODSEQ 9\r\n\
              m SEARCH OR MODSEQ 100 UID 1\r\n"
        ),
        "* SEARCH 2 3 (MODSEQ 8)\r\nj OK SEARCH completed\r\n* SEARCH 3 (MODSEQ 8)\r\nk OK UID SEARCH completed\r\n\
         * SEARCH\r\nl OK SEARCH completed\r\n* SEARCH 1 (MODSEQ 6)\r\nm OK SEARCH completed\r\n"
    );
    // Implicit \Seen reports UID and MODSEQ too (RFC 7162 §3.1).
    assert_eq!(
        exchange(&mut session, b"n FETCH 2 BODY[TEXT]\r\n"),
        "* 2 FETCH (BODY[TEXT] {8}\r\nbody 2\r\n FLAGS (\\Seen \\Flagged) UID 2 MODSEQ (9))\r\nn OK FETCH completed\r\n"
    );
    // Another session's change arrives with UID and MODSEQ; that session, which never
    // enabled CONDSTORE, sees this one's changes without MODSEQ.
    let mut other = selected(&store);
    exchange(&mut other, b"o STORE 3 +FLAGS.SILENT (\\Draft)\r\n");
    assert_eq!(
        exchange(&mut session, b"p NOOP\r\n"),
        "* 3 FETCH (FLAGS (\\Flagged \\Draft) UID 3 MODSEQ (10))\r\np OK NOOP completed\r\n"
    );
    exchange(&mut session, b"q STORE 1 FLAGS.SILENT ()\r\n");
    assert_eq!(
        exchange(&mut other, b"r NOOP\r\n"),
        "* 1 FETCH (FLAGS () UID 1)\r\nr OK NOOP completed\r\n"
    );
    for bad in [
        &b"s STORE 1 (UNCHANGEDSINCE x) +FLAGS (\\Seen)\r\n"[..],
        b"s STORE 1 (CHANGEDSINCE 1) +FLAGS (\\Seen)\r\n",
        b"s FETCH 1 (FLAGS) (CHANGEDSINCE)\r\n",
        b"s SEARCH MODSEQ \"/flags/\\\\seen\" mine 1\r\n",
    ] {
        assert!(exchange(&mut session, bad).starts_with("s BAD "), "{bad:?}");
    }
    assert_eq!(
        exchange(&mut session, b"t FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n"),
        "t BAD VANISHED needs UID FETCH\r\n"
    );
}

/// RFC 7162 §3.1: the first CONDSTORE-enabling command while a mailbox is selected reports
/// HIGHESTMODSEQ; SELECT (CONDSTORE) enables it too.
#[test]
fn condstore_enabling_commands() {
    let store = inbox(1);
    let mut session = selected(&store);
    let text = exchange(
        &mut session,
        b"a FETCH 1 (FLAGS)\r\nb FETCH 1 (FLAGS MODSEQ)\r\nc FETCH 1 MODSEQ\r\n",
    );
    assert_eq!(
        text,
        "* 1 FETCH (FLAGS ())\r\na OK FETCH completed\r\n* OK [HIGHESTMODSEQ 2] Highest\r\n\
         * 1 FETCH (FLAGS () MODSEQ (2))\r\nb OK FETCH completed\r\n* 1 FETCH (MODSEQ (2))\r\nc OK FETCH completed\r\n"
    );
    for enabling in [
        &b"a SEARCH MODSEQ 1\r\n"[..],
        b"a STORE 1 (UNCHANGEDSINCE 9) +FLAGS.SILENT (\\Seen)\r\n",
        b"a STATUS INBOX (HIGHESTMODSEQ)\r\n",
    ] {
        let mut session = selected(&store);
        let text = exchange(&mut session, enabling);
        assert!(text.starts_with("* OK [HIGHESTMODSEQ "), "{enabling:?}: {text}");
    }
    let mut session = logged_in(&store);
    let text = exchange(&mut session, b"d EXAMINE INBOX (CONDSTORE)\r\n");
    assert!(
        text.ends_with("* OK [HIGHESTMODSEQ 3] Highest\r\n* OK [MAILBOXID (M1)] Ok\r\nd OK [READ-ONLY] EXAMINE completed\r\n"),
        "{text}"
    );
    assert_eq!(
        exchange(&mut session, b"e SELECT INBOX (FROB)\r\n"),
        "e BAD invalid arguments\r\n"
    );
}

/// RFC 7162 §3.2: ENABLE QRESYNC, VANISHED instead of EXPUNGE, UID FETCH VANISHED, SELECT
/// with QRESYNC, and CLOSED.
#[test]
fn qresync() {
    let store = inbox(5);
    let uidvalidity = uidvalidity(&store);
    let mut session = logged_in(&store);
    assert_eq!(
        exchange(&mut session, b"a SELECT INBOX (QRESYNC (1 1))\r\n"),
        "a BAD QRESYNC is not enabled\r\n"
    );
    assert_eq!(
        exchange(&mut session, b"b ENABLE QRESYNC\r\nc ENABLE CONDSTORE\r\n"),
        "* ENABLED QRESYNC\r\nb OK ENABLE completed\r\n* ENABLED\r\nc OK ENABLE completed\r\n"
    );
    let text = exchange(&mut session, b"d SELECT INBOX\r\n");
    assert!(text.contains("* OK [HIGHESTMODSEQ 6] Highest\r\n"), "{text}");
    // Another session expunges UIDs 2 and 4 (modseqs 9 and 10), then sets \Seen on 5 (11).
    let mut other = selected(&store);
    exchange(
        &mut other,
        b"e STORE 2,4 +FLAGS.SILENT (\\Deleted)\r\nf EXPUNGE\r\ng UID STORE 5 +FLAGS.SILENT (\\Seen)\r\n",
    );
    // Not during FETCH by sequence number (RFC 9051 §7.5.1).
    assert_eq!(
        exchange(&mut session, b"h FETCH 1 (UID)\r\n"),
        "* 1 FETCH (UID 1)\r\n* 2 FETCH (FLAGS (\\Deleted) UID 2 MODSEQ (7))\r\n\
         * 4 FETCH (FLAGS (\\Deleted) UID 4 MODSEQ (8))\r\nh OK FETCH completed\r\n"
    );
    assert_eq!(
        exchange(&mut session, b"i NOOP\r\n"),
        "* VANISHED 2,4\r\n* 3 FETCH (FLAGS (\\Seen) UID 5 MODSEQ (11))\r\ni OK NOOP completed\r\n"
    );
    assert_eq!(
        exchange(
            &mut session,
            b"j UID FETCH 1:* (FLAGS) (CHANGEDSINCE 6 VANISHED)\r\n"
        ),
        "* VANISHED (EARLIER) 2,4\r\n* 3 FETCH (UID 5 FLAGS (\\Seen) MODSEQ (11))\r\nj OK UID FETCH completed\r\n"
    );
    assert_eq!(
        exchange(
            &mut session,
            b"k UID FETCH 3:4 (FLAGS) (CHANGEDSINCE 9 VANISHED)\r\n"
        ),
        "* VANISHED (EARLIER) 4\r\nk OK UID FETCH completed\r\n"
    );
    // This session's own expunge is reported as VANISHED too.
    assert_eq!(
        exchange(
            &mut session,
            b"l UID STORE 1 +FLAGS.SILENT (\\Deleted)\r\nm UID EXPUNGE 1\r\n"
        ),
        "* 1 FETCH (UID 1 MODSEQ (12))\r\nl OK UID STORE completed\r\n* VANISHED 1\r\nm OK UID EXPUNGE completed\r\n"
    );
    // A client that last saw modseq 6 and knows UIDs 1:5 resynchronizes in SELECT.
    let select = format!("n SELECT INBOX (QRESYNC ({uidvalidity} 6 1:5 (1:5 1:5)))\r\n");
    let text = exchange(&mut session, select.as_bytes());
    assert!(
        text.starts_with("* OK [CLOSED] Previous mailbox closed\r\n* FLAGS "),
        "{text}"
    );
    assert!(
        text.ends_with(
            "* OK [HIGHESTMODSEQ 13] Highest\r\n* OK [MAILBOXID (M1)] Ok\r\n* VANISHED (EARLIER) 1:2,4\r\n\
             * 2 FETCH (UID 5 FLAGS (\\Seen) MODSEQ (11))\r\nn OK [READ-WRITE] SELECT completed\r\n"
        ),
        "{text}"
    );
    let select = format!("o EXAMINE INBOX (QRESYNC ({uidvalidity} 9 3:4))\r\n");
    let text = exchange(&mut session, select.as_bytes());
    assert!(
        text.ends_with(
            "* OK [HIGHESTMODSEQ 13] Highest\r\n* OK [MAILBOXID (M1)] Ok\r\n* VANISHED (EARLIER) 4\r\no OK [READ-ONLY] EXAMINE completed\r\n"
        ),
        "{text}"
    );
    // A different UIDVALIDITY: the client's cache is useless, so nothing extra is sent.
    let select = format!("p SELECT INBOX (QRESYNC ({} 1))\r\n", uidvalidity + 1);
    let text = exchange(&mut session, select.as_bytes());
    assert!(
        text.ends_with("* OK [HIGHESTMODSEQ 13] Highest\r\n* OK [MAILBOXID (M1)] Ok\r\np OK [READ-WRITE] SELECT completed\r\n"),
        "{text}"
    );
    assert!(
        exchange(&mut session, b"q SELECT INBOX (QRESYNC (1))\r\n").starts_with("q BAD "),
        "missing modseq"
    );
}

#[test]
fn search_criteria() {
    let store = store();
    let messages: [(&str, i64); 4] = [
        (
            "Date: Mon, 13 Nov 2023 10:00:00 +0000\r\nSubject: Hello\r\nFrom: Bob <bob@example.test>\r\n\
             To: alice@example.test\r\nCc: carol@example.test\r\nX-Tag: red\r\n\r\nfirst body\r\n",
            1_699_900_000, // 13-Nov-2023
        ),
        (
            "Date: 14 Nov 23 23:30 -0800\r\nSubject: other\r\n topic folded\r\nBcc: dave@example.test\r\n\r\nsecond\r\n",
            1_700_000_000, // 14-Nov-2023
        ),
        (
            "Subject: =?utf-8?q?caf=C3=A9?= Gr\u{fc}\u{df}e \u{c9}T\u{c9}\r\n\r\nthird body, a longer one\r\n",
            1_700_100_000, // 16-Nov-2023, no Date: header
        ),
        ("Date: garbage\r\nSubject: x\r\n\r\n", 1_700_200_000), // 17-Nov-2023
    ];
    for (raw, date) in messages {
        store
            .append("alice", "INBOX", raw.as_bytes().to_vec(), Flags::new(), date)
            .expect("INBOX exists");
    }
    let mut session = selected(&store);
    exchange(
        &mut session,
        b"a STORE 1 +FLAGS.SILENT (\\Answered \\Seen $Work)\r\nb STORE 2 +FLAGS.SILENT (\\Deleted \\Draft \\Flagged)\r\n",
    );
    let cases: &[(&str, &str)] = &[
        ("ALL", "1 2 3 4"),
        ("2,4:*", "2 4"),
        ("UID 1:2,4", "1 2 4"),
        ("ANSWERED", "1"),
        ("UNANSWERED", "2 3 4"),
        ("DELETED DRAFT FLAGGED", "2"),
        ("UNDELETED UNDRAFT UNFLAGGED UNSEEN", "3 4"),
        ("SEEN", "1"),
        ("KEYWORD $work", "1"),
        ("UNKEYWORD $Work", "2 3 4"),
        ("KEYWORD Never", ""),
        ("HEADER X-Tag RED", "1"),
        ("HEADER X-Tag \"\"", "1"),
        ("HEADER Subject \"TOPIC FOLDED\"", "2"),
        ("SUBJECT hello", "1"),
        ("FROM BOB@EXAMPLE", "1"),
        ("TO alice", "1"),
        ("CC carol", "1"),
        ("BCC dave", "2"),
        ("BODY body", "1 3"),
        ("BODY Subject", ""),
        ("TEXT subject", "1 2 3 4"),
        ("TEXT \"LONGER ONE\"", "3"),
        ("SUBJECT \"GR\u{dc}SSE\"", ""),
        ("SUBJECT \"\u{e9}t\u{e9}\"", "3"),
        ("BEFORE 14-Nov-2023", "1"),
        ("ON 14-Nov-2023", "2"),
        ("SINCE \"16-Nov-2023\"", "3 4"),
        ("SENTBEFORE 14-Nov-2023", "1"),
        ("SENTON 14-Nov-2023", "2"),
        ("SENTSINCE 16-Nov-2023", "3 4"),
        ("SENTON 13-Nov-2023", "1"),
        ("LARGER 94", "1"),
        ("SMALLER 74", "4"),
        ("NOT SEEN", "2 3 4"),
        ("OR ANSWERED DELETED", "1 2"),
        ("OR (SEEN ANSWERED) (DRAFT NOT 1)", "1 2"),
        ("(NOT (OR 2 3)) UNSEEN", "4"),
        ("CHARSET UTF-8 BODY body", "1 3"),
        ("CHARSET us-ascii ALL", "1 2 3 4"),
    ];
    for (criteria, expected) in cases {
        for (command, tag) in [("SEARCH", "s"), ("UID SEARCH", "u")] {
            let text = exchange(&mut session, format!("{tag} {command} {criteria}\r\n").as_bytes());
            let mut line = "* SEARCH".to_owned();
            if !expected.is_empty() {
                line.push(' ');
                line.push_str(expected);
            }
            // UIDs equal sequence numbers here.
            assert_eq!(
                text,
                format!("{line}\r\n{tag} OK {command} completed\r\n"),
                "{criteria}"
            );
        }
    }
    let errors = exchange(
        &mut session,
        b"a SEARCH CHARSET X-UNKNOWN ALL\r\nb SEARCH\r\nc SEARCH OR SEEN\r\nd SEARCH (SEEN\r\ne SEARCH LARGER x\r\n\
          f SEARCH BEFORE 32-Foo-2023\r\ng SEARCH FROB\r\nh SEARCH HEADER Subject\r\ni SEARCH ()\r\nj NOOP\r\n",
    );
    assert_eq!(
        errors,
        "a NO [BADCHARSET (UTF-8 US-ASCII)] unsupported charset\r\nb BAD invalid arguments\r\n\
         c BAD invalid arguments\r\nd BAD expected \")\"\r\ne BAD invalid arguments\r\nf BAD invalid arguments\r\n\
         g BAD invalid sequence set\r\nh BAD invalid arguments\r\ni BAD invalid arguments\r\nj OK NOOP completed\r\n"
    );
}

/// A change from another session that is still queued must not be sent after a STORE or
/// FETCH response that already showed a later state: the client would roll back to it.
/// And a .SILENT STORE answers with the flags when the client cannot know them.
#[test]
fn older_queued_changes_do_not_roll_back_newer_responses() {
    let store = inbox(2);
    let mut one = selected(&store);
    let mut two = selected(&store);
    // Modseqs: UID 1 is at 2, UID 2 at 3; two's change makes them 4 and 5.
    exchange(&mut two, b"a STORE 1:2 +FLAGS.SILENT (\\Seen)\r\n");
    // one's response already shows UID 1 at modseq 6: the queued change at 4 is dropped.
    assert_eq!(
        exchange(&mut one, b"b STORE 1 +FLAGS (\\Deleted)\r\n"),
        "* 1 FETCH (FLAGS (\\Seen \\Deleted))\r\n* 2 FETCH (FLAGS (\\Seen) UID 2)\r\nb OK STORE completed\r\n"
    );
    assert_eq!(
        exchange(&mut one, b"c FETCH 2 FLAGS\r\nd NOOP\r\n"),
        "* 2 FETCH (FLAGS (\\Seen))\r\nc OK FETCH completed\r\nd OK NOOP completed\r\n"
    );
    // UID 1 at 7 and UID 2 at 8, unheard of by one when its .SILENT STORE makes UID 1 9.
    exchange(&mut two, b"e STORE 1:2 -FLAGS.SILENT (\\Seen)\r\n");
    assert_eq!(
        exchange(&mut one, b"f STORE 1 +FLAGS.SILENT (\\Flagged)\r\n"),
        "* 1 FETCH (FLAGS (\\Flagged \\Deleted))\r\n* 2 FETCH (FLAGS () UID 2)\r\nf OK STORE completed\r\n"
    );
    let mut three = logged_in(&store);
    exchange(&mut three, b"g SELECT INBOX (CONDSTORE)\r\n");
    exchange(&mut two, b"h STORE 2 +FLAGS.SILENT (\\Answered)\r\n");
    assert_eq!(
        exchange(&mut three, b"i STORE 1:2 +FLAGS.SILENT (\\Draft)\r\n"),
        "* 1 FETCH (UID 1 MODSEQ (11))\r\n* 2 FETCH (FLAGS (\\Answered \\Draft) UID 2 MODSEQ (12))\r\n\
         i OK STORE completed\r\n"
    );
}

/// A client's view under CONDSTORE, kept only from untagged responses (and, for .SILENT
/// STOREs, from the flags it asked for).
#[derive(Debug, Default)]
struct View {
    /// By sequence number.
    messages: Vec<Known>,
}

#[derive(Debug, Clone, Default)]
struct Known {
    uid: Option<u32>,
    flags: Option<BTreeSet<String>>,
    modseq: Option<u64>,
}

/// `+FLAGS`/`-FLAGS` and the flags of a .SILENT STORE whose answer may omit them.
type SilentOp<'a> = Option<(bool, &'a [&'a str])>;

fn uid_set(text: &str) -> Vec<u32> {
    let mut uids = Vec::new();
    for part in text.split(',') {
        let (a, b) = part.split_once(':').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.parse().expect("uid"), b.parse().expect("uid"));
        uids.extend(a.min(b)..=a.max(b));
    }
    uids
}

impl View {
    fn apply(&mut self, text: &str, silent: SilentOp<'_>) {
        for line in text.split("\r\n") {
            if let Some(set) = line.strip_prefix("* VANISHED ") {
                if set.starts_with("(EARLIER)") {
                    continue;
                }
                for uid in uid_set(set) {
                    let at = self.messages.iter().position(|m| m.uid == Some(uid));
                    let at = at.unwrap_or_else(|| panic!("VANISHED of unknown UID {uid}: {text}"));
                    self.messages.remove(at);
                }
                continue;
            }
            let mut words = line.splitn(3, ' ');
            let (Some("*"), Some(n), Some(rest)) = (words.next(), words.next(), words.next()) else {
                continue;
            };
            let Ok(n) = n.parse::<usize>() else { continue };
            if rest == "EXISTS" {
                assert!(n >= self.messages.len(), "EXISTS shrank the mailbox: {text}");
                self.messages.resize(n, Known::default());
            } else if rest == "EXPUNGE" {
                assert!((1..=self.messages.len()).contains(&n), "bad EXPUNGE {n}: {text}");
                self.messages.remove(n - 1);
            } else if let Some(items) = rest.strip_prefix("FETCH (") {
                assert!((1..=self.messages.len()).contains(&n), "bad FETCH {n}: {text}");
                let entry = &mut self.messages[n - 1];
                let number = |key: &str| {
                    items.find(key).map(|at| {
                        let digits: String = items[at + key.len()..]
                            .chars()
                            .take_while(char::is_ascii_digit)
                            .collect();
                        digits.parse::<u64>().expect("a number")
                    })
                };
                if let Some(uid) = number("UID ") {
                    let uid = u32::try_from(uid).expect("a UID");
                    assert!(entry.uid.is_none_or(|known| known == uid), "UID changed: {text}");
                    entry.uid = Some(uid);
                }
                if let Some(modseq) = number("MODSEQ (") {
                    assert!(
                        entry.modseq.is_none_or(|known| known <= modseq),
                        "MODSEQ went down: {text}"
                    );
                    entry.modseq = Some(modseq);
                }
                if let Some(at) = items.find("FLAGS (") {
                    let list = items[at + 7..].split(')').next().unwrap_or_default();
                    entry.flags = Some(list.split_whitespace().map(str::to_owned).collect());
                } else if let (Some((add, flags)), Some(known)) = (silent, entry.flags.as_mut()) {
                    for flag in flags {
                        if add {
                            known.insert((*flag).to_owned());
                        } else {
                            known.remove(*flag);
                        }
                    }
                }
            }
        }
    }

    /// The first message the client knows too little about, from 1.
    fn first_unknown(&self) -> Option<usize> {
        let unknown = |m: &Known| m.uid.is_none() || m.flags.is_none() || m.modseq.is_none();
        self.messages.iter().position(unknown).map(|i| i + 1)
    }
}

#[derive(Debug, Clone)]
enum Act {
    Deliver,
    /// Session, message, add or remove, flags, .SILENT, UNCHANGEDSINCE (0: the modseq the
    /// client knows; else this value).
    Store(usize, usize, bool, &'static [&'static str], bool, Option<u64>),
    Expunge(usize),
    Fetch(usize),
    Noop(usize),
}

fn act() -> impl Strategy<Value = Act> {
    let flags = prop_oneof![
        Just(&["\\Deleted"][..]),
        Just(&["\\Seen"][..]),
        Just(&["\\Seen", "\\Deleted"][..]),
        Just(&["$Work"][..]),
    ];
    let unchanged = prop_oneof![Just(None), Just(Some(0u64)), (1..12u64).prop_map(Some)];
    prop_oneof![
        Just(Act::Deliver),
        (
            0..3usize,
            0..8usize,
            any::<bool>(),
            flags,
            any::<bool>(),
            unchanged
        )
            .prop_map(|(s, m, add, f, silent, since)| Act::Store(s, m, add, f, silent, since)),
        (0..3usize).prop_map(Act::Expunge),
        (0..3usize).prop_map(Act::Fetch),
        (0..3usize).prop_map(Act::Noop),
    ]
}

/// Fetches what the client does not know yet (as a client does after `EXISTS`).
fn catch_up(session: &mut Session, view: &mut View) {
    if let Some(first) = view.first_unknown() {
        let text = exchange(
            session,
            format!("c FETCH {first}:* (UID FLAGS MODSEQ)\r\n").as_bytes(),
        );
        assert!(
            !text.contains("EXPUNGE") && !text.contains("* VANISHED"),
            "{text}"
        );
        view.apply(&text, None);
    }
}

proptest! {
    /// Three CONDSTORE sessions (one with QRESYNC) and deliveries, interleaved at random:
    /// once each has heard its pending updates, every client agrees with the store on
    /// UID → (flags, modseq) without fetching them again, and no modseq ever goes down.
    #[test]
    fn condstore_sessions_agree_on_flags_and_modseqs(acts in proptest::collection::vec(act(), 1..40)) {
        let store = inbox(2);
        let mut sessions = [logged_in(&store), logged_in(&store), logged_in(&store)];
        exchange(&mut sessions[0], b"e ENABLE CONDSTORE\r\n");
        exchange(&mut sessions[2], b"e ENABLE QRESYNC\r\n");
        let mut views = [View::default(), View::default(), View::default()];
        for (s, select) in [&b"s SELECT INBOX\r\n"[..], b"s SELECT INBOX (CONDSTORE)\r\n", b"s SELECT INBOX\r\n"]
            .into_iter()
            .enumerate()
        {
            views[s].apply(&exchange(&mut sessions[s], select), None);
            catch_up(&mut sessions[s], &mut views[s]);
        }
        for act in acts {
            let s = match act {
                Act::Deliver => {
                    store.deliver("alice", b"Subject: x\r\n\r\n".to_vec(), 0).expect("INBOX exists");
                    continue;
                }
                Act::Store(s, m, add, flags, silent, since) => {
                    let count = views[s].messages.len();
                    if count == 0 {
                        continue;
                    }
                    let n = m % count + 1;
                    let modifier = match since {
                        None => String::new(),
                        Some(0) => format!(" (UNCHANGEDSINCE {})", views[s].messages[n - 1].modseq.unwrap_or(0)),
                        Some(value) => format!(" (UNCHANGEDSINCE {value})"),
                    };
                    let sign = if add { '+' } else { '-' };
                    let suffix = if silent { ".SILENT" } else { "" };
                    let line = format!("t STORE {n}{modifier} {sign}FLAGS{suffix} ({})\r\n", flags.join(" "));
                    let text = exchange(&mut sessions[s], line.as_bytes());
                    prop_assert!(!text.contains("EXPUNGE") && !text.contains("* VANISHED"), "{}", text);
                    views[s].apply(&text, silent.then_some((add, flags)));
                    s
                }
                Act::Expunge(s) => {
                    let text = exchange(&mut sessions[s], b"t EXPUNGE\r\n");
                    // QRESYNC reports VANISHED, the others EXPUNGE (RFC 7162 §3.2.10).
                    prop_assert!(s == 2 || !text.contains("VANISHED"), "{}", text);
                    prop_assert!(s != 2 || !text.contains(" EXPUNGE\r\n"), "{}", text);
                    views[s].apply(&text, None);
                    s
                }
                Act::Fetch(s) => {
                    let text = exchange(&mut sessions[s], b"t FETCH 1:* (FLAGS)\r\n");
                    prop_assert!(!text.contains("EXPUNGE") && !text.contains("* VANISHED"), "{}", text);
                    views[s].apply(&text, None);
                    s
                }
                Act::Noop(s) => {
                    views[s].apply(&exchange(&mut sessions[s], b"t NOOP\r\n"), None);
                    s
                }
            };
            catch_up(&mut sessions[s], &mut views[s]);
        }
        let snapshot = store.messages("alice", "INBOX").expect("INBOX exists");
        for (session, view) in sessions.iter_mut().zip(&mut views) {
            view.apply(&exchange(session, b"t NOOP\r\n"), None);
            catch_up(session, view);
            prop_assert_eq!(view.messages.len(), snapshot.messages.len());
            for (known, message) in view.messages.iter().zip(&snapshot.messages) {
                let flags: BTreeSet<String> = message.flags.iter().map(|f| f.as_str().to_owned()).collect();
                prop_assert_eq!(known.uid, Some(message.uid));
                // `\Recent` is per session (IMAP4rev1), not stored.
                let known_flags = known
                    .flags
                    .as_ref()
                    .map(|f| f.iter().filter(|x| *x != "\\Recent").cloned().collect::<BTreeSet<String>>());
                prop_assert_eq!(known_flags.as_ref(), Some(&flags), "UID {}", message.uid);
                prop_assert_eq!(known.modseq, Some(message.modseq), "UID {}", message.uid);
            }
        }
    }
}

/// RFC 7162 §3.1 with RFC 9051 §7.5.1: a plain `FETCH (FLAGS)` under CONDSTORE shows the
/// current flags; an older change still queued (held with a newer one behind an EXPUNGE that
/// cannot be sent during FETCH) must not follow it and roll the flags back, and the newer
/// change, which carries the current MODSEQ, still arrives once the EXPUNGE can be sent.
#[test]
fn a_plain_fetch_under_condstore_is_not_followed_by_an_older_change() {
    let store = inbox(1);
    let mut b = logged_in(&store);
    exchange(
        &mut b,
        b"e ENABLE CONDSTORE\r\ns SELECT INBOX\r\nf FETCH 1:* (UID FLAGS MODSEQ)\r\n",
    );
    let mut a = selected(&store);
    exchange(&mut a, b"a STORE 1 FLAGS ($Work)\r\n");
    let raw = b"Subject: doomed\r\n\r\nx\r\n".to_vec();
    let uid = store.deliver("alice", raw, 0).expect("INBOX exists").uid;
    exchange(&mut a, b"y NOOP\r\n");
    exchange(
        &mut a,
        format!("u UID STORE {uid} +FLAGS (\\Deleted)\r\nx EXPUNGE\r\n").as_bytes(),
    );
    exchange(&mut a, b"s STORE 1 +FLAGS (\\Seen)\r\n");
    let fetched = exchange(&mut b, b"g FETCH 1:* (FLAGS)\r\n");
    assert!(
        fetched.contains("* 1 FETCH (FLAGS (\\Seen $Work))\r\n"),
        "{fetched}"
    );
    assert!(
        !fetched.contains("FLAGS ($Work) UID 1"),
        "an older change after the current flags: {fetched}"
    );
    let told = fetched + &exchange(&mut b, b"n NOOP\r\n");
    assert!(told.contains("EXPUNGE\r\n"), "{told}");
    assert!(
        told.contains("* 1 FETCH (FLAGS (\\Seen $Work) UID 1 MODSEQ ("),
        "the newer change, with the current MODSEQ: {told}"
    );
}
