//! Server role: which protocol step each reply mailrig writes answers, so a driver can apply
//! fault rules keyed by step (`rcpt#2`, `data-end`, `imap FETCH untagged#2`) to a replay.
//!
//! The `S:` lines of a scenario do not say what they answer; the client's bytes the engine
//! has read before writing them do. SMTP (RFC 5321 §4.1, §4.3.2): replies answer the client's
//! commands in order (pipelined ones included, RFC 2920 §3); the reply after `354` answers
//! DATA's final dot, the reply after `334` a SASL response (RFC 4954 §4), and a BDAT command's
//! reply its chunk (RFC 3030 §2). IMAP (RFC 9051 §2.2.2, §7): a tagged completion answers the
//! command with its tag; untagged responses answer the command whose completion follows them
//! in the same write (else the last command); `+` answers the last command, or is the engine's
//! own answer to a synchronizing literal. The first server lines of a session, before any
//! command, are the greeting.

use std::collections::VecDeque;

use crate::framing::{Frame, next_line};
use crate::scenario::Family;

/// One reply the engine wrote, described (see [`crate::engine::Engine::poll_transmit_described`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The step it answers.
    pub step: Answered,
    /// What kind of reply it is.
    pub kind: AnswerKind,
    /// IMAP untagged data: the response's name as written, upper-case (`FETCH`, `EXISTS`,
    /// `CAPABILITY`); `None` for status responses (`* OK`, `* BYE`), `+`, tagged lines and
    /// every SMTP reply.
    pub data: Option<String>,
    /// Where the reply ends in the write's bytes (exclusive). It starts where the previous
    /// answer of the write ended, or, for the first, where the previous write's last answer
    /// ended: a reply cut by a `${|}` boundary spans writes, and is described by the write that
    /// completes it.
    pub end: usize,
}

/// The protocol step a reply answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Answered {
    /// The greeting.
    Greeting,
    /// A client command, by its verb as the client wrote it, upper-case (`RCPT`, `UID FETCH`).
    Command(String),
    /// SMTP: DATA's final dot.
    MessageEnd,
    /// SMTP: a BDAT chunk.
    Chunk,
    /// SMTP: a SASL response line during AUTH.
    SaslResponse,
    /// IMAP: a synchronizing literal's `+` (the engine's own answer to an announcement).
    Literal,
    /// Nothing the engine can name (a tag never sent, a reply with no command before it).
    Unknown,
}

/// What a reply is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnswerKind {
    /// IMAP `* ...` after the greeting: more follows for the same step.
    Untagged,
    /// A request for more: IMAP `+`, SMTP `354` and `334`.
    Continuation,
    /// The reply that ends its step: an SMTP reply, an IMAP tagged completion, the greeting.
    Final,
}

/// How the client's next bytes are read (SMTP).
#[derive(Debug, Clone, Copy, Default)]
enum Mode {
    #[default]
    Commands,
    /// After `354`: message lines until the lone dot.
    Data,
    /// After `334`: one SASL response line.
    Sasl,
}

/// Per session: what of the client's bytes and of the engine's own has been described.
#[derive(Debug, Clone, Default)]
pub(super) struct Tracker {
    /// How far the client's stream has been parsed.
    client_read: usize,
    /// How far the engine's own stream has been described.
    own_described: usize,
    mode: Mode,
    /// SMTP: the steps the client asked for that have no reply yet, oldest first.
    unanswered: VecDeque<Answered>,
    /// The last step the client asked for.
    last: Option<Answered>,
    /// IMAP: tags and their verbs, newest last.
    tags: Vec<(Vec<u8>, String)>,
    /// A reply has been described on this session.
    replied: bool,
}

impl Tracker {
    /// Describes the replies the write `own[write_start..]` completes, after reading the
    /// client's bytes `client[..cursor]` (what the engine has matched). `literal`: the write
    /// is the engine's own `+` for a synchronizing literal.
    pub(super) fn describe(
        &mut self,
        family: Family,
        client: &[u8],
        cursor: usize,
        own: &[u8],
        write_start: usize,
        literal: bool,
    ) -> Vec<Answer> {
        self.read_client(family, client, cursor);
        let mut replies = Vec::new();
        let mut at = self.own_described;
        while let Some(end) = reply_end(family, &own[at..]) {
            replies.push((at, at + end));
            at += end;
        }
        self.own_described = at;
        let mut answers = Vec::new();
        for (i, &(start, end)) in replies.iter().enumerate() {
            let line = &own[start..end];
            let (step, kind, data) = match family {
                Family::Smtp => self.smtp_reply(line),
                Family::Imap => self.imap_reply(line, &replies[i + 1..], own, literal),
            };
            self.replied = true;
            answers.push(Answer {
                step,
                kind,
                data,
                end: end.saturating_sub(write_start),
            });
        }
        answers
    }

    fn read_client(&mut self, family: Family, client: &[u8], cursor: usize) {
        let cursor = cursor.min(client.len());
        while self.client_read < cursor {
            let rest = &client[self.client_read..cursor];
            let Frame::Line(len) = next_line(rest, family, usize::MAX) else {
                return;
            };
            let line = &rest[..len - 2];
            self.client_read += len;
            match family {
                Family::Smtp => self.smtp_line(line),
                Family::Imap => self.imap_line(line),
            }
        }
    }

    fn smtp_line(&mut self, line: &[u8]) {
        let step = match self.mode {
            Mode::Data if line == b"." => Answered::MessageEnd,
            Mode::Data => return,
            Mode::Sasl => Answered::SaslResponse,
            Mode::Commands => {
                let verb = upper(line.split(|b| *b == b' ').next().unwrap_or_default());
                if verb == "BDAT" {
                    // The chunk's octets follow the command line, CRLFs and all.
                    let size = line.split(|b| *b == b' ').nth(1).map_or(0, number);
                    self.client_read += size;
                    Answered::Chunk
                } else {
                    Answered::Command(verb)
                }
            }
        };
        self.mode = Mode::Commands;
        self.last = Some(step.clone());
        self.unanswered.push_back(step);
    }

    fn smtp_reply(&mut self, reply: &[u8]) -> (Answered, AnswerKind, Option<String>) {
        let step = match self.unanswered.pop_front() {
            Some(step) => step,
            None if !self.replied => Answered::Greeting,
            None => self.last.clone().unwrap_or(Answered::Unknown),
        };
        let kind = match reply.get(..3) {
            Some(b"354") => {
                self.mode = Mode::Data;
                AnswerKind::Continuation
            }
            Some(b"334") => {
                self.mode = Mode::Sasl;
                AnswerKind::Continuation
            }
            _ => AnswerKind::Final,
        };
        (step, kind, None)
    }

    /// A client line: a command (`tag SP verb ...`, the verb with `UID` joined) is remembered
    /// with its tag; anything else (AUTHENTICATE data, IDLE's `DONE`) is not a command.
    fn imap_line(&mut self, line: &[u8]) {
        let mut words = line.split(|b| *b == b' ');
        let (Some(tag), Some(verb)) = (words.next(), words.next()) else {
            return;
        };
        if tag.is_empty() || verb.is_empty() || !verb.iter().all(u8::is_ascii_alphabetic) {
            return;
        }
        let mut verb = upper(verb);
        if verb == "UID"
            && let Some(next) = words.next()
        {
            verb = format!("UID {}", upper(next));
        }
        self.last = Some(Answered::Command(verb.clone()));
        self.tags.push((tag.to_vec(), verb));
    }

    fn imap_reply(
        &self,
        line: &[u8],
        later: &[(usize, usize)],
        own: &[u8],
        literal: bool,
    ) -> (Answered, AnswerKind, Option<String>) {
        let last = || self.last.clone().unwrap_or(Answered::Unknown);
        if line.starts_with(b"+") {
            let step = if literal { Answered::Literal } else { last() };
            return (step, AnswerKind::Continuation, None);
        }
        if let Some(rest) = line.strip_prefix(b"* ") {
            if !self.replied && self.tags.is_empty() {
                return (Answered::Greeting, AnswerKind::Final, None);
            }
            // The command whose completion follows in the same write, if one does.
            let step = later
                .iter()
                .map(|&(s, e)| &own[s..e])
                .find(|l| !l.starts_with(b"*") && !l.starts_with(b"+"))
                .map_or_else(last, |tagged| self.tagged_step(tagged));
            return (step, AnswerKind::Untagged, data_name(rest));
        }
        (self.tagged_step(line), AnswerKind::Final, None)
    }

    /// The verb of the newest command with the tag `line` starts with.
    fn tagged_step(&self, line: &[u8]) -> Answered {
        let tag = line.split(|b| *b == b' ').next().unwrap_or_default();
        self.tags
            .iter()
            .rev()
            .find(|(t, _)| t == tag)
            .map_or(Answered::Unknown, |(_, verb)| Answered::Command(verb.clone()))
    }
}

/// The length of the first complete reply of `buf`: an SMTP reply's lines up to the one with
/// a space (or nothing) after its code (RFC 5321 §4.2.1); one IMAP response, literals included.
fn reply_end(family: Family, buf: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let Frame::Line(len) = next_line(&buf[at..], family, usize::MAX) else {
            return None;
        };
        let line = &buf[at..at + len];
        at += len;
        if family == Family::Imap || line.get(3) != Some(&b'-') {
            return Some(at);
        }
    }
}

/// The name of an untagged data response (`* 3 FETCH (...)` → `FETCH`); `None` for status
/// responses (RFC 9051 §7.1).
fn data_name(rest: &[u8]) -> Option<String> {
    let mut words = rest.split(|b| *b == b' ' || *b == b'\r');
    let mut word = words.next()?;
    if word.first().is_some_and(u8::is_ascii_digit) {
        word = words.next()?;
    }
    let name = upper(word);
    let status = ["OK", "NO", "BAD", "BYE", "PREAUTH"].contains(&name.as_str());
    (!status && !name.is_empty()).then_some(name)
}

fn upper(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_ascii_uppercase()
}

fn number(bytes: &[u8]) -> usize {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::engine::{Engine, EngineConfig, Transmit};
    use crate::scenario::Role;

    fn server(text: &str, describe: bool) -> Engine {
        let scenario = crate::parse("t.scenario", text).expect("valid scenario");
        let mut engine =
            Engine::new(scenario, Role::Server, &BTreeMap::new(), EngineConfig::default()).expect("starts");
        engine.set_describe_answers(describe);
        engine.handle_connected(0, Duration::ZERO);
        engine
    }

    /// The described replies of everything the engine wants written now: each reply's text
    /// (its bytes across writes), step, kind and data name.
    fn replies(
        engine: &mut Engine,
        partial: &mut Vec<u8>,
    ) -> Vec<(String, Answered, AnswerKind, Option<String>)> {
        let mut out = Vec::new();
        while let Some((transmit, answers)) = engine.poll_transmit_described() {
            let Transmit::Data { bytes, .. } = transmit else {
                continue;
            };
            let mut at = 0;
            for answer in answers {
                partial.extend_from_slice(&bytes[at..answer.end]);
                at = answer.end;
                let text = String::from_utf8_lossy(&std::mem::take(partial)).into_owned();
                out.push((text, answer.step, answer.kind, answer.data));
            }
            partial.extend_from_slice(&bytes[at..]);
        }
        out
    }

    fn command(verb: &str) -> Answered {
        Answered::Command(verb.to_owned())
    }

    const SMTP: &str = "name: t\nsessions: a=smtp\nplays: server\n\n\
S: 220 ${|}ready\nC: EHLO c\nS: 250-localhost\nS: 250 PIPELINING\n\
C: MAIL FROM:<a@x>\nC: RCPT TO:<b@x>\nC: DATA\nS: 250 ok\nS: 250 ok\nS: 354 go\n\
C: hi\nC: .\nS: 250 queued\nC: AUTH PLAIN\nS: 334\nC: AGFsaWNl\nS: 235 yes\nC: QUIT\nS: 221 bye\n";

    #[test]
    fn smtp_replies_answer_the_commands_in_order() {
        use AnswerKind::{Continuation, Final};
        let mut e = server(SMTP, true);
        let mut partial = Vec::new();
        let mut got = replies(&mut e, &mut partial);
        for input in [
            &b"EHLO c\r\n"[..],
            b"MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n",
            b"hi\r\n.\r\n",
            b"AUTH PLAIN\r\n",
            b"AGFsaWNl\r\n",
            b"QUIT\r\n",
        ] {
            e.handle_received(0, input, Duration::from_millis(1));
            got.extend(replies(&mut e, &mut partial));
        }
        let steps: Vec<_> = got
            .iter()
            .map(|(text, step, kind, _)| (text.as_str(), step.clone(), *kind))
            .collect();
        assert_eq!(
            steps,
            vec![
                ("220 ready\r\n", Answered::Greeting, Final),
                ("250-localhost\r\n250 PIPELINING\r\n", command("EHLO"), Final),
                ("250 ok\r\n", command("MAIL"), Final),
                ("250 ok\r\n", command("RCPT"), Final),
                ("354 go\r\n", command("DATA"), Continuation),
                ("250 queued\r\n", Answered::MessageEnd, Final),
                ("334\r\n", command("AUTH"), Continuation),
                ("235 yes\r\n", Answered::SaslResponse, Final),
                ("221 bye\r\n", command("QUIT"), Final),
            ]
        );
        assert!(partial.is_empty());
    }

    #[test]
    fn nothing_is_described_unless_asked() {
        let mut e = server(SMTP, false);
        let mut partial = Vec::new();
        assert_eq!(replies(&mut e, &mut partial), vec![]);
        assert_eq!(
            partial, b"220 ready\r\n",
            "the greeting was written, in two writes, undescribed"
        );
    }

    #[test]
    fn imap_untagged_lines_answer_the_command_their_completion_names() {
        use AnswerKind::{Continuation, Final, Untagged};
        let text = "name: t\nsessions: a=imap\nplays: server\n\n\
S: * OK hi\nC: a1 UID FETCH 1:* (FLAGS)\nC: a2 NOOP\n\
S: * 1 FETCH (FLAGS ())\nS: * OK [HIGHESTMODSEQ 3] x\nS: a1 OK done\nS: * 2 EXISTS\nS: a2 OK done\n\
C: a3 APPEND INBOX {{{\nhi\n}}}\nS: a3 OK appended\nC: a4 IDLE\nS: + idling\nC: DONE\nS: a4 OK done\n";
        let mut e = server(text, true);
        let mut partial = Vec::new();
        let mut got = replies(&mut e, &mut partial);
        for input in [
            &b"a1 UID FETCH 1:* (FLAGS)\r\na2 NOOP\r\n"[..],
            b"a3 APPEND INBOX {4}\r\n",
            b"hi\r\n\r\n",
            b"a4 IDLE\r\n",
            b"DONE\r\n",
        ] {
            e.handle_received(0, input, Duration::from_millis(1));
            got.extend(replies(&mut e, &mut partial));
        }
        assert!(
            e.result().is_some_and(|r| r.as_ref().is_ok_and(|r| r.passed())),
            "{:?}",
            e.result()
        );
        let steps: Vec<_> = got
            .into_iter()
            .map(|(_, step, kind, data)| (step, kind, data))
            .collect();
        let fetch = || command("UID FETCH");
        assert_eq!(
            steps,
            vec![
                (Answered::Greeting, Final, None),
                (fetch(), Untagged, Some("FETCH".to_owned())),
                (fetch(), Untagged, None),
                (fetch(), Final, None),
                (command("NOOP"), Untagged, Some("EXISTS".to_owned())),
                (command("NOOP"), Final, None),
                (Answered::Literal, Continuation, None),
                (command("APPEND"), Final, None),
                (command("IDLE"), Continuation, None),
                (command("IDLE"), Final, None),
            ]
        );
    }
}
