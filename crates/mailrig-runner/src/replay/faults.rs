//! Fault rules on a replay's own writes: the engine describes each reply it writes
//! ([`Answer`]: the step it answers, its kind), this maps the description onto mailrig-fault's
//! [`Reply`], and the connection's [`ConnFaults`] turns it into a [`Plan`] the driver carries
//! out. A reply no rule touches keeps the scenario's write boundaries (`${|}`).
//!
//! The fault crate names verbs as `&'static str`: a verb the client wrote is mapped through the
//! protocol crates' own verb tables (`mailrig_smtp::Verb`, `mailrig_imap::Verb`), so a rule
//! keys on a command exactly as it does on `mailrig serve`, where a verb mailrig does not know
//! is the `unknown` step too. (Making the fault crate own its verbs would cost `Step` its
//! `Copy` in every server connection for a case serve cannot meet either.)

use mailrig_server::fault::{ConnFaults, Plan, Protocol, Reply, ReplyKind, Step, Then, Write};
use mailrig_transcript::engine::{Answer, AnswerKind, Answered};
use mailrig_transcript::scenario::Family;

/// The fault crate's name for a session's protocol family.
pub(super) fn fault_protocol(family: Family) -> Protocol {
    match family {
        Family::Smtp => Protocol::Smtp,
        Family::Imap => Protocol::Imap,
    }
}

/// The fault state of one session's connection.
pub(super) struct SessionFaults {
    pub(super) conn: ConnFaults,
    protocol: Protocol,
    /// The writes of a reply the engine has not finished writing (cut by `${|}`).
    pieces: Vec<Vec<u8>>,
    /// A rule closed or stalled the connection: nothing more is written.
    pub(super) silenced: bool,
}

/// What to write for one described reply.
pub(super) enum Outcome {
    /// The scenario's own writes, boundaries kept: no rule touched the reply.
    Untouched(Vec<Vec<u8>>),
    /// The rules' plan.
    Planned(Plan),
}

impl SessionFaults {
    pub(super) fn new(conn: ConnFaults, family: Family) -> SessionFaults {
        SessionFaults {
            conn,
            protocol: fault_protocol(family),
            pieces: Vec::new(),
            silenced: false,
        }
    }

    /// One write of the engine with the replies it completes: what to do for each, in order.
    /// Bytes after the last completed reply wait for the write that completes it.
    pub(super) fn write(&mut self, bytes: &[u8], answers: Vec<Answer>) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        let mut at = 0;
        for answer in answers {
            let end = answer.end.clamp(at, bytes.len());
            self.pieces.push(bytes[at..end].to_vec());
            at = end;
            let pieces = std::mem::take(&mut self.pieces);
            let whole = pieces.concat();
            let plan = self.conn.on_reply(self.reply(&answer, whole.clone()));
            outcomes.push(match plan.writes.as_slice() {
                [Write { delay, bytes }]
                    if delay.is_zero() && *bytes == whole && plan.then == Then::Continue =>
                {
                    Outcome::Untouched(pieces)
                }
                _ => Outcome::Planned(plan),
            });
        }
        if at < bytes.len() {
            self.pieces.push(bytes[at..].to_vec());
        }
        outcomes
    }

    fn reply(&self, answer: &Answer, bytes: Vec<u8>) -> Reply {
        let step = match &answer.step {
            Answered::Greeting => Step::Greeting,
            Answered::Command(verb) => known_verb(self.protocol, verb).map_or(Step::Unknown, Step::Command),
            Answered::MessageEnd => Step::MessageEnd,
            Answered::Chunk => Step::Chunk,
            Answered::SaslResponse => Step::SaslResponse,
            Answered::Literal => Step::Literal,
            Answered::Unknown => Step::Unknown,
        };
        let kind = match answer.kind {
            AnswerKind::Untagged => ReplyKind::Untagged,
            AnswerKind::Continuation => ReplyKind::Continuation,
            AnswerKind::Final => ReplyKind::Final,
        };
        let reply = Reply::new(step, kind, bytes);
        match answer.data.as_deref().and_then(data_name) {
            Some(name) => reply.with_data(name),
            None => reply,
        }
    }
}

/// The protocol crate's spelling of `verb`, if mailrig knows the command: what a fault rule
/// on a replay names a client's command by (a verb mailrig does not know is the `unknown`
/// step).
pub fn known_verb(protocol: Protocol, verb: &str) -> Option<&'static str> {
    match protocol {
        Protocol::Smtp => mailrig_smtp::Verb::from_name(verb).map(mailrig_smtp::Verb::name),
        Protocol::Imap => {
            mailrig_imap::Verb::from_name(&verb.to_ascii_uppercase()).map(mailrig_imap::Verb::name)
        }
    }
}

/// The names of IMAP data responses rules can key on (`untagged NAME`): the ones the IMAP
/// session writes (`mailrig_imap::DataKind`), as the client sees them.
const DATA_NAMES: [&str; 19] = [
    "CAPABILITY",
    "ENABLED",
    "ID",
    "NAMESPACE",
    "FLAGS",
    "LIST",
    "LSUB",
    "STATUS",
    "SEARCH",
    "ESEARCH",
    "SORT",
    "THREAD",
    "EXISTS",
    "RECENT",
    "EXPUNGE",
    "VANISHED",
    "FETCH",
    "QUOTA",
    "QUOTAROOT",
];

fn data_name(name: &str) -> Option<&'static str> {
    DATA_NAMES
        .into_iter()
        .find(|known| known.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use mailrig_server::fault::{FaultSet, Rule};

    use super::*;

    fn faults(rule: &str, family: Family) -> SessionFaults {
        let set = FaultSet::new(vec![Rule::parse(rule).expect("rule parses")], 0);
        let protocol = match family {
            Family::Smtp => Protocol::Smtp,
            Family::Imap => Protocol::Imap,
        };
        SessionFaults::new(set.connection(protocol), family)
    }

    fn answer(step: Answered, kind: AnswerKind, end: usize) -> Answer {
        Answer {
            step,
            kind,
            data: None,
            end,
        }
    }

    #[test]
    fn an_untouched_reply_keeps_its_write_boundaries() {
        let mut f = faults("rcpt: reply 550 5.1.1 no", Family::Smtp);
        assert!(f.write(b"250 ", vec![]).is_empty(), "half a reply waits");
        let outcomes = f.write(
            b"ok\r\n",
            vec![answer(Answered::Command("MAIL".into()), AnswerKind::Final, 4)],
        );
        assert!(
            matches!(&outcomes[..], [Outcome::Untouched(p)] if *p == vec![b"250 ".to_vec(), b"ok\r\n".to_vec()])
        );
    }

    #[test]
    fn a_rule_on_the_step_the_engine_names_fires() {
        let mut f = faults("rcpt: reply 550 5.1.1 no", Family::Smtp);
        let rcpt = answer(Answered::Command("rcpt".into()), AnswerKind::Final, 8);
        let outcomes = f.write(b"250 ok\r\n", vec![rcpt]);
        let [Outcome::Planned(plan)] = &outcomes[..] else {
            panic!("the rule should fire on RCPT");
        };
        assert_eq!(plan.writes[0].bytes, b"550 5.1.1 no\r\n");
    }

    #[test]
    fn imap_data_names_and_unknown_verbs_map_as_on_serve() {
        let f = faults("imap FETCH untagged FETCH#1: truncate 3", Family::Imap);
        let mut fetch = answer(Answered::Command("uid fetch".into()), AnswerKind::Untagged, 0);
        fetch.data = Some("FETCH".into());
        let reply = f.reply(&fetch, Vec::new());
        assert_eq!(
            (reply.step, reply.data),
            (Step::Command("UID FETCH"), Some("FETCH"))
        );
        let odd = answer(Answered::Command("XYZZY".into()), AnswerKind::Final, 0);
        assert_eq!(f.reply(&odd, Vec::new()).step, Step::Unknown);
    }
}
