//! THREAD and UID THREAD (RFC 5256 §3): ORDEREDSUBJECT's groups and REFERENCES's steps
//! (links from References and In-Reply-To, a dummy parent kept at the root, threads gathered
//! by base subject, siblings sorted by sent date), and the switches.

use super::sort::selected_with;
use super::*;
use crate::defect::{Defect, Defects};

fn dated(day: u32, header: &str) -> String {
    format!("Date: {day} Jun 2024 10:00:00 +0000\n{header}\n\nbody\n")
}

/// ORDEREDSUBJECT: groups by base subject; in each the earliest is the parent of the rest
/// (sorted by date), groups ordered by their first message's date.
#[test]
fn ordered_subject() {
    let messages = [
        dated(3, "Subject: beta"),
        dated(2, "Subject: alpha"),
        dated(4, "Subject: Re: alpha"),
        dated(1, "Subject: Re: alpha"),
        dated(5, "Subject: beta"),
    ];
    let messages: Vec<(&str, i64)> = messages.iter().map(|m| (m.as_str(), 0)).collect();
    let mut session = selected_with(&messages, Extensions::default());
    let text = exchange(
        &mut session,
        b"a THREAD ORDEREDSUBJECT UTF-8 ALL\r\nb UID THREAD ORDEREDSUBJECT UTF-8 ALL\r\n\
          c THREAD ORDEREDSUBJECT UTF-8 DELETED\r\n",
    );
    assert_eq!(
        text,
        "* THREAD (4 (2)(3))(1 5)\r\na OK THREAD completed\r\n\
         * THREAD (5 (3)(4))(2 6)\r\nb OK UID THREAD completed\r\n\
         * THREAD\r\nc OK THREAD completed\r\n"
    );
}

/// The messages of the REFERENCES test: a thread rooted at 1 (2 by In-Reply-To, 3 under 2,
/// 4 under 1), two replies (5, 6) to a message not in the mailbox, 7 a reply by subject only,
/// 8 without a Message-ID.
fn referencing() -> Vec<String> {
    vec![
        dated(1, "Message-ID: <a@x>\nSubject: topic"),
        dated(2, "Message-ID: <b@x>\nIn-Reply-To: <a@x>\nSubject: Re: topic"),
        dated(
            4,
            "Message-ID: <c@x>\nReferences: <a@x> <b@x>\nSubject: Re: topic",
        ),
        dated(3, "Message-ID: <d@x>\nReferences: <a@x>\nSubject: Re: topic"),
        dated(5, "Message-ID: <e@x>\nReferences: <missing@x>\nSubject: other"),
        dated(
            6,
            "Message-ID: <f@x>\nReferences: <missing@x>\nSubject: Re: other",
        ),
        dated(7, "Message-ID: <g@x>\nSubject: Re: topic"),
        "Date: Fri, 31 May 2024 10:00:00 +0000\nSubject: lonely\n\nbody\n".to_string(),
    ]
}

/// REFERENCES (RFC 5256 §3 steps 1 to 6): 8 comes first (oldest), 7 joins 1's thread by
/// subject (step 5.D: a reply under the thread's non-reply), 5 and 6 stay under a dummy.
#[test]
fn references() {
    let messages = referencing();
    let messages: Vec<(&str, i64)> = messages.iter().map(|m| (m.as_str(), 0)).collect();
    let mut session = selected_with(&messages, Extensions::default());
    let text = exchange(
        &mut session,
        b"a THREAD REFERENCES UTF-8 ALL\r\nb UID THREAD REFERENCES US-ASCII ALL\r\n\
          c THREAD REFERENCES UTF-8 NOT SUBJECT other\r\n",
    );
    assert_eq!(
        text,
        "* THREAD (8)(1 (2 3)(4)(7))((5)(6))\r\na OK THREAD completed\r\n\
         * THREAD (9)(2 (3 4)(5)(8))((6)(7))\r\nb OK UID THREAD completed\r\n\
         * THREAD (8)(1 (2 3)(4)(7))\r\nc OK THREAD completed\r\n"
    );
}

/// Step 1's edge cases: a reference loop is not followed, a repeated Message-ID counts once
/// (the second message is a thread of its own), and step 5 merges two dummies' children.
#[test]
fn references_edge_cases() {
    let messages = [
        dated(1, "Message-ID: <a@x>\nReferences: <b@x>\nSubject: one"),
        dated(2, "Message-ID: <b@x>\nReferences: <a@x>\nSubject: two"),
        dated(3, "Message-ID: <a@x>\nSubject: three"),
        dated(4, "References: <p@x>\nSubject: same"),
        dated(5, "References: <p@x>\nSubject: same"),
        dated(6, "References: <q@x>\nSubject: Re: same"),
        dated(7, "References: <q@x>\nSubject: same"),
    ];
    let messages: Vec<(&str, i64)> = messages.iter().map(|m| (m.as_str(), 0)).collect();
    let mut session = selected_with(&messages, Extensions::default());
    let text = exchange(&mut session, b"a THREAD REFERENCES UTF-8 ALL\r\n");
    // 1 references 2 (a dummy until 2 arrives); 2's reference to 1 would close a loop, so
    // 2 stays 1's parent.
    assert_eq!(
        text,
        "* THREAD (2 1)(3)((4)(5)(6)(7))\r\na OK THREAD completed\r\n"
    );
}

/// An unknown or switched-off algorithm is `BAD`, a bad charset `NO [BADCHARSET]`, and with
/// both algorithms off THREAD is an unknown command.
#[test]
fn bad_threads_and_switches() {
    let messages = [(dated(1, "Subject: a").as_str().to_owned(), 0)];
    let messages: Vec<(&str, i64)> = messages.iter().map(|(m, d)| (m.as_str(), *d)).collect();
    let mut session = selected_with(&messages, Extensions::default());
    let text = exchange(
        &mut session,
        b"a THREAD JWZ UTF-8 ALL\r\nb THREAD REFERENCES KOI8-R ALL\r\nc THREAD REFERENCES UTF-8\r\n",
    );
    assert_eq!(
        text,
        "a BAD unsupported threading algorithm JWZ\r\n\
         b NO [BADCHARSET (UTF-8 US-ASCII)] unsupported charset\r\nc BAD invalid arguments\r\n"
    );
    let off = Extensions {
        thread_orderedsubject: false,
        thread_references: false,
        ..Extensions::default()
    };
    let mut session = selected_with(&messages, off);
    let text = exchange(
        &mut session,
        b"c CAPABILITY\r\nd UID THREAD REFERENCES UTF-8 ALL\r\n",
    );
    assert!(!text.contains("THREAD="), "{text}");
    assert!(text.ends_with("d BAD unknown command\r\n"), "{text}");
}

/// The planted defect leaves siblings in mailbox order, which the expectations above catch.
#[test]
fn unsorted_siblings_defect_is_visible() {
    let messages = referencing();
    let messages: Vec<(&str, i64)> = messages.iter().map(|m| (m.as_str(), 0)).collect();
    let mut session = selected_with(&messages, Extensions::default());
    session.config.defects = Defects::from(Defect::ThreadSiblingsUnsorted);
    let text = exchange(&mut session, b"a THREAD REFERENCES UTF-8 ALL\r\n");
    assert_eq!(
        text,
        "* THREAD (1 (2 3)(4)(7))((5)(6))(8)\r\na OK THREAD completed\r\n"
    );
}
