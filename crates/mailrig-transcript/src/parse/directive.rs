//! `@` directives (`@starttls`, `@close`, `@within`, `@sleep`, `@match`), and the check that
//! each `@match` comes right before the `S:` lines it applies to.

use crate::error::{ParseError, closest};
use crate::scenario::{
    Compare, Directive, Family, Line, MatchMode, Part, Presence, Side, Step, StepKind, parse_duration,
};

use super::{Parser, col_of};

const DIRECTIVES: [&str; 5] = ["starttls", "close", "within", "sleep", "match"];

const MATCH_MODES: &str = "`ordered`, `unordered`, `extra`, `no-extra`, `text`, `meaning`, `extra-items`, `no-extra-items`, `pipelined` or `sequential`";

impl Parser<'_> {
    pub(super) fn directive(
        &self,
        number: usize,
        raw: &str,
        at: usize,
        text: &str,
    ) -> Result<Directive, ParseError> {
        let col = raw[..at].chars().count() + 1;
        let mut words = text.split_whitespace();
        let name = words.next().unwrap_or("");
        let args: Vec<&str> = words.collect();
        let arg_col = |i: usize| col_of(raw, args[i]);
        match (name, args.as_slice()) {
            ("starttls", []) => Ok(Directive::StartTls),
            ("close", ["server"]) => Ok(Directive::Close(Side::Server)),
            ("close", ["client"]) => Ok(Directive::Close(Side::Client)),
            ("close", _) => Err(self
                .error(number, col, "`@close` needs the side that closes")
                .len(text.chars().count())
                .expected("`@close server` or `@close client`")),
            ("within" | "sleep", [arg]) => {
                let Some(d) = parse_duration(arg) else {
                    return Err(self
                        .error(number, arg_col(0), format!("`{arg}` is not a duration"))
                        .len(arg.chars().count())
                        .expected("a whole number with `ms`, `s` or `m`, e.g. `500ms`"));
                };
                Ok(if name == "within" {
                    Directive::Within(d)
                } else {
                    Directive::Sleep(d)
                })
            }
            ("within" | "sleep", _) => Err(self
                .error(number, col, format!("`@{name}` takes one duration"))
                .len(text.chars().count())
                .expected(format!("`@{name} 500ms`"))),
            ("match", [_, ..]) => self.match_mode(number, raw, &args),
            ("match", []) => Err(self
                .error(number, col, "`@match` needs at least one mode")
                .len(5)
                .expected(MATCH_MODES)),
            ("starttls", _) => Err(self
                .error(number, col, "`@starttls` takes no arguments")
                .len(text.chars().count())),
            (other, _) => {
                let mut err = self
                    .error(number, col - 1, format!("unknown directive `@{other}`"))
                    .len(other.chars().count() + 1)
                    .expected(format!(
                        "one of {}",
                        DIRECTIVES.map(|d| format!("`@{d}`")).join(", ")
                    ));
                if let Some(near) = closest(other, &DIRECTIVES) {
                    err = err.hint(format!("did you mean `@{near}`?"));
                }
                Err(err)
            }
        }
    }

    fn match_mode(&self, number: usize, raw: &str, args: &[&str]) -> Result<Directive, ParseError> {
        let mut mode = MatchMode::default();
        for arg in args {
            let set = match *arg {
                "ordered" => put(&mut mode.ordered, true),
                "unordered" => put(&mut mode.ordered, false),
                "extra" => put(&mut mode.extra, true),
                "no-extra" => put(&mut mode.extra, false),
                "text" => put(&mut mode.compare, Compare::Text),
                "meaning" => put(&mut mode.compare, Compare::Meaning),
                "extra-items" => put(&mut mode.extra_items, true),
                "no-extra-items" => put(&mut mode.extra_items, false),
                "pipelined" => put(&mut mode.pipelined, true),
                "sequential" => put(&mut mode.pipelined, false),
                other => {
                    return Err(self
                        .error(
                            number,
                            col_of(raw, other),
                            format!("unknown match mode `{other}`"),
                        )
                        .len(other.chars().count())
                        .expected(MATCH_MODES));
                }
            };
            if !set {
                return Err(self
                    .error(
                        number,
                        col_of(raw, arg),
                        format!("`{arg}` conflicts with an earlier mode on this line"),
                    )
                    .len(arg.len()));
            }
        }
        if mode.pipelined == Some(true) && mode.ordered == Some(true) {
            let at = args.iter().find(|a| **a == "ordered").copied().unwrap_or(args[0]);
            return Err(self
                .error(number, col_of(raw, at), "`ordered` conflicts with `pipelined`")
                .len(at.len())
                .expected("`@match pipelined` with `unordered`, `extra`, `no-extra`, `text`, `meaning`, `extra-items` or `no-extra-items`")
                .hint("the untagged responses of pipelined commands interleave, so they match in any order"));
        }
        Ok(Directive::Match(mode))
    }

    /// `@match` applies to the next step, which must be an `S:` line of the same session. A
    /// `@match` followed by a line that had an error is not reported again.
    pub(super) fn check_match_directives(&mut self) {
        let steps: Vec<&Step> = self.scenario.steps().collect();
        let mut errors = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            if !matches!(step.kind, StepKind::Directive(Directive::Match(_))) {
                continue;
            }
            let next = steps.get(i + 1);
            let ok = next.is_some_and(|next| {
                next.session == step.session
                    && matches!(&next.kind, StepKind::Line(l) if l.side == Side::Server)
            });
            let until = next.map_or(usize::MAX, |next| next.pos.line);
            let bad_between = self
                .bad_lines
                .iter()
                .any(|line| (step.pos.line + 1..until).contains(line));
            if ok
                && !bad_between
                && let Some(error) = self.check_pipelined(&steps, i)
            {
                errors.push(error);
            }
            if !ok && !bad_between {
                errors.push(
                    self.error(
                        step.pos.line,
                        step.pos.col,
                        "`@match` must be followed by an `S:` line of the same session",
                    )
                    .len(6)
                    .expected("the group of `S:` lines it applies to on the next line"),
                );
            }
        }
        for error in errors {
            self.report(error);
        }
    }
}

impl Parser<'_> {
    /// A multi-line SMTP reply is one unit: after an `S:` line that goes on (`250-...`,
    /// RFC 5321 §4.2.1), no `@sleep` may come before the reply's next line (it would leave
    /// the reply unfinished when mailrig plays the server, and cut it in two when it checks
    /// one). A `@close` there is fine: a reply cut off by a hang-up is a case worth testing.
    pub(super) fn check_directives_inside_replies(&mut self) {
        let mut open: Vec<Option<usize>> = vec![None; self.scenario.header.sessions.len()];
        let mut errors = Vec::new();
        for step in self.scenario.steps() {
            let Some(slot) = open.get_mut(step.session) else {
                continue;
            };
            match &step.kind {
                StepKind::Line(line) if line.side == Side::Server => {
                    let smtp = self.scenario.header.sessions[step.session].protocol.family() == Family::Smtp;
                    let goes_on = crate::verify::is_reply_continuation(line);
                    *slot = (smtp && goes_on).then_some(step.pos.line);
                }
                StepKind::Line(_) => *slot = None,
                StepKind::Directive(Directive::Sleep(_)) => {
                    if let Some(reply) = *slot {
                        errors.push(
                            self.error(step.pos.line, step.pos.col, "`@sleep` inside a multi-line SMTP reply")
                                .len(6)
                                .expected(format!("the next line of the reply that line {reply} continues (`NNN-` goes on, `NNN ` ends it)"))
                                .hint("a reply is one unit: put the pause before its first line (to split its write without a pause, use `${|}`)"),
                        );
                    }
                }
                StepKind::Directive(_) => {}
            }
        }
        for error in errors {
            self.report(error);
        }
    }

    /// `@match pipelined` at `steps[i]` applies to the run of `S:` lines after it: an IMAP
    /// session's, every group of which ends with a tagged response (RFC 9051 §5.5: only the
    /// completions of commands can be told apart by their tags).
    fn check_pipelined(&self, steps: &[&Step], i: usize) -> Option<ParseError> {
        let step = steps[i];
        let StepKind::Directive(Directive::Match(mode)) = &step.kind else {
            return None;
        };
        if mode.pipelined != Some(true) {
            return None;
        }
        let at = |message: &str| {
            Some(
                self.error(step.pos.line, step.pos.col, message.to_owned())
                    .len(6)
                    .expected(
                        "a run of IMAP `S:` lines, each group ending with a tagged response (`A1 OK ...`)",
                    ),
            )
        };
        if self.scenario.header.sessions[step.session].protocol.family() != Family::Imap {
            return at(
                "`@match pipelined` is for IMAP: SMTP replies to pipelined commands come in order (RFC 2920 §3.1)",
            );
        }
        let run: Vec<&Line> = steps[i + 1..]
            .iter()
            .take_while(|s| s.session == step.session)
            .map_while(|s| match &s.kind {
                StepKind::Line(l) if l.side == Side::Server => Some(l),
                _ => None,
            })
            .collect();
        let tagged = |l: &Line| !matches!(l.parts.first(), Some(Part::Text(t)) if t.starts_with(b"*") || t.starts_with(b"+"));
        let required: Vec<&&Line> = run.iter().filter(|l| l.presence == Presence::Required).collect();
        if run.iter().any(|l| crate::pattern::is_raw(l)) {
            return at("a pipelined batch cannot hold raw lines (`${\\r\\n}`, `${nocrlf}`)");
        }
        if required
            .iter()
            .any(|l| matches!(l.parts.first(), Some(Part::Text(t)) if t.starts_with(b"+")))
        {
            return at("a pipelined batch cannot wait for a `+` continuation request");
        }
        if !required.last().is_some_and(|l| tagged(l)) {
            return at("the last group of a pipelined batch must end with a tagged response");
        }
        None
    }
}

/// Sets a mode slot that is still empty; `false` if an earlier word already set it.
fn put<T>(slot: &mut Option<T>, value: T) -> bool {
    let empty = slot.is_none();
    if empty {
        *slot = Some(value);
    }
    empty
}
