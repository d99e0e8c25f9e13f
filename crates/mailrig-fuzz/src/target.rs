//! Which reply of a replay each `S:` line of the canonical scenario belongs to, as a
//! mailrig-fault trigger: the hostile kinds that are protocol-step faults (`stall`, `bye`,
//! `cut`, `reset`) become `faults:` rules of the case scenario aimed at that reply, so the
//! written file carries them and `mailrig replay` applies them.
//!
//! The replay names the step each of its replies answers from the client's bytes
//! (`mailrig_transcript::engine::Answer`); here the same rules are followed over the
//! canonical's own lines, which a client that follows the canonical sends: SMTP replies answer
//! the client's commands in order (the reply after `354` is `data-end`, after `334` `sasl`, a
//! BDAT's reply its `chunk`, and the `C:` lines holding a chunk's octets are no commands); an IMAP tagged line answers the command with its tag, an
//! untagged line or a `+` the client's last command, and the first lines before any command
//! are the greeting. Occurrences are counted as the fault engine counts them (a step's
//! occurrence lasts from its first reply to its final one, per connection), so
//! `imap FETCH#1 untagged#1` is this line whatever legal mutations the case also carries: an
//! extra untagged response goes just before a tagged completion, after the canonical's own.

use mailrig_fault::{Action, Event, Protocol as FaultProtocol, ReplyKind, Rule, Trigger};
use mailrig_transcript::scenario::{Family, Item, Line, Part, Scenario, Side, StepKind};

/// One `S:` line's reply, as a trigger.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Target {
    trigger: Trigger,
    /// Where the line starts in its reply's bytes (an SMTP multi-line reply is one reply),
    /// when every line of the reply before it has no holes.
    pub(crate) offset: Option<usize>,
}

impl Target {
    /// The rule doing `action` to this reply.
    pub(crate) fn rule(&self, action: Action) -> Rule {
        Rule::new(self.trigger.clone(), action)
    }
}

/// The target of every `S:` line of `scenario`, in file order.
pub(crate) fn targets(scenario: &Scenario) -> Vec<Target> {
    let sessions = scenario.sessions();
    let numbers = connection_numbers(scenario);
    let mut states: Vec<Session> = sessions
        .iter()
        .zip(&numbers)
        .map(|(decl, number)| Session::new(decl.protocol.family(), *number))
        .collect();
    let mut out = Vec::new();
    for item in &scenario.body {
        let Item::Step(step) = item else { continue };
        let StepKind::Line(line) = &step.kind else {
            continue;
        };
        let state = &mut states[step.session];
        match line.side {
            Side::Client => state.client_line(line),
            Side::Server => out.push(state.server_line(line)),
        }
    }
    out
}

/// Per session, its fault connection number (per protocol family, in the order the sessions
/// first appear in the file, as a client following the file connects), or `None` when it is
/// the only session of its family (the rule then needs no `conn#N`).
fn connection_numbers(scenario: &Scenario) -> Vec<Option<u32>> {
    let sessions = scenario.sessions();
    let mut order: Vec<usize> = Vec::new();
    for step in scenario.steps() {
        if !order.contains(&step.session) {
            order.push(step.session);
        }
    }
    let silent: Vec<usize> = (0..sessions.len()).filter(|i| !order.contains(i)).collect();
    order.extend(silent);
    let family = |i: usize| sessions[i].protocol.family();
    let mut numbers = vec![None; sessions.len()];
    for (rank, &session) in order.iter().enumerate() {
        let same = order[..rank]
            .iter()
            .filter(|&&s| family(s) == family(session))
            .count();
        let total = order.iter().filter(|&&s| family(s) == family(session)).count();
        if total > 1 {
            numbers[session] = u32::try_from(same + 1).ok();
        }
    }
    numbers
}

/// How the client's next lines are read (SMTP).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Commands,
    Data,
    Sasl,
    /// After `BDAT n`: this many octets of the chunk still to come, written as `C:` lines
    /// that are not commands (RFC 3030 §2; the replay skips the octets by count).
    Chunk(usize),
}

/// The step occurrence the last reply belonged to.
struct Occurrence {
    event: Event,
    nth: u32,
    open: bool,
    untagged: u32,
    continuation: u32,
}

/// What one session has seen so far.
struct Session {
    family: Family,
    connection: Option<u32>,
    mode: Mode,
    /// SMTP: the client's steps without a reply yet, oldest first.
    unanswered: std::collections::VecDeque<Event>,
    last: Option<Event>,
    /// IMAP: tags (`$name` for a capture) and their verbs' events, newest last.
    tags: Vec<(String, Event)>,
    replied: bool,
    /// Occurrences so far, per event.
    seen: Vec<(Event, u32)>,
    current: Option<Occurrence>,
    /// SMTP: the reply the previous line continues (its target and where the next line
    /// starts), when that line had `-` after its code.
    open_reply: Option<Target>,
}

impl Session {
    fn new(family: Family, connection: Option<u32>) -> Session {
        Session {
            family,
            connection,
            mode: Mode::Commands,
            unanswered: Default::default(),
            last: None,
            tags: Vec::new(),
            replied: false,
            seen: Vec::new(),
            current: None,
            open_reply: None,
        }
    }

    fn protocol(&self) -> FaultProtocol {
        match self.family {
            Family::Smtp => FaultProtocol::Smtp,
            Family::Imap => FaultProtocol::Imap,
        }
    }

    fn command(&self, verb: &str) -> Event {
        mailrig_runner::replay::known_verb(self.protocol(), verb).map_or(Event::Unknown, Event::command)
    }

    fn client_line(&mut self, line: &Line) {
        let text = words(line);
        let mut tokens = text.split(' ').filter(|t| !t.is_empty());
        match self.family {
            Family::Smtp => {
                let mut next = Mode::Commands;
                let event = match self.mode {
                    Mode::Chunk(left) => {
                        let len = crate::canonical::flatten(line).map_or(text.len(), |b| b.len());
                        let len = len + if line.crlf { 2 } else { 0 };
                        self.mode = left
                            .checked_sub(len)
                            .filter(|l| *l > 0)
                            .map_or(Mode::Commands, Mode::Chunk);
                        return;
                    }
                    Mode::Data if text == "." => Event::DataEnd,
                    Mode::Data => return,
                    Mode::Sasl => Event::Sasl,
                    Mode::Commands => match tokens.next().unwrap_or_default().to_ascii_uppercase() {
                        verb if verb == "BDAT" => {
                            let size = tokens.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                            if size > 0 {
                                next = Mode::Chunk(size);
                            }
                            Event::Chunk
                        }
                        verb => self.command(&verb),
                    },
                };
                self.mode = next;
                self.last = Some(event.clone());
                self.unanswered.push_back(event);
            }
            Family::Imap => {
                let (Some(tag), Some(verb)) = (tokens.next(), tokens.next()) else {
                    return;
                };
                if !verb.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return;
                }
                let mut verb = verb.to_ascii_uppercase();
                if verb == "UID"
                    && let Some(next) = tokens.next()
                {
                    verb = format!("UID {}", next.to_ascii_uppercase());
                }
                let event = self.command(&verb);
                self.last = Some(event.clone());
                self.tags.push((tag.to_owned(), event));
            }
        }
    }

    fn server_line(&mut self, line: &Line) -> Target {
        let text = words(line);
        let len = crate::canonical::flatten(line).map(|b| b.len() + 2);
        if let Some(open) = self.open_reply.take() {
            // A later line of a multi-line SMTP reply: the same reply, further in.
            let next = open.offset.zip(len).map(|(at, len)| at + len);
            if text.as_bytes().get(3) == Some(&b'-') {
                self.open_reply = Some(Target {
                    offset: next,
                    ..open.clone()
                });
            }
            return open;
        }
        let (event, kind) = match self.family {
            Family::Smtp => self.smtp_reply(&text),
            Family::Imap => self.imap_reply(&text),
        };
        self.replied = true;
        let trigger = self.count(event, kind);
        let target = Target {
            trigger,
            offset: Some(0),
        };
        if self.family == Family::Smtp && text.as_bytes().get(3) == Some(&b'-') {
            self.open_reply = Some(Target {
                offset: len,
                ..target.clone()
            });
        }
        target
    }

    fn smtp_reply(&mut self, text: &str) -> (Event, ReplyKind) {
        let event = match self.unanswered.pop_front() {
            Some(event) => event,
            None if !self.replied => Event::Greeting,
            None => self.last.clone().unwrap_or(Event::Unknown),
        };
        let kind = match text.get(..3) {
            Some("354") => {
                self.mode = Mode::Data;
                ReplyKind::Continuation
            }
            Some("334") => {
                self.mode = Mode::Sasl;
                ReplyKind::Continuation
            }
            _ => ReplyKind::Final,
        };
        (event, kind)
    }

    fn imap_reply(&self, text: &str) -> (Event, ReplyKind) {
        let last = || self.last.clone().unwrap_or(Event::Unknown);
        if text.starts_with('+') {
            return (last(), ReplyKind::Continuation);
        }
        if text.starts_with("* ") {
            if !self.replied && self.tags.is_empty() {
                return (Event::Greeting, ReplyKind::Final);
            }
            return (last(), ReplyKind::Untagged);
        }
        let tag = text.split(' ').next().unwrap_or_default();
        let event = self
            .tags
            .iter()
            .rev()
            .find(|(t, _)| t == tag)
            .map_or(Event::Unknown, |(_, event)| event.clone());
        (event, ReplyKind::Final)
    }

    /// Counts the reply as the fault engine does and returns its trigger.
    fn count(&mut self, event: Event, kind: ReplyKind) -> Trigger {
        let continues = self
            .current
            .as_ref()
            .is_some_and(|c| c.event == event && c.open && event != Event::Literal);
        if !continues {
            let nth = match self.seen.iter_mut().find(|(e, _)| *e == event) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    self.seen.push((event.clone(), 1));
                    1
                }
            };
            self.current = Some(Occurrence {
                event: event.clone(),
                nth,
                open: false,
                untagged: 0,
                continuation: 0,
            });
        }
        let protocol = self.protocol();
        let Some(current) = self.current.as_mut() else {
            return Trigger::on(event);
        };
        current.open = kind != ReplyKind::Final;
        let within = match kind {
            ReplyKind::Untagged => {
                current.untagged += 1;
                Some(current.untagged)
            }
            ReplyKind::Continuation => {
                current.continuation += 1;
                Some(current.continuation)
            }
            // A final reply ends its occurrence: there is one.
            ReplyKind::Final => None,
        };
        let mut trigger = Trigger::on(event)
            .protocol(protocol)
            .nth(current.nth)
            .response(Some(kind), within);
        if let Some(n) = self.connection {
            trigger = trigger.connection(n);
        }
        trigger
    }
}

/// The line as text, each hole or reference a `$name` word (`$` alone for a wildcard), each
/// literal its announcement: enough to read verbs, tags and reply codes.
fn words(line: &Line) -> String {
    let mut out = String::new();
    for part in &line.parts {
        match part {
            Part::Text(bytes) => out.push_str(&String::from_utf8_lossy(bytes)),
            Part::Hole(hole) => {
                out.push('$');
                out.push_str(hole.name.as_deref().unwrap_or_default());
            }
            Part::Ref(name) => {
                out.push('$');
                out.push_str(name);
            }
            Part::Literal(_) => out.push_str("{literal}"),
            Part::Split => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Flow;

    fn rules(flow: Flow) -> Vec<String> {
        targets(flow.canonical().scenario())
            .iter()
            .map(|t| t.rule(Action::Stall).to_string())
            .collect()
    }

    #[test]
    fn imap_lines_are_named_by_step_occurrence_and_reply() {
        let rules = rules(Flow::ImapFetch);
        assert_eq!(rules[0], "imap greeting#1 final: stall");
        assert_eq!(rules[1], "imap LOGIN#1 final: stall");
        assert_eq!(rules[3], "imap LIST#1 untagged#2: stall");
        assert_eq!(rules[11], "imap FETCH#1 untagged#1: stall");
        assert_eq!(rules[12], "imap FETCH#1 final: stall");
        assert_eq!(rules[15], "imap LOGOUT#1 untagged#1: stall");
    }

    #[test]
    fn smtp_multi_line_replies_are_one_reply_and_data_end_is_named() {
        let canonical = Flow::SmtpSend.canonical();
        let targets = targets(canonical.scenario());
        let rules: Vec<String> = targets
            .iter()
            .map(|t| t.rule(Action::Close).to_string())
            .collect();
        assert_eq!(rules[0], "smtp greeting#1 final: close");
        assert!(
            rules[1..6].iter().all(|r| r == "smtp EHLO#1 final: close"),
            "{rules:?}"
        );
        assert_eq!(
            targets[2].offset,
            Some("250-mx.example.test greets you\r\n".len())
        );
        assert_eq!(rules[6], "smtp STARTTLS#1 final: close");
        assert_eq!(rules[7], "smtp EHLO#2 final: close");
        assert_eq!(rules[13], "smtp DATA#1 continuation#1: close");
        assert_eq!(rules[14], "smtp data-end#1 final: close");
    }

    #[test]
    fn the_lines_of_a_bdat_chunk_are_no_commands() {
        let text = "name: x\nsessions: s=smtp\nplays: server\n\nS: 220 hi\nC: BDAT 14\nC: Subject: one\nS: 250 chunk\nC: BDAT 7 LAST\nC: hello\nS: 250 queued\nC: QUIT\nS: 221 bye\n";
        let scenario = mailrig_transcript::parse("x", text).expect("valid");
        let rules: Vec<String> = targets(&scenario)
            .iter()
            .map(|t| t.rule(Action::Reset).to_string())
            .collect();
        assert_eq!(
            rules,
            [
                "smtp greeting#1 final: reset",
                "smtp chunk#1 final: reset",
                "smtp chunk#2 final: reset",
                "smtp QUIT#1 final: reset"
            ]
        );
    }

    #[test]
    fn several_sessions_of_a_family_get_connection_numbers() {
        let text = "name: x\nsessions: a=imap, b=imap\nplays: server\n\nb S: * OK hi\na S: * OK hi\nb C: ${t:atom} NOOP\nb S: ${t} OK done\n";
        let scenario = mailrig_transcript::parse("x", text).expect("valid");
        let rules: Vec<String> = targets(&scenario)
            .iter()
            .map(|t| t.rule(Action::Reset).to_string())
            .collect();
        assert_eq!(
            rules,
            [
                "imap greeting#1 conn#1 final: reset",
                "imap greeting#1 conn#2 final: reset",
                "imap NOOP#1 conn#1 final: reset"
            ]
        );
    }
}
