//! Mutations: one change each to the server side of a canonical scenario, legal (a correct
//! client must behave exactly as under the canonical) or hostile (it must survive), and how
//! a list of them turns the canonical into a new scenario.

use std::fmt;
use std::time::Duration;

use mailrig_fault::{Action, Rule};
use mailrig_transcript::scenario::{Directive, Item, Line, Part, Presence, Side, Step, StepKind};

use crate::canonical::{Canonical, ServerLine};
use crate::imap;

/// One change to the canonical scenario's server side. `line` fields index its `S:` lines
/// (0-based, in file order); a mutation aimed at a line it does not apply to changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    /// Legal: a write boundary (`${|}`) `at` bytes into the line (modulo its length + 1; 0
    /// ends the previous write): TCP segmentation, and multi-line replies split differently.
    Split {
        /// The line.
        line: usize,
        /// The byte offset.
        at: usize,
    },
    /// Legal: `@sleep` before the line.
    Sleep {
        /// The line.
        line: usize,
        /// Milliseconds.
        ms: u8,
    },
    /// Legal (IMAP): the response's keyword or status word in lower or alternating case.
    KeywordCase {
        /// The line.
        line: usize,
        /// Alternating (`Ok`, `ExIsTs`) rather than lower case.
        alternate: bool,
    },
    /// Legal (IMAP): a string written as a literal: a LIST line's mailbox, or the `nth`
    /// quoted string of a FETCH line.
    Literal {
        /// The line.
        line: usize,
        /// Which quoted string of a FETCH line.
        nth: usize,
    },
    /// Legal: another order for FETCH items, CAPABILITY words, or (SMTP) the keyword lines of
    /// an EHLO reply (at its first line); each swap's indices are taken modulo the count.
    Permute {
        /// The line.
        line: usize,
        /// Transpositions.
        swaps: Vec<(u8, u8)>,
    },
    /// Legal (IMAP): an extra untagged response before a tagged completion.
    Extra {
        /// The tagged line.
        line: usize,
        /// Which response.
        extra: Extra,
    },
    /// Hostile, but to be ignored (RFC 3207 §4.2, RFC 9051 §11.1): a response in the same
    /// write as the STARTTLS go-ahead, in plaintext; a correct client discards it.
    InjectAfterStartTls,
    /// Hostile: the line replaced by malformed bytes.
    Garbage {
        /// The line.
        line: usize,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Hostile (IMAP): the line's first literal announces `delta` more (or fewer) bytes.
    LiteralCount {
        /// The line.
        line: usize,
        /// The change, never 0.
        delta: i8,
    },
    /// Hostile (IMAP): the line's first literal announces 4294967295 bytes.
    HugeLiteral {
        /// The line.
        line: usize,
    },
    /// Hostile (IMAP): a tagged completion carries a tag the client never sent.
    WrongTag {
        /// The line.
        line: usize,
    },
    /// Hostile, a fault rule (`bye`): instead of the reply holding the line, the server says
    /// goodbye (`* BYE` / `421`) and closes.
    Bye {
        /// The line.
        line: usize,
    },
    /// Hostile, a fault rule (`stall`): instead of the reply holding the line, the server
    /// sends nothing more and waits for the client to give up and close.
    Stall {
        /// The line.
        line: usize,
    },
    /// Hostile, fault rules (`truncate` and `close`): the reply is cut `at` bytes into the
    /// line (modulo its length) and the server closes (FIN).
    Cut {
        /// The line.
        line: usize,
        /// The byte offset (modulo the line's length).
        at: usize,
    },
    /// Hostile, a fault rule (`reset`): instead of the reply holding the line, the server
    /// resets the connection (RST).
    Reset {
        /// The line.
        line: usize,
    },
    /// Hostile: bytes a line must not carry, inserted `at` bytes into it.
    Bytes {
        /// The line.
        line: usize,
        /// The byte offset (modulo the line's length + 1).
        at: usize,
        /// Which bytes.
        bad: BadBytes,
    },
}

/// An extra untagged IMAP response a server may send before any tagged completion (RFC 9051
/// §7: "the server MAY send untagged responses at any time"), each chosen so that it tells the
/// client nothing new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extra {
    /// `* N EXISTS` with the count the client already knows (selected state only).
    Exists,
    /// `* OK [ALERT] ...` (RFC 9051 §7.1: shown to the user, changes no state).
    Alert,
    /// `* CAPABILITY ...` with the list the client already knows.
    Capability,
    /// `* N FETCH (FLAGS (...))` with flags the client was already told.
    FetchFlags,
}

/// Bytes a protocol line must not carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadBytes {
    /// `FF FE`, invalid UTF-8.
    InvalidUtf8,
    /// A NUL byte.
    Nul,
    /// A bare CR.
    BareCr,
    /// A bare LF.
    BareLf,
}

impl BadBytes {
    fn bytes(self) -> &'static [u8] {
        match self {
            BadBytes::InvalidUtf8 => b"\xff\xfe",
            BadBytes::Nul => b"\0",
            BadBytes::BareCr => b"\r",
            BadBytes::BareLf => b"\n",
        }
    }
}

impl Mutation {
    /// Every kind's name, as [`Mutation::kind`] gives it.
    pub const KINDS: [&'static str; 16] = [
        "split",
        "sleep",
        "keyword-case",
        "literal",
        "permute",
        "extra",
        "inject-after-starttls",
        "garbage",
        "literal-count",
        "huge-literal",
        "wrong-tag",
        "bye",
        "stall",
        "cut",
        "reset",
        "bytes",
    ];

    /// The kind's name (`split`, `keyword-case`, ...), as `mailrig fuzz --skip` takes it.
    pub fn kind(&self) -> &'static str {
        match self {
            Mutation::Split { .. } => "split",
            Mutation::Sleep { .. } => "sleep",
            Mutation::KeywordCase { .. } => "keyword-case",
            Mutation::Literal { .. } => "literal",
            Mutation::Permute { .. } => "permute",
            Mutation::Extra { .. } => "extra",
            Mutation::InjectAfterStartTls => "inject-after-starttls",
            Mutation::Garbage { .. } => "garbage",
            Mutation::LiteralCount { .. } => "literal-count",
            Mutation::HugeLiteral { .. } => "huge-literal",
            Mutation::WrongTag { .. } => "wrong-tag",
            Mutation::Bye { .. } => "bye",
            Mutation::Stall { .. } => "stall",
            Mutation::Cut { .. } => "cut",
            Mutation::Reset { .. } => "reset",
            Mutation::Bytes { .. } => "bytes",
        }
    }

    /// Whether a correct client must behave exactly as under the canonical scenario with
    /// this mutation applied (legal variations, and the injection it must discard).
    pub fn keeps_outcome(&self) -> bool {
        matches!(
            self,
            Mutation::Split { .. }
                | Mutation::Sleep { .. }
                | Mutation::KeywordCase { .. }
                | Mutation::Literal { .. }
                | Mutation::Permute { .. }
                | Mutation::Extra { .. }
                | Mutation::InjectAfterStartTls
        )
    }

    /// The fault rules this mutation adds to the case scenario's `faults:` header (the
    /// protocol-step faults: `bye`, `stall`, `cut`, `reset`), aimed at the reply holding its
    /// line in the canonical; none for a mutation written into the lines themselves.
    pub(crate) fn rules(&self, canonical: &Canonical) -> Vec<Rule> {
        let (line, actions) = match self {
            Mutation::Bye { line } => (
                *line,
                vec![Action::Bye(Some("mailrig fuzz: going away".to_owned()))],
            ),
            Mutation::Stall { line } => (*line, vec![Action::Stall]),
            Mutation::Reset { line } => (*line, vec![Action::Reset]),
            Mutation::Cut { line, at } => {
                let Some(len) = canonical
                    .lines()
                    .get(*line)
                    .and_then(|l| l.flat.as_ref())
                    .map(Vec::len)
                else {
                    return Vec::new();
                };
                let Some(start) = canonical.target(*line).and_then(|t| t.offset) else {
                    return Vec::new();
                };
                let keep = start + at % len.max(1);
                (*line, vec![Action::Truncate(keep), Action::Close])
            }
            _ => return Vec::new(),
        };
        let Some(target) = canonical.target(line) else {
            return Vec::new();
        };
        actions.into_iter().map(|action| target.rule(action)).collect()
    }
}

impl fmt::Display for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mutation::Split { line, at } => write!(f, "server line {line}: write boundary at byte {at}"),
            Mutation::Sleep { line, ms } => write!(f, "server line {line}: sleep {ms}ms before it"),
            Mutation::KeywordCase { line, alternate } => {
                let style = if *alternate { "alternating" } else { "lower" };
                write!(f, "server line {line}: keyword in {style} case")
            }
            Mutation::Literal { line, nth } => write!(f, "server line {line}: string {nth} as a literal"),
            Mutation::Permute { line, swaps } => {
                write!(f, "server line {line}: reordered by swaps {swaps:?}")
            }
            Mutation::Extra { line, extra } => {
                write!(f, "server line {line}: extra {extra:?} response before it")
            }
            Mutation::InjectAfterStartTls => write!(f, "a response injected after the STARTTLS go-ahead"),
            Mutation::Garbage { line, bytes } => {
                write!(
                    f,
                    "server line {line}: replaced by {:?}",
                    String::from_utf8_lossy(bytes)
                )
            }
            Mutation::LiteralCount { line, delta } => {
                write!(f, "server line {line}: literal count {delta:+}")
            }
            Mutation::HugeLiteral { line } => write!(f, "server line {line}: a 4 GiB literal announced"),
            Mutation::WrongTag { line } => write!(f, "server line {line}: a tag never sent"),
            Mutation::Bye { line } => write!(f, "server line {line}: goodbye and close instead of its reply"),
            Mutation::Stall { line } => write!(f, "server line {line}: silence from its reply on"),
            Mutation::Cut { line, at } => write!(f, "server line {line}: cut at byte {at}, then close"),
            Mutation::Reset { line } => {
                write!(f, "server line {line}: connection reset instead of its reply")
            }
            Mutation::Bytes { line, at, bad } => write!(f, "server line {line}: {bad:?} at byte {at}"),
        }
    }
}

/// The scenario being built: per body item of the canonical, what goes before it, the item
/// (possibly changed) and what goes after it.
pub(crate) struct Draft<'a> {
    canonical: &'a Canonical,
    slots: Vec<Slot>,
}

struct Slot {
    before: Vec<Item>,
    item: Item,
    after: Vec<Item>,
}

impl<'a> Draft<'a> {
    pub(crate) fn new(canonical: &'a Canonical) -> Draft<'a> {
        let slots = canonical
            .scenario()
            .body
            .iter()
            .map(|item| Slot {
                before: Vec::new(),
                item: item.clone(),
                after: Vec::new(),
            })
            .collect();
        Draft { canonical, slots }
    }

    /// Applies the mutations written into the lines: content changes first, then insertions,
    /// then write boundaries and sleeps (so line indices always mean the canonical's lines).
    /// The fault-rule kinds change no line ([`Mutation::rules`]).
    pub(crate) fn apply(mut self, mutations: &[Mutation]) -> Vec<Item> {
        for phase in 0..3 {
            for m in mutations {
                if phase_of(m) == Some(phase) {
                    self.apply_one(m);
                }
            }
        }
        self.slots
            .into_iter()
            .flat_map(|s| s.before.into_iter().chain([s.item]).chain(s.after))
            .collect()
    }

    fn info(&self, line: usize) -> Option<&'a ServerLine> {
        self.canonical.lines().get(line)
    }

    fn line_mut(&mut self, item: usize) -> Option<&mut Line> {
        match &mut self.slots.get_mut(item)?.item {
            Item::Step(Step {
                kind: StepKind::Line(line),
                ..
            }) => Some(line),
            _ => None,
        }
    }

    /// Replaces the line's content by `f` of its current bytes (flat lines only).
    fn rewrite(&mut self, line: usize, f: impl FnOnce(&[u8]) -> Option<Vec<u8>>) {
        let Some(info) = self.info(line) else { return };
        let Some(target) = self.line_mut(info.item) else {
            return;
        };
        let Some(bytes) = crate::canonical::flatten(target) else {
            return;
        };
        if let Some(new) = f(&bytes) {
            target.parts = text_parts(new);
        }
    }

    fn apply_one(&mut self, m: &Mutation) {
        match m {
            Mutation::KeywordCase { line, alternate } => self.keyword_case(*line, *alternate),
            Mutation::Literal { line, nth } => self.rewrite(*line, |b| imap::literal_string(b, *nth)),
            Mutation::Permute { line, swaps } => self.permute(*line, swaps),
            Mutation::Garbage { line, bytes } => self.rewrite(*line, |_| Some(bytes.clone())),
            Mutation::LiteralCount { line, delta } => self.literal_count(*line, |n| {
                let changed = i64::try_from(n).unwrap_or(0) + i64::from(*delta);
                u64::try_from(changed.max(0)).unwrap_or(0)
            }),
            Mutation::HugeLiteral { line } => self.literal_count(*line, |_| u64::from(u32::MAX)),
            Mutation::WrongTag { line } => self.wrong_tag(*line),
            Mutation::Extra { line, extra } => self.extra(*line, *extra),
            Mutation::InjectAfterStartTls => self.inject(),
            Mutation::Bytes { line, at, bad } => self.rewrite(*line, |b| {
                let at = at % (b.len() + 1);
                let mut out = b[..at].to_vec();
                out.extend_from_slice(bad.bytes());
                out.extend_from_slice(&b[at..]);
                Some(out)
            }),
            Mutation::Split { line, at } => self.split(*line, *at),
            Mutation::Sleep { line, ms } => self.sleep(*line, *ms),
            Mutation::Bye { .. } | Mutation::Stall { .. } | Mutation::Cut { .. } | Mutation::Reset { .. } => {
            }
        }
    }

    fn keyword_case(&mut self, line: usize, alternate: bool) {
        let Some(info) = self.info(line) else { return };
        if !info.imap {
            return;
        }
        if !info.tagged {
            self.rewrite(line, |b| imap::keyword_case(b, alternate));
            return;
        }
        let Some(target) = self.line_mut(info.item) else {
            return;
        };
        if let Some(Part::Text(text)) = target.parts.get_mut(1)
            && text.first() == Some(&b' ')
        {
            imap::recase_word(&mut text[1..], alternate);
        }
    }

    fn permute(&mut self, line: usize, swaps: &[(u8, u8)]) {
        let Some(info) = self.info(line) else { return };
        if info.ehlo_start {
            self.permute_ehlo(line, swaps);
        } else if info.imap {
            self.rewrite(line, |b| {
                imap::permute_fetch(b, swaps).or_else(|| imap::permute_capability(b, swaps))
            });
        }
    }

    /// Reorders the keyword lines (all but the first) of the EHLO reply starting at `line`,
    /// keeping `250-` on every line but the last.
    fn permute_ehlo(&mut self, line: usize, swaps: &[(u8, u8)]) {
        let lines = self.canonical.lines();
        let session = lines[line].session;
        let mut group = vec![line];
        for next in line + 1..lines.len() {
            let prev = &lines[next - 1];
            let continues = prev.flat.as_deref().is_some_and(|f| f.starts_with(b"250-"));
            if lines[next].session != session || !continues || lines[next].command != lines[line].command {
                break;
            }
            group.push(next);
        }
        let keywords: Vec<usize> = group[1..].to_vec();
        let mut texts: Vec<Vec<u8>> = keywords
            .iter()
            .filter_map(|i| {
                lines[*i]
                    .flat
                    .as_ref()
                    .map(|f| f.get(4..).unwrap_or_default().to_vec())
            })
            .collect();
        if texts.len() != keywords.len() {
            return;
        }
        imap::apply_swaps(&mut texts, swaps);
        let last = keywords.len().saturating_sub(1);
        for (k, (i, text)) in keywords.iter().zip(texts).enumerate() {
            let mut bytes = if k == last {
                b"250 ".to_vec()
            } else {
                b"250-".to_vec()
            };
            bytes.extend_from_slice(&text);
            self.rewrite(*i, |_| Some(bytes));
        }
    }

    fn literal_count(&mut self, line: usize, f: impl FnOnce(u64) -> u64) {
        self.rewrite(line, |b| {
            let (start, end) = imap::first_literal_count(b)?;
            let n: u64 = std::str::from_utf8(&b[start..end]).ok()?.parse().ok()?;
            let mut out = b[..start].to_vec();
            out.extend_from_slice(f(n).to_string().as_bytes());
            out.extend_from_slice(&b[end..]);
            Some(out)
        });
    }

    fn wrong_tag(&mut self, line: usize) {
        let Some(info) = self.info(line) else { return };
        if !info.tagged {
            return;
        }
        if let Some(target) = self.line_mut(info.item) {
            target.parts[0] = Part::Text(b"X999".to_vec());
            target.parts = normalize(std::mem::take(&mut target.parts));
        }
    }

    fn extra(&mut self, line: usize, extra: Extra) {
        let Some(info) = self.info(line) else { return };
        if !info.tagged || matches!(info.command.as_str(), "STARTTLS" | "LOGOUT" | "AUTHENTICATE") {
            return;
        }
        let bytes = match extra {
            Extra::Exists => info.exists.map(|n| format!("* {n} EXISTS").into_bytes()),
            Extra::Alert => Some(b"* OK [ALERT] mailrig fuzz: nothing to worry about".to_vec()),
            Extra::Capability => info
                .capability
                .as_ref()
                .map(|words| [b"* CAPABILITY ", &words[..]].concat()),
            Extra::FetchFlags => info
                .flags
                .as_ref()
                .map(|(n, flags)| [format!("* {n} FETCH (FLAGS ").as_bytes(), flags, b")"].concat()),
        };
        if let Some(bytes) = bytes {
            let step = server_step(info.session, bytes);
            self.slots[info.item].before.push(step);
        }
    }

    fn inject(&mut self) {
        let Some(info) = self.canonical.lines().iter().find(|l| l.starttls_go_ahead) else {
            return;
        };
        let bytes = if info.imap {
            b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected before TLS".to_vec()
        } else {
            b"250 injected before TLS".to_vec()
        };
        let step = server_step(info.session, bytes);
        self.slots[info.item].after.push(step);
    }

    fn split(&mut self, line: usize, at: usize) {
        let Some(info) = self.info(line) else { return };
        let Some(target) = self.line_mut(info.item) else {
            return;
        };
        let total: usize = target
            .parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.len(),
                _ => 0,
            })
            .sum();
        let mut left = at % (total + 1);
        let mut parts = Vec::with_capacity(target.parts.len() + 2);
        let mut placed = false;
        for part in std::mem::take(&mut target.parts) {
            match part {
                Part::Text(t) if !placed && left < t.len() => {
                    let (a, b) = t.split_at(left);
                    parts.extend([Part::Text(a.to_vec()), Part::Split, Part::Text(b.to_vec())]);
                    placed = true;
                }
                Part::Text(t) if !placed => {
                    left -= t.len();
                    parts.push(Part::Text(t));
                }
                other => parts.push(other),
            }
        }
        if !placed {
            parts.push(Part::Split);
        }
        target.parts = normalize(parts);
    }

    fn sleep(&mut self, line: usize, ms: u8) {
        let Some(info) = self.info(line) else { return };
        let step = Step {
            pos: Default::default(),
            session: info.session,
            kind: StepKind::Directive(Directive::Sleep(Duration::from_millis(u64::from(ms)))),
        };
        self.slots[info.item].before.push(Item::Step(step));
    }
}

fn phase_of(m: &Mutation) -> Option<u8> {
    Some(match m {
        Mutation::KeywordCase { .. }
        | Mutation::Literal { .. }
        | Mutation::Permute { .. }
        | Mutation::Garbage { .. }
        | Mutation::LiteralCount { .. }
        | Mutation::HugeLiteral { .. }
        | Mutation::WrongTag { .. } => 0,
        Mutation::Extra { .. } | Mutation::InjectAfterStartTls | Mutation::Bytes { .. } => 1,
        Mutation::Split { .. } | Mutation::Sleep { .. } => 2,
        Mutation::Bye { .. } | Mutation::Stall { .. } | Mutation::Cut { .. } | Mutation::Reset { .. } => {
            return None;
        }
    })
}

fn server_step(session: usize, bytes: Vec<u8>) -> Item {
    Item::Step(Step {
        pos: Default::default(),
        session,
        kind: StepKind::Line(Line {
            side: Side::Server,
            presence: Presence::Required,
            exact_case: false,
            parts: text_parts(bytes),
            crlf: true,
        }),
    })
}

fn text_parts(bytes: Vec<u8>) -> Vec<Part> {
    if bytes.is_empty() {
        Vec::new()
    } else {
        vec![Part::Text(bytes)]
    }
}

/// Merges adjacent text parts, drops empty ones and doubled write boundaries (the model's
/// invariants, which the printer relies on).
fn normalize(parts: Vec<Part>) -> Vec<Part> {
    let mut out: Vec<Part> = Vec::with_capacity(parts.len());
    for part in parts {
        match (out.last_mut(), part) {
            (_, Part::Text(t)) if t.is_empty() => {}
            (Some(Part::Text(prev)), Part::Text(t)) => prev.extend_from_slice(&t),
            (Some(Part::Split), Part::Split) => {}
            (_, part) => out.push(part),
        }
    }
    out
}
