//! The engine: a [`FaultSet`] per server, a [`ConnFaults`] per connection. Sans-IO: events
//! in ([`ConnFaults::on_connect`], [`ConnFaults::on_tls`], [`ConnFaults::on_reply`],
//! [`ConnFaults::refusal`]), a [`Plan`] out (what to write, with delays, then whether to go on,
//! close, reset or stall); the driver does the I/O and the waiting.
//!
//! Occurrences: a step's occurrence starts with its first reply (or with
//! [`ConnFaults::refusal`] / [`ConnFaults::imap_refusal`], which a backend calls before the
//! session answers) and lasts until its final reply; each literal's `+` is an occurrence of its
//! own. Each rule counts the occurrences of its event per connection, so `#N` is deterministic
//! for a given exchange. An occurrence a backend started waits in a queue until the first reply
//! of its step: a session runs pipelined commands before its replies are written, so several
//! can wait at once, in command order.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::reply::{Protocol, Reply, ReplyKind, Step};
use crate::rule::{Action, Event, Position, Rule, Trigger};
use crate::transform::{self, CapEdit};

/// The rules of one server, shared by its connections (which it numbers, per protocol).
#[derive(Debug)]
pub struct FaultSet {
    rules: Arc<[Rule]>,
    seed: u64,
    connections: [AtomicU32; 2],
}

impl FaultSet {
    /// The rules; random rules without a seed get `seed` (print [`FaultSet::describe`] so a
    /// run can be repeated).
    pub fn new(rules: Vec<Rule>, seed: u64) -> FaultSet {
        let rules: Vec<Rule> = rules
            .into_iter()
            .map(|mut rule| {
                if let Some(random) = &mut rule.when.random {
                    random.seed.get_or_insert(seed);
                }
                rule
            })
            .collect();
        FaultSet {
            rules: rules.into(),
            seed,
            connections: [AtomicU32::new(0), AtomicU32::new(0)],
        }
    }

    /// The rules, seeds filled in.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// No rules: a driver can skip the layer entirely.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The seed random rules without their own got.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// One line per rule, for logs: the rules as they will run, seeds included.
    pub fn describe(&self) -> String {
        let mut out = format!("fault seed {}", self.seed);
        for rule in self.rules.iter() {
            out.push_str(&format!("\nfault: {rule}"));
        }
        out
    }

    /// The state of the next connection of `protocol`.
    pub fn connection(&self, protocol: Protocol) -> ConnFaults {
        let slot = match protocol {
            Protocol::Smtp => 0,
            Protocol::Imap => 1,
        };
        let number = self.connections[slot].fetch_add(1, Ordering::Relaxed) + 1;
        ConnFaults::new(self.rules.clone(), protocol, number)
    }
}

/// What to do with one event: these writes in order (each after its delay), then [`Then`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// The writes, in order.
    pub writes: Vec<Write>,
    /// What the connection does after them.
    pub then: Then,
}

/// One write, after a delay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// Wait this long first.
    pub delay: Duration,
    /// Then write these bytes (possibly none: only the wait).
    pub bytes: Vec<u8>,
}

/// What a connection does after a plan's writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Then {
    /// Go on as usual.
    #[default]
    Continue,
    /// Close (FIN).
    Close,
    /// Reset (RST).
    Reset,
    /// Write nothing more, ever; keep the connection open until the peer or the server ends it.
    Stall,
}

/// A refusal a backend should make instead of accepting (SMTP): the reply's code and the text
/// after it, as a rule said (`452` and `4.2.2 mailbox full`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The reply code (4xx or 5xx).
    pub code: u16,
    /// The text after the code.
    pub text: String,
}

/// A refusal an IMAP storage seam should make instead of performing an operation: the
/// tagged completion's status, its response code and text, as a rule said (`NO [OVERQUOTA]
/// quota exceeded` is `No`, `OVERQUOTA`, `quota exceeded`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapRefusal {
    /// `BAD` rather than `NO`.
    pub bad: bool,
    /// The response code, without its brackets.
    pub code: Option<String>,
    /// The human-readable text.
    pub text: String,
}

/// The fault state of one connection.
#[derive(Debug)]
pub struct ConnFaults {
    rules: Arc<[Rule]>,
    protocol: Protocol,
    number: u32,
    /// The client's address, once known ([`ConnFaults::set_peer`]).
    peer: Option<IpAddr>,
    state: Vec<RuleState>,
    current: Option<Occurrence>,
    /// Occurrences a backend started whose replies have not come yet, oldest first.
    pending: VecDeque<Occurrence>,
    /// Bytes `merge` held back for the next write.
    held: Vec<u8>,
    tls_handshakes: u32,
}

#[derive(Debug, Clone, Copy, Default)]
struct RuleState {
    /// Occurrences of the rule's event so far.
    seen: u32,
    rng: u64,
}

#[derive(Debug, Clone)]
struct Occurrence {
    step: Step,
    /// The last reply did not end the step.
    open: bool,
    /// Per rule: fires in this occurrence.
    active: Vec<bool>,
    untagged: u32,
    continuation: u32,
    last: u32,
    total: u32,
    /// Untagged data responses so far, per name.
    data: Vec<(&'static str, u32)>,
}

impl Occurrence {
    /// Counts a data response named `name`; returns how many of that name so far.
    fn count_data(&mut self, name: &'static str) -> u32 {
        match self.data.iter_mut().find(|(n, _)| *n == name) {
            Some((_, count)) => {
                *count += 1;
                *count
            }
            None => {
                self.data.push((name, 1));
                1
            }
        }
    }
}

impl ConnFaults {
    /// Connection number `number` (1-based, per protocol) under `rules`.
    pub fn new(rules: Arc<[Rule]>, protocol: Protocol, number: u32) -> ConnFaults {
        let state = rules
            .iter()
            .enumerate()
            .map(|(i, rule)| RuleState {
                seen: 0,
                rng: rule.when.random.and_then(|r| r.seed).unwrap_or(0)
                    ^ u64::from(number).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    ^ (i as u64).wrapping_mul(0xD1B5_4A32_D192_ED03),
            })
            .collect();
        ConnFaults {
            rules,
            protocol,
            number,
            peer: None,
            state,
            current: None,
            pending: VecDeque::new(),
            held: Vec::new(),
            tls_handshakes: 0,
        }
    }

    /// This connection's number (1-based, per protocol).
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The client's address, for rules keyed by it (`from 127.0.0.2`); call before
    /// [`ConnFaults::on_connect`]. Without it those rules never fire.
    pub fn set_peer(&mut self, peer: IpAddr) {
        self.peer = Some(peer);
    }

    /// A connection was accepted; before the greeting. `connect#N` is the Nth connection.
    #[must_use]
    pub fn on_connect(&mut self) -> Plan {
        let number = self.number;
        self.connection_event(|event| *event == Event::Connect, number)
    }

    /// A TLS handshake is about to start (after STARTTLS's go-ahead was written, or at once on
    /// an implicit-TLS port). Anything written now goes out in plaintext.
    #[must_use]
    pub fn on_tls(&mut self) -> Plan {
        self.tls_handshakes += 1;
        let n = self.tls_handshakes;
        self.connection_event(|event| *event == Event::Tls, n)
    }

    /// Asked by a backend before the session answers `step` (SMTP: each RCPT with its
    /// address, DATA's final dot, the last BDAT chunk): if a rule will refuse this step's
    /// reply (a 4xx/5xx `reply`, `bye`, `close`, `reset` or `stall`), the refusal to make, so
    /// that nothing is stored that the client will be told was refused. The reply that
    /// follows belongs to the same occurrence (the rule is not counted twice).
    pub fn refusal(&mut self, step: Step, address: Option<&str>) -> Option<Refusal> {
        let fallback = Refusal {
            code: 451,
            text: "4.3.0 Refused by a fault rule".to_owned(),
        };
        self.prestart(step, address, smtp_refusal, fallback)
    }

    /// The same for an IMAP storage seam, asked before an operation that changes the store
    /// or selects a mailbox (`step` is the command: `APPEND`, `UID COPY`, `SELECT`): a rule
    /// whose `reply` is a `NO` or `BAD` (or a `bye`, `close`, `reset`, `stall`) on the tagged
    /// completion refuses the operation, so the store is left as it was.
    pub fn imap_refusal(&mut self, step: Step) -> Option<ImapRefusal> {
        let fallback = ImapRefusal {
            bad: false,
            code: None,
            text: "refused by a fault rule".to_owned(),
        };
        self.prestart(step, None, imap_refusal, fallback)
    }

    /// Starts an occurrence of `step` ahead of its replies (queued for them) and returns the
    /// refusal the first refusing rule in it asks for: `reply` texts through `parse`, the
    /// actions that never let the reply out as `fallback`.
    fn prestart<R: Clone>(
        &mut self,
        step: Step,
        address: Option<&str>,
        parse: fn(&str) -> Option<R>,
        fallback: R,
    ) -> Option<R> {
        let occurrence = self.begin(step, address);
        let rules = self.rules.clone();
        let mut refusal = None;
        for (rule, active) in rules.iter().zip(&occurrence.active) {
            if !*active || !selects(rule, ReplyKind::Final, None, 1, 1) {
                continue;
            }
            refusal = match &rule.action {
                Action::Reply(text) => parse(text),
                Action::Bye(_) | Action::Close | Action::Reset | Action::Stall => Some(fallback.clone()),
                _ => None,
            };
            if refusal.is_some() {
                break;
            }
        }
        self.pending.push_back(occurrence);
        refusal
    }

    /// One reply on its way out: what to write instead, and what then.
    #[must_use]
    pub fn on_reply(&mut self, reply: Reply) -> Plan {
        let continues = self
            .current
            .as_ref()
            .is_some_and(|c| c.step == reply.step && c.open && reply.step != Step::Literal);
        if !continues {
            let queued = self.pending.front().is_some_and(|p| p.step == reply.step);
            let next = match queued.then(|| self.pending.pop_front()).flatten() {
                Some(occurrence) => occurrence,
                None => self.begin(reply.step, None),
            };
            self.current = Some(next);
        }
        let Some(current) = &mut self.current else {
            return Plan::default();
        };
        current.open = reply.kind != ReplyKind::Final;
        current.total += 1;
        let nth = match reply.kind {
            ReplyKind::Untagged => {
                current.untagged += 1;
                current.untagged
            }
            ReplyKind::Continuation => {
                current.continuation += 1;
                current.continuation
            }
            ReplyKind::Final => {
                current.last += 1;
                current.last
            }
        };
        let data = reply.data.map(|name| (name, current.count_data(name)));
        let total = current.total;
        let active = current.active.clone();
        let untagged = self.untagged_rules(&reply);
        let rules = self.rules.clone();
        let firing: Vec<&Rule> = rules
            .iter()
            .enumerate()
            .filter(|&(i, rule)| (active[i] && selects(rule, reply.kind, data, nth, total)) || untagged[i])
            .map(|(_, rule)| rule)
            .collect();
        if firing.is_empty() && self.held.is_empty() {
            return Plan {
                writes: vec![Write {
                    delay: Duration::ZERO,
                    bytes: reply.bytes,
                }],
                then: Then::Continue,
            };
        }
        self.apply(&firing, reply)
    }

    /// Per rule: whether it is an `untagged NAME` rule that fires on `reply` (counting the
    /// reply as its occurrence when the name matches).
    fn untagged_rules(&mut self, reply: &Reply) -> Vec<bool> {
        let (protocol, number, peer) = (self.protocol, self.number, self.peer);
        let rules = self.rules.clone();
        rules
            .iter()
            .zip(self.state.iter_mut())
            .map(|(rule, state)| {
                let when = &rule.when;
                let Event::Untagged(want) = &when.event else {
                    return false;
                };
                let named = reply.kind == ReplyKind::Untagged
                    && reply.data.is_some_and(|name| name.eq_ignore_ascii_case(want));
                if !named || !scoped(rule, protocol, number, peer) {
                    return false;
                }
                counted(when, state)
            })
            .collect()
    }

    /// Starts an occurrence of `step`: counts it for each rule whose event it is, and decides
    /// which rules fire in it.
    fn begin(&mut self, step: Step, address: Option<&str>) -> Occurrence {
        let (protocol, number, peer) = (self.protocol, self.number, self.peer);
        let rules = self.rules.clone();
        let active = rules
            .iter()
            .zip(self.state.iter_mut())
            .map(|(rule, state)| {
                let when = &rule.when;
                let event = when.event.matches(step)
                    && scoped(rule, protocol, number, peer)
                    && match (&when.address, address) {
                        (None, _) => true,
                        (Some(want), Some(got)) => want.eq_ignore_ascii_case(got),
                        (Some(_), None) => false,
                    };
                if !event {
                    return false;
                }
                counted(when, state)
            })
            .collect();
        Occurrence {
            step,
            open: false,
            active,
            untagged: 0,
            continuation: 0,
            last: 0,
            total: 0,
            data: Vec::new(),
        }
    }

    /// The rules on a connection event; `n` is what `#N` compares with.
    fn connection_event(&mut self, is: impl Fn(&Event) -> bool, n: u32) -> Plan {
        let mut plan = Plan::default();
        let rules = self.rules.clone();
        for (rule, state) in rules.iter().zip(self.state.iter_mut()) {
            let when = &rule.when;
            let fires = is(&when.event)
                && scoped(rule, self.protocol, self.number, self.peer)
                && when.nth.is_none_or(|want| want == n)
                && when.random.is_none_or(|r| chance(&mut state.rng) < r.p);
            if !fires || plan.then != Then::Continue {
                continue;
            }
            let write = |bytes: Vec<u8>| Write {
                delay: Duration::ZERO,
                bytes,
            };
            match &rule.action {
                Action::Reply(text) => {
                    plan.writes.push(write(format!("{text}\r\n").into_bytes()));
                    plan.then = Then::Close;
                }
                Action::Bye(text) => {
                    plan.writes
                        .push(write(transform::bye(self.protocol, text.as_deref())));
                    plan.then = Then::Close;
                }
                Action::Close => plan.then = Then::Close,
                Action::Reset => plan.then = Then::Reset,
                Action::Stall => plan.then = Then::Stall,
                Action::Delay(d) => plan.writes.push(Write {
                    delay: *d,
                    bytes: Vec::new(),
                }),
                Action::Inject { bytes, .. } => plan.writes.push(write(bytes.clone())),
                // Refused by Rule::validate; a rule built in code without it is ignored here.
                _ => {}
            }
        }
        plan
    }

    /// Applies the firing rules to `reply`, in rule order.
    fn apply(&mut self, firing: &[&Rule], reply: Reply) -> Plan {
        let protocol = self.protocol;
        let mut bytes = reply.bytes;
        let (mut before, mut after) = (Vec::new(), Vec::new());
        let mut delay = Duration::ZERO;
        let mut shape = Shape::Whole;
        let mut then = Then::Continue;
        let mut dropped = false;
        let mut truncated = false;
        let mut hold = false;
        for rule in firing {
            match &rule.action {
                Action::Reply(text) => bytes = transform::replace(protocol, &bytes, text),
                Action::Bye(text) => {
                    bytes = transform::bye(protocol, text.as_deref());
                    then = Then::Close;
                }
                Action::Close => (dropped, then) = (true, Then::Close),
                Action::Reset => (dropped, then) = (true, Then::Reset),
                Action::Stall => (dropped, then) = (true, Then::Stall),
                Action::Delay(d) => delay += *d,
                Action::Throttle(rate) => shape = Shape::Throttle(*rate),
                Action::SplitEvery(n) => shape = Shape::Every(*n),
                Action::SplitAt(offsets) => shape = Shape::At(offsets.clone()),
                Action::Merge => hold = true,
                Action::Inject {
                    position,
                    bytes: extra,
                } => match position {
                    Position::Before => before.extend_from_slice(extra),
                    Position::After => after.extend_from_slice(extra),
                },
                Action::Truncate(n) => {
                    bytes.truncate(*n);
                    truncated = true;
                }
                Action::LiteralCount(delta) => transform::literal_count(&mut bytes, *delta),
                Action::BareLf => bytes = transform::bare_lf(&bytes),
                Action::InvalidUtf8 => transform::invalid_utf8(&mut bytes),
                Action::WrongTag(tag) => transform::wrong_tag(reply.kind, &mut bytes, tag),
                Action::DropCapability(cap) => {
                    bytes = transform::capabilities(protocol, &bytes, CapEdit::Drop(cap));
                }
                Action::RenameCapability(from, to) => {
                    bytes = transform::capabilities(protocol, &bytes, CapEdit::Rename(from, to));
                }
                Action::AddCapability(cap) => {
                    bytes = transform::capabilities(protocol, &bytes, CapEdit::Add(cap));
                }
            }
        }
        let mut out = std::mem::take(&mut self.held);
        out.extend_from_slice(&before);
        // `truncate N` with `close`, `reset` or `stall` on the same reply: its first N bytes
        // go out, then the connection ends or goes silent (a connection cut mid-line).
        if !dropped || truncated {
            out.extend_from_slice(&bytes);
        }
        out.extend_from_slice(&after);
        if hold && then == Then::Continue {
            self.held = out;
            return Plan::default();
        }
        Plan {
            writes: shape.writes(out, delay),
            then,
        }
    }
}

/// How a reply's bytes are cut into writes.
enum Shape {
    Whole,
    Every(usize),
    At(Vec<usize>),
    Throttle(u32),
}

impl Shape {
    fn writes(self, bytes: Vec<u8>, delay: Duration) -> Vec<Write> {
        let (segments, gap) = match self {
            Shape::Whole => (vec![bytes], Duration::ZERO),
            Shape::Every(n) => (transform::segments_of(bytes, n), Duration::ZERO),
            Shape::At(offsets) => (transform::segments_at(bytes, &offsets), Duration::ZERO),
            Shape::Throttle(rate) => {
                // Ten writes a second, each a tenth of the rate (at least a byte).
                let size = (rate as usize / 10).max(1);
                let gap = Duration::from_secs_f64(size as f64 / f64::from(rate.max(1)));
                (transform::segments_of(bytes, size), gap)
            }
        };
        segments
            .into_iter()
            .enumerate()
            .map(|(i, bytes)| Write {
                delay: if i == 0 { delay } else { gap },
                bytes,
            })
            .collect()
    }
}

/// Counts an occurrence of the rule's event (`state.seen`) and says whether the rule fires in
/// it: its `#N` is this occurrence and its random draw, if any, succeeds.
fn counted(when: &Trigger, state: &mut RuleState) -> bool {
    state.seen += 1;
    let seen = state.seen;
    when.nth.is_none_or(|n| n == seen) && when.random.is_none_or(|r| chance(&mut state.rng) < r.p)
}

/// Whether `rule` applies to this connection at all: its protocol, connection number and
/// client address.
fn scoped(rule: &Rule, protocol: Protocol, number: u32, peer: Option<IpAddr>) -> bool {
    let when = &rule.when;
    when.protocol.is_none_or(|p| p == protocol)
        && when.connection.is_none_or(|n| n == number)
        && when.from.is_none_or(|from| peer == Some(from))
}

/// Whether `rule` acts on a reply of `kind`, the `nth` of its kind and `total`th in its step;
/// `data` is its data response's name and how many of that name the step has had so far.
fn selects(rule: &Rule, kind: ReplyKind, data: Option<(&str, u32)>, nth: u32, total: u32) -> bool {
    if matches!(rule.when.event, Event::Untagged(_)) {
        return false;
    }
    match &rule.when.response {
        None => kind != ReplyKind::Untagged,
        Some(response) => match (&response.data, response.kind) {
            (Some(want), _) => data.is_some_and(|(name, count)| {
                name.eq_ignore_ascii_case(want) && response.nth.is_none_or(|n| n == count)
            }),
            (None, None) => response.nth.is_none_or(|n| n == total),
            (None, Some(want)) => want == kind && response.nth.is_none_or(|n| n == nth),
        },
    }
}

/// `NO [OVERQUOTA] quota exceeded` (or `BAD ...`) as an IMAP refusal; `None` for any other
/// status (an `OK` rewrites the reply but refuses nothing).
fn imap_refusal(text: &str) -> Option<ImapRefusal> {
    let (status, rest) = text.split_once(' ').unwrap_or((text, ""));
    let bad = match status.to_ascii_uppercase().as_str() {
        "NO" => false,
        "BAD" => true,
        _ => return None,
    };
    let rest = rest.trim_start();
    let (code, text) = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((code, text)) => (Some(code.to_owned()), text.trim_start()),
        None => (None, rest),
    };
    Some(ImapRefusal {
        bad,
        code,
        text: text.to_owned(),
    })
}

/// `452 4.2.2 mailbox full` as a refusal; `None` unless it starts with a 4xx/5xx code.
fn smtp_refusal(text: &str) -> Option<Refusal> {
    let code: u16 = text.get(..3)?.parse().ok()?;
    if !(400..600).contains(&code) {
        return None;
    }
    let rest = text.get(3..).unwrap_or("").trim_start_matches([' ', '-']);
    Some(Refusal {
        code,
        text: rest.to_owned(),
    })
}

/// A number in [0, 1) from splitmix64 (deterministic, no dependency).
fn chance(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}
