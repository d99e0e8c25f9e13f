//! The text form of rules (`rcpt#2: reply 452 4.2.2 mailbox full`), for the CLI and scenario
//! headers. Reference with examples: docs/faults.md.
//!
//! ```text
//! rule     = trigger ":" action
//! trigger  = *prefix event ["#" N] *modifier
//! prefix   = "smtp" | "imap" | "from" IP | "random(" ["seed=" N ","] "p=" P ")"  ; any order
//! event    = "connect" | "tls" | "greeting" | "data-end" | "chunk" | "literal" | "sasl"
//!          | "unknown" | "shutdown" | "any" | "untagged" NAME | VERB  ; "UID FETCH" is two words
//! modifier = "<" address ">" | "conn#" N | "from" IP | "untagged" [NAME] ["#" N]
//!          | ("continuation" | "final" | "tagged" | "each") ["#" N]
//! ```
//!
//! NAME is an IMAP data response's name (`EXISTS`, `FETCH`): a word that is not one of the
//! modifier keywords.

use std::net::IpAddr;
use std::time::Duration;

use crate::reply::{Protocol, ReplyKind};
use crate::rule::{Action, Event, Position, Random, Response, Rule, Trigger};

/// A rule that does not parse: where, what was expected there, and what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: expected {expected}, found {found}")]
pub struct ParseError {
    /// 1-based column (in bytes) of the problem.
    pub column: usize,
    /// What would have been accepted there.
    pub expected: String,
    /// What was there (`end of rule` at the end).
    pub found: String,
}

impl ParseError {
    /// The rule with a caret under the problem and the message, compiler-style.
    pub fn render(&self, rule: &str) -> String {
        format!("{rule}\n{}^ {self}", " ".repeat(self.column.saturating_sub(1)))
    }
}

impl Rule {
    /// Parses one rule from its text form, and [validates](Rule::validate) it.
    pub fn parse(text: &str) -> Result<Rule, ParseError> {
        let mut p = Parser { text, pos: 0 };
        let when = p.trigger()?;
        p.skip_space();
        p.expect(":", "`:` between the trigger and the action")?;
        let start = p.pos;
        let action = p.action()?;
        p.skip_space();
        if p.pos < text.len() {
            return Err(p.error("the end of the rule"));
        }
        let rule = Rule { when, action };
        rule.validate().map_err(|e| ParseError {
            column: start + 1,
            expected: "an action this event allows".to_owned(),
            found: e.to_string(),
        })?;
        Ok(rule)
    }
}

impl TryFrom<&str> for Rule {
    type Error = ParseError;

    fn try_from(text: &str) -> Result<Rule, ParseError> {
        Rule::parse(text)
    }
}

impl std::str::FromStr for Rule {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Rule, ParseError> {
        Rule::parse(text)
    }
}

/// The words that start a modifier (so they cannot be a data response's name).
const MODIFIERS: &[&str] = &[
    "conn",
    "from",
    "untagged",
    "continuation",
    "final",
    "tagged",
    "each",
];

/// Event keywords (anything else is a command verb).
const EVENTS: &[(&str, Event)] = &[
    ("connect", Event::Connect),
    ("tls", Event::Tls),
    ("greeting", Event::Greeting),
    ("data-end", Event::DataEnd),
    ("chunk", Event::Chunk),
    ("literal", Event::Literal),
    ("sasl", Event::Sasl),
    ("unknown", Event::Unknown),
    ("shutdown", Event::Shutdown),
    ("any", Event::Any),
];

const ACTIONS: &str = "an action (reply, bye, close, reset, delay, throttle, stall, split, merge, \
                       inject, truncate, literal-count, bare-lf, invalid-utf8, wrong-tag, \
                       drop-cap, rename-cap, add-cap)";

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn error(&self, expected: &str) -> ParseError {
        let rest = self.rest();
        let found = match rest.split_whitespace().next() {
            None => "end of rule".to_owned(),
            Some(word) => format!("`{}`", word.chars().take(20).collect::<String>()),
        };
        ParseError {
            column: self.pos + 1,
            expected: expected.to_owned(),
            found,
        }
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, s: &str, what: &str) -> Result<(), ParseError> {
        if self.eat(s) {
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    /// A word: letters, digits, `-`, `_`, `.`, `=`, `+`, `/` (capability names, verbs).
    fn word(&mut self) -> &str {
        let start = self.pos;
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.=+/".contains(c)))
            .unwrap_or(self.rest().len());
        self.pos += len;
        &self.text[start..self.pos]
    }

    /// The next word without consuming it, lower-cased.
    fn peek_word(&mut self) -> String {
        let at = self.pos;
        let word = self.word().to_ascii_lowercase();
        self.pos = at;
        word
    }

    fn number<T: std::str::FromStr>(&mut self, what: &str) -> Result<T, ParseError> {
        let start = self.pos;
        let len = self
            .rest()
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.rest().len());
        self.pos += len;
        self.text[start..self.pos].parse().map_err(|_| {
            self.pos = start;
            self.error(what)
        })
    }

    fn trigger(&mut self) -> Result<Trigger, ParseError> {
        self.skip_space();
        let mut trigger = Trigger::on(Event::Any);
        // The prefixes, in any order.
        loop {
            match self.peek_word().as_str() {
                "smtp" if trigger.protocol.is_none() => trigger.protocol = Some(Protocol::Smtp),
                "imap" if trigger.protocol.is_none() => trigger.protocol = Some(Protocol::Imap),
                "from" if trigger.from.is_none() => {
                    self.word();
                    self.skip_space();
                    trigger.from = Some(self.ip()?);
                    self.skip_space();
                    continue;
                }
                _ if trigger.random.is_none() && self.eat("random(") => {
                    trigger.random = Some(self.random()?);
                    self.skip_space();
                    continue;
                }
                _ => break,
            }
            self.word();
            self.skip_space();
        }
        trigger.event = self.event()?;
        if self.eat("#") {
            trigger.nth = Some(self.count("an occurrence number after `#` (1, 2, ...)")?);
        }
        self.modifiers(&mut trigger)?;
        Ok(trigger)
    }

    /// A 1-based count.
    fn count(&mut self, what: &str) -> Result<u32, ParseError> {
        let at = self.pos;
        let n: u32 = self.number(what)?;
        if n == 0 {
            self.pos = at;
            return Err(self.error(what));
        }
        Ok(n)
    }

    /// `seed=N, p=P)` in either order, seed optional (after `random(`).
    fn random(&mut self) -> Result<Random, ParseError> {
        let mut random = Random { seed: None, p: -1.0 };
        loop {
            self.skip_space();
            if self.eat("seed=") {
                random.seed = Some(self.number("a seed (a whole number)")?);
            } else if self.eat("p=") {
                let start = self.pos;
                let len = self
                    .rest()
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .unwrap_or(self.rest().len());
                self.pos += len;
                random.p = match self.text[start..self.pos].parse::<f64>() {
                    Ok(p) if (0.0..=1.0).contains(&p) => p,
                    _ => {
                        self.pos = start;
                        return Err(self.error("a probability from 0 to 1 (`p=0.1`)"));
                    }
                };
            } else {
                return Err(self.error("`seed=N` or `p=P` in random(...)"));
            }
            self.skip_space();
            if self.eat(")") {
                break;
            }
            self.expect(",", "`,` or `)` in random(...)")?;
        }
        if random.p < 0.0 {
            return Err(self.error("`p=P` in random(...)"));
        }
        Ok(random)
    }

    fn event(&mut self) -> Result<Event, ParseError> {
        let at = self.pos;
        let word = self.word().to_owned();
        if word.is_empty() || !word.starts_with(|c: char| c.is_ascii_alphabetic()) {
            self.pos = at;
            return Err(self.error(
                "an event (connect, tls, greeting, data-end, chunk, literal, sasl, unknown, \
                 shutdown, any) or a command verb (rcpt, starttls, FETCH, ...)",
            ));
        }
        let lower = word.to_ascii_lowercase();
        if let Some((_, event)) = EVENTS.iter().find(|(name, _)| *name == lower) {
            return Ok(event.clone());
        }
        if lower == "untagged" {
            self.skip_space();
            return match self.data_name() {
                Some(name) => Ok(Event::untagged(&name)),
                None => Err(self.error("a data response's name after `untagged` (EXISTS, FETCH, ...)")),
            };
        }
        if lower == "uid" {
            let before = self.pos;
            self.skip_space();
            let next = self.word().to_owned();
            if next.is_empty() {
                self.pos = before;
                return Err(self.error("a UID command (`UID FETCH`, ...)"));
            }
            return Ok(Event::command(&format!("UID {next}")));
        }
        Ok(Event::command(&word))
    }

    fn modifiers(&mut self, trigger: &mut Trigger) -> Result<(), ParseError> {
        loop {
            self.skip_space();
            if self.rest().starts_with(':') || self.rest().is_empty() {
                return Ok(());
            }
            if self.eat("<") {
                let end = self
                    .rest()
                    .find('>')
                    .ok_or_else(|| self.error("an address ending in `>`"))?;
                trigger.address = Some(self.rest()[..end].to_owned());
                self.pos += end + 1;
                continue;
            }
            let at = self.pos;
            let word = self.word().to_ascii_lowercase();
            let kind = match word.as_str() {
                "conn" => {
                    self.expect("#", "`#` after `conn` (conn#2)")?;
                    trigger.connection = Some(self.count("a connection number (1, 2, ...)")?);
                    continue;
                }
                "from" => {
                    self.skip_space();
                    trigger.from = Some(self.ip()?);
                    continue;
                }
                "untagged" => Some(ReplyKind::Untagged),
                "continuation" => Some(ReplyKind::Continuation),
                "final" | "tagged" => Some(ReplyKind::Final),
                "each" => None,
                _ => {
                    self.pos = at;
                    return Err(self.error(
                        "`:`, `<address>`, `conn#N`, `from IP` or a response (untagged [NAME], \
                         continuation, final, tagged, each)",
                    ));
                }
            };
            let data = if kind == Some(ReplyKind::Untagged) && !self.rest().starts_with('#') {
                let before = self.pos;
                self.skip_space();
                let name = self.data_name();
                if name.is_none() {
                    self.pos = before;
                }
                name
            } else {
                None
            };
            let nth = if self.eat("#") {
                Some(self.count("a response number (1, 2, ...)")?)
            } else {
                None
            };
            trigger.response = Some(Response { kind, nth, data });
        }
    }

    /// A data response's name (`EXISTS`), upper-cased; `None` (nothing consumed) when the
    /// next word is not one: a modifier keyword, or not a word of letters.
    fn data_name(&mut self) -> Option<String> {
        let at = self.pos;
        let word = self.word().to_owned();
        let lower = word.to_ascii_lowercase();
        if word.is_empty()
            || !word.chars().all(|c| c.is_ascii_alphabetic())
            || MODIFIERS.contains(&lower.as_str())
        {
            self.pos = at;
            return None;
        }
        Some(word.to_ascii_uppercase())
    }

    /// An IPv4 or IPv6 address (no brackets, no port).
    fn ip(&mut self) -> Result<IpAddr, ParseError> {
        let start = self.pos;
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':'))
            .unwrap_or(self.rest().len());
        // A trailing `:` is the one before the action (`from 127.0.0.2: close`).
        let text = self.rest()[..len].trim_end_matches(':');
        match text.parse::<IpAddr>() {
            Ok(ip) => {
                self.pos += text.len();
                Ok(ip)
            }
            Err(_) => {
                self.pos = start;
                Err(self.error("a client's IP address (`from 127.0.0.2`, `from ::1`)"))
            }
        }
    }

    fn action(&mut self) -> Result<Action, ParseError> {
        self.skip_space();
        let at = self.pos;
        let name = self.word().to_ascii_lowercase();
        self.skip_space();
        let action = match name.as_str() {
            "reply" => Action::Reply(self.text_arg("the reply's text (`452 4.2.2 full`)")?),
            "bye" => {
                let text = self.rest().trim_end();
                let text = (!text.is_empty()).then(|| text.to_owned());
                self.pos = self.text.len();
                Action::Bye(text)
            }
            "close" => Action::Close,
            "reset" => Action::Reset,
            "stall" => Action::Stall,
            "merge" => Action::Merge,
            "bare-lf" => Action::BareLf,
            "invalid-utf8" => Action::InvalidUtf8,
            "delay" => Action::Delay(self.duration()?),
            "throttle" => Action::Throttle(self.count("bytes per second (throttle 100)")?),
            "split" => self.split()?,
            "inject" => self.inject()?,
            "truncate" => Action::Truncate(self.number("a byte count (truncate 10)")?),
            "literal-count" => Action::LiteralCount(self.delta()?),
            "wrong-tag" => {
                let tag = self.word().to_owned();
                Action::WrongTag(if tag.is_empty() { "X999".to_owned() } else { tag })
            }
            "drop-cap" => Action::DropCapability(self.capability()?),
            "add-cap" => Action::AddCapability(self.capability()?),
            "rename-cap" => {
                let from = self.capability()?;
                self.skip_space();
                Action::RenameCapability(from, self.capability()?)
            }
            _ => {
                self.pos = at;
                return Err(self.error(ACTIONS));
            }
        };
        Ok(action)
    }

    /// The rest of the rule, or a quoted string.
    fn text_arg(&mut self, what: &str) -> Result<String, ParseError> {
        if self.rest().starts_with('"') {
            let bytes = self.quoted()?;
            return String::from_utf8(bytes).map_err(|_| self.error("UTF-8 text (use inject for bytes)"));
        }
        let text = self.rest().trim_end().to_owned();
        if text.is_empty() {
            return Err(self.error(what));
        }
        self.pos = self.text.len();
        Ok(text)
    }

    fn capability(&mut self) -> Result<String, ParseError> {
        let word = self.word().to_owned();
        if word.is_empty() {
            return Err(self.error("a capability or EHLO keyword (STARTTLS, IDLE, AUTH=PLAIN)"));
        }
        Ok(word)
    }

    /// `+N` or `-N`.
    fn delta(&mut self) -> Result<i64, ParseError> {
        let what = "a signed change to the count (`+5`, `-1`)";
        let negative = if self.eat("-") {
            true
        } else if self.eat("+") {
            false
        } else {
            return Err(self.error(what));
        };
        let n: i64 = self.number(what)?;
        Ok(if negative { -n } else { n })
    }

    /// `500ms`, `2s`, `1.5s`, `1m`.
    fn duration(&mut self) -> Result<Duration, ParseError> {
        let start = self.pos;
        let what = "a duration (`500ms`, `2s`, `1.5s`, `1m`)";
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(self.rest().len());
        let Ok(value) = self.rest()[..len].parse::<f64>() else {
            return Err(self.error(what));
        };
        self.pos += len;
        let scale = if self.eat("ms") {
            0.001
        } else if self.eat("s") {
            1.0
        } else if self.eat("m") {
            60.0
        } else {
            self.pos = start;
            return Err(self.error(what));
        };
        Duration::try_from_secs_f64(value * scale).map_err(|_| {
            self.pos = start;
            self.error(what)
        })
    }

    /// `N` or `at N,N,...`.
    fn split(&mut self) -> Result<Action, ParseError> {
        if !self.eat("at") {
            let n = self.count("a segment size (split 1) or `at N,N,...`")?;
            return Ok(Action::SplitEvery(n as usize));
        }
        self.skip_space();
        let mut offsets = vec![self.number("a byte offset")?];
        while self.eat(",") {
            self.skip_space();
            offsets.push(self.number("a byte offset")?);
        }
        Ok(Action::SplitAt(offsets))
    }

    /// `[before|after] [raw] "STRING"` or `[before|after] TEXT` (a line: CRLF added).
    fn inject(&mut self) -> Result<Action, ParseError> {
        let position = match self.peek_word().as_str() {
            "before" => Position::Before,
            _ => Position::After,
        };
        if matches!(self.peek_word().as_str(), "before" | "after") {
            self.word();
            self.skip_space();
        }
        let raw = self.peek_word() == "raw";
        if raw {
            self.word();
            self.skip_space();
        }
        let mut bytes = if self.rest().starts_with('"') {
            self.quoted()?
        } else {
            let text = self.rest().trim_end().as_bytes().to_vec();
            if text.is_empty() || raw {
                return Err(self.error("the bytes to inject, quoted (`\"* 3 EXISTS\"`)"));
            }
            self.pos = self.text.len();
            text
        };
        if !raw && !bytes.ends_with(b"\n") {
            bytes.extend_from_slice(b"\r\n");
        }
        Ok(Action::Inject { position, bytes })
    }

    /// A double-quoted string with `\r \n \t \" \\ \xNN` escapes.
    fn quoted(&mut self) -> Result<Vec<u8>, ParseError> {
        self.expect("\"", "`\"`")?;
        let mut out = Vec::new();
        loop {
            let Some(c) = self.rest().chars().next() else {
                return Err(self.error("a closing `\"`"));
            };
            self.pos += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => out.push(self.escape()?),
                c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            }
        }
    }

    fn escape(&mut self) -> Result<u8, ParseError> {
        let what = "an escape (\\r, \\n, \\t, \\\", \\\\, \\xNN)";
        let Some(c) = self.rest().chars().next() else {
            return Err(self.error(what));
        };
        self.pos += c.len_utf8();
        Ok(match c {
            'r' => b'\r',
            'n' => b'\n',
            't' => b'\t',
            '"' => b'"',
            '\\' => b'\\',
            'x' => {
                let hex = self.rest().get(..2).unwrap_or("");
                let byte = u8::from_str_radix(hex, 16).map_err(|_| self.error("two hex digits after \\x"))?;
                self.pos += 2;
                byte
            }
            _ => {
                self.pos -= c.len_utf8();
                return Err(self.error(what));
            }
        })
    }
}
