//! A store finding made reproducible by its scenario file: the canonical may leave a message's
//! lines open (`${_}` holes, for a client that adds a `Date:`), so a replay of the case accepts
//! whatever message the client sends there, and only the store judge ([`crate::Delivered`])
//! sees that it changed. [`pin_message`] writes the message the client sent under the
//! canonical into those lines, exactly (`C=:`, every byte as sent, escaped by the printer
//! where the format needs it), so a replay of the file fails at the first line that differs.

use mailrig_transcript::Transcript;
use mailrig_transcript::scenario::{Family, Item, Line, Part, Scenario, Side, StepKind};

use crate::case::Case;
use crate::delivered::{Delivered, imap, smtp_messages};

/// `scenario` (a case's) with the client lines of message `message` (an index into
/// [`Delivered::messages`] of `canonical_run`) pinned to what the client sent in
/// `canonical_run`. `None` when that message cannot be pinned: an IMAP APPEND or a BDAT
/// message (their octets are written as they are, not with holes), or a scenario whose DATA
/// block does not have as many lines as the client sent.
pub fn pin_message(scenario: &Scenario, canonical_run: &Transcript, message: usize) -> Option<Scenario> {
    let found = locate(canonical_run, message)?;
    let declared = scenario.sessions().get(found.session)?;
    if declared.name != canonical_run.sessions.get(found.session)?.name {
        return None;
    }
    let lines = data_lines(scenario, found.session, found.index)?;
    if lines.len() != found.lines.len() {
        return None;
    }
    let mut pinned = scenario.clone();
    for (item, bytes) in lines.into_iter().zip(found.lines) {
        if let Some(Item::Step(step)) = pinned.body.get_mut(item)
            && let StepKind::Line(line) = &mut step.kind
        {
            pin(line, bytes);
        }
    }
    Some(pinned)
}

/// `case`'s scenario file with message `message` pinned ([`pin_message`]) and a header
/// comment saying so, or `None` when that message cannot be pinned. What `mailrig fuzz`
/// writes for a store finding, and what the in-process harness prints for one.
pub fn pinned_case_text(case: &Case, canonical_run: &Transcript, message: usize) -> Option<String> {
    let mut scenario = pin_message(&case.scenario(), canonical_run, message)?;
    let comments = &mut scenario.header.comments;
    comments.push(format!(
        " Message {}'s lines are pinned (`C=:`) to what the client sent under the canonical,",
        message + 1
    ));
    comments.push(" so a replay fails where this case's message differs.".to_owned());
    Some(mailrig_transcript::print(&scenario))
}

fn pin(line: &mut Line, bytes: Vec<u8>) {
    line.parts = if bytes.is_empty() {
        Vec::new()
    } else {
        vec![Part::Text(bytes)]
    };
    line.exact_case = true;
}

/// Where a DATA message of a run is, and its lines as sent.
struct Located {
    /// Its session.
    session: usize,
    /// Its index among the session's messages (DATA and BDAT).
    index: usize,
    /// Its lines as sent (dot-stuffed, without CRLF).
    lines: Vec<Vec<u8>>,
}

/// Message `message` of `run`, when it is a DATA message.
fn locate(run: &Transcript, mut message: usize) -> Option<Located> {
    for (session, record) in run.sessions.iter().enumerate() {
        let bytes = record.bytes_from(Side::Client);
        match record.protocol.family() {
            Family::Smtp => {
                let mut messages = smtp_messages(&bytes);
                if message < messages.len() {
                    let lines = messages.swap_remove(message).data_lines?;
                    return Some(Located {
                        session,
                        index: message,
                        lines,
                    });
                }
                message -= messages.len();
            }
            Family::Imap => {
                let mut appended = Delivered::default();
                imap(&bytes, &mut appended);
                if message < appended.messages.len() {
                    return None;
                }
                message -= appended.messages.len();
            }
        }
    }
    None
}

/// The body indices of the client lines of the `nth` message (DATA or BDAT, counted as
/// [`smtp_messages`] does) of `session`, between `DATA` and the lone dot; `None` for BDAT.
fn data_lines(scenario: &Scenario, session: usize, nth: usize) -> Option<Vec<usize>> {
    let mut count = 0;
    let mut data: Option<Vec<usize>> = None;
    for (i, item) in scenario.body.iter().enumerate() {
        let Item::Step(step) = item else { continue };
        let StepKind::Line(line) = &step.kind else {
            continue;
        };
        if step.session != session || line.side != Side::Client {
            continue;
        }
        let text = text(line);
        match &mut data {
            Some(lines) if text.as_deref() == Some(b".") => {
                if count == nth {
                    return Some(std::mem::take(lines));
                }
                count += 1;
                data = None;
            }
            Some(lines) => lines.push(i),
            None => {
                let upper = text.unwrap_or_default().to_ascii_uppercase();
                if upper == b"DATA" {
                    data = Some(Vec::new());
                } else if upper.starts_with(b"BDAT ") && upper.split(|b| *b == b' ').any(|w| w == b"LAST") {
                    if count == nth {
                        return None;
                    }
                    count += 1;
                }
            }
        }
    }
    None
}

/// The line's bytes when it is text only.
fn text(line: &Line) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for part in &line.parts {
        match part {
            Part::Text(bytes) => out.extend_from_slice(bytes),
            Part::Split => {}
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use mailrig_transcript::scenario::Protocol;
    use mailrig_transcript::transcript::{Event, EventKind, SessionRecord};

    use super::*;

    const CANONICAL: &str = "name: x\nsessions: s=smtp\nplays: server\n\nS: 220 hi\nC: DATA\nS: 354 go\nC: Subject: ${_}\nC:\nC: ${_}\nC: ${_}\nC: .\nS: 250 ok\n";

    fn run(client: &str) -> Transcript {
        Transcript {
            sessions: vec![SessionRecord {
                name: "s".to_owned(),
                protocol: Protocol::Smtp,
                events: vec![Event {
                    at: Default::default(),
                    kind: EventKind::Data {
                        from: Side::Client,
                        bytes: client.as_bytes().to_vec(),
                    },
                }],
            }],
        }
    }

    #[test]
    fn the_message_lines_are_pinned_exactly_and_survive_printing() {
        let scenario = mailrig_transcript::parse("x", CANONICAL).expect("valid");
        let sent = "DATA\r\nSubject: ${odd} $$\r\n\r\n..dot\tand a tab \r\nlast line\r\n.\r\n";
        let pinned = pin_message(&scenario, &run(sent), 0).expect("pinned");
        let printed = mailrig_transcript::print(&pinned);
        assert!(printed.contains("\nC=: last line\n"), "{printed}");
        let back = mailrig_transcript::parse("x", &printed).expect("the pinned file parses");
        assert_eq!(back, pinned, "{printed}");
        let lines: Vec<Vec<u8>> = back
            .steps()
            .filter_map(|s| match &s.kind {
                StepKind::Line(l) if l.side == Side::Client => text(l),
                _ => None,
            })
            .collect();
        assert_eq!(
            lines,
            [
                &b"DATA"[..],
                b"Subject: ${odd} $$",
                b"",
                b"..dot\tand a tab ",
                b"last line",
                b"."
            ]
        );
    }

    #[test]
    fn a_message_the_scenario_cannot_hold_is_not_pinned() {
        let scenario = mailrig_transcript::parse("x", CANONICAL).expect("valid");
        let longer = "DATA\r\nSubject: a\r\n\r\none\r\ntwo\r\nthree\r\n.\r\n";
        assert!(pin_message(&scenario, &run(longer), 0).is_none());
        assert!(pin_message(&scenario, &run(longer), 1).is_none());
    }
}
