//! SMTP replies matched by meaning: the reply code and the enhanced status code are the verdict,
//! the text after an enhanced status code is free unless the line pins it
//! (`docs/scenario-format.md`, "Matching by meaning").
//!
//! Heads up: RFC 5321 §4.2 (`Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code
//! [ SP textstring ] CRLF`; "the text may be receiver-dependent"), RFC 3463 §2 and RFC 2034 §4
//! (the enhanced status code `class "." subject "." detail` leads the text of a reply). A reply
//! matches by meaning *or* as text, so nothing that matched as text stops matching.

use crate::pattern::pieces::{Piece, flatten, text_pattern};
use crate::pattern::{Bindings, Match, Pattern};
use crate::scenario::{Line, Part};

/// An expected reply line, split at its code and enhanced status code.
#[derive(Debug, Clone)]
pub(crate) struct ReplyPattern {
    /// The reply code and its separator (`250-`, `250 `), as text.
    head: Pattern,
    /// The enhanced status code the line writes, as text.
    enhanced: Option<Pattern>,
    /// The text after the code, or after the enhanced status code; `None` when it is free.
    text: Option<Pattern>,
}

/// Splits an expected reply line, or `None` when it has no code and separator to compare (the
/// line is then matched as text only).
pub(crate) fn compile(line: &Line, normalize: bool) -> Option<ReplyPattern> {
    let parts = flatten(line);
    let sep = parts
        .iter()
        .position(|p| matches!(p, Piece::Byte(b' ' | b'-')))
        .filter(|i| *i > 0)?;
    let head = text_pattern(&parts[..=sep], line.exact_case, normalize)?;
    let rest = &parts[sep + 1..];
    let word_end = rest
        .iter()
        .position(|p| matches!(p, Piece::Byte(b' ')))
        .unwrap_or(rest.len());
    if !is_enhanced_pattern(&rest[..word_end]) {
        let text = text_pattern(rest, line.exact_case, false)?;
        return Some(ReplyPattern {
            head,
            enhanced: None,
            text: Some(text),
        });
    }
    let enhanced = text_pattern(&rest[..word_end], true, false)?;
    let after = rest.get(word_end + 1..).unwrap_or_default();
    // The text is pinned by `S=:`, and by a capture the scenario needs a value from.
    let captures = after
        .iter()
        .any(|p| matches!(p, Piece::Part(Part::Hole(h)) if h.name.is_some()));
    let text = if line.exact_case || captures {
        Some(text_pattern(after, line.exact_case, false)?)
    } else {
        None
    };
    Some(ReplyPattern {
        head,
        enhanced: Some(enhanced),
        text,
    })
}

impl ReplyPattern {
    /// Matches a received reply line (CRLF included, separator already normalized if the
    /// group asks for it); `None` when it does not match by meaning.
    pub(crate) fn matches(&self, input: &[u8], bindings: &Bindings) -> Option<Match> {
        let line = input.strip_suffix(b"\r\n")?;
        let head_len = 4.min(line.len());
        let mut scope = bindings.clone();
        let mut bound = Bindings::new();
        let mut step = |pattern: &Pattern, bytes: &[u8]| -> Option<()> {
            let m = pattern.matches(bytes, &scope).ok()?;
            scope.extend(m.bound.clone());
            bound.extend(m.bound);
            Some(())
        };
        step(&self.head, &line[..head_len])?;
        let rest = &line[head_len..];
        let word_end = rest.iter().position(|b| *b == b' ').unwrap_or(rest.len());
        let received = is_enhanced(&rest[..word_end]).then(|| &rest[..word_end]);
        let text = match received {
            Some(code) => rest.get(code.len() + 1..).unwrap_or_default(),
            None => rest,
        };
        match (&self.enhanced, received) {
            (Some(pattern), Some(code)) => step(pattern, code)?,
            (Some(_), None) => return None,
            (None, _) => {}
        }
        if let Some(pattern) = &self.text {
            step(pattern, text)?;
        }
        Some(Match { bound })
    }
}

/// RFC 3463 §2: `class "." subject "." detail`, class 2, 4 or 5, subject and detail 1 to 3
/// digits.
fn is_enhanced(word: &[u8]) -> bool {
    let fields: Vec<&[u8]> = word.split(|b| *b == b'.').collect();
    matches!(fields.as_slice(), [class, subject, detail]
        if matches!(class, [b'2' | b'4' | b'5'])
            && [subject, detail].iter().all(|f| (1..=3).contains(&f.len()) && f.iter().all(u8::is_ascii_digit)))
}

/// An enhanced status code as a scenario writes it: three dot-separated fields of digits,
/// `num` holes or back-references (`5.1.1`, `2.${_:num}.0`).
fn is_enhanced_pattern(word: &[Piece<'_>]) -> bool {
    let mut fields = 1;
    let mut field_len = 0;
    for piece in word {
        match piece {
            Piece::Byte(b'.') if field_len > 0 => {
                fields += 1;
                field_len = 0;
            }
            Piece::Byte(b) if b.is_ascii_digit() => field_len += 1,
            Piece::Part(Part::Hole(h)) if h.class.is_numeric() => field_len += 1,
            Piece::Part(Part::Ref(_)) => field_len += 1,
            _ => return false,
        }
    }
    fields == 3 && field_len > 0
}

#[cfg(test)]
mod tests {
    use crate::pattern::{Bindings, Pattern};
    use crate::scenario::{Compare, Item, MatchMode, StepKind};

    fn compile(text: &str, mode: MatchMode) -> Pattern {
        let src = format!("name: t\nsessions: s=smtp\nplays: client\n\n{text}\n");
        let scenario = crate::parse("t.scenario", &src).unwrap_or_else(|e| panic!("{e}"));
        let Some(Item::Step(step)) = scenario.body.first() else {
            panic!("no step")
        };
        let StepKind::Line(line) = &step.kind else {
            panic!("not a line")
        };
        Pattern::compile_smtp_reply(line, mode, false).unwrap()
    }

    fn matches(text: &str, input: &str) -> bool {
        compile(text, MatchMode::default())
            .matches(format!("{input}\r\n").as_bytes(), &Bindings::new())
            .is_ok()
    }

    #[test]
    fn the_codes_are_the_verdict_and_the_text_is_free() {
        // RFC 3463 §3.2 X.1.0 "Other address status"; RFC 5321 §4.2: the text is free.
        let line = "S: 250 2.1.0 Sender OK";
        assert!(matches(line, "250 2.1.0 Ok"));
        assert!(matches(line, "250 2.1.0 <alice@example.test>... Sender ok"));
        assert!(!matches(line, "250 2.1.5 Sender OK"));
        assert!(!matches(line, "251 2.1.0 Sender OK"));
        assert!(!matches(line, "250 Sender OK"));
        assert!(!matches(line, "250 2.1 Sender OK"));
        // Holes work in the enhanced status code.
        assert!(matches("S: 550 5.${_:num}.1 ${_}", "550 5.1.1 No such user"));
        assert!(!matches("S: 550 5.${_:num}.1 ${_}", "550 5.1.2 Bad domain"));
    }

    #[test]
    fn a_line_without_an_enhanced_code_keeps_its_text() {
        // The received enhanced status code is skipped; the text is compared as written, since
        // reply text may be data (EHLO keywords, RFC 5321 §4.1.1.1).
        assert!(matches("S: 250 OK", "250 2.0.0 OK"));
        assert!(matches("S: 250 OK", "250 ok"));
        assert!(!matches("S: 250 OK", "250 2.0.0 Ok: queued as 12"));
        assert!(!matches("S: 250 STARTTLS", "250 AUTH PLAIN"));
        assert!(matches("S: 250 ${_}", "250 2.0.0 Ok"));
    }

    #[test]
    fn exact_case_or_a_capture_pins_the_text() {
        assert!(matches("S=: 250 2.0.0 Ok", "250 2.0.0 Ok"));
        assert!(!matches("S=: 250 2.0.0 Ok", "250 2.0.0 OK"));
        let queued = compile("S: 250 2.0.0 Ok: queued as ${id:word}", MatchMode::default());
        let m = queued
            .matches(b"250 2.0.0 Ok: queued as 4Zx1\r\n", &Bindings::new())
            .unwrap();
        assert_eq!(m.bound.get("id").map(Vec::as_slice), Some(&b"4Zx1"[..]));
        assert!(queued.matches(b"250 2.0.0 queued\r\n", &Bindings::new()).is_err());
    }

    #[test]
    fn match_text_compares_the_text() {
        let mode = MatchMode {
            compare: Some(Compare::Text),
            ..MatchMode::default()
        };
        let text = compile("S: 250 2.1.0 Sender OK", mode);
        assert!(!text.by_meaning());
        assert!(text.matches(b"250 2.1.0 Ok\r\n", &Bindings::new()).is_err());
        assert!(text.matches(b"250 2.1.0 sender ok\r\n", &Bindings::new()).is_ok());
    }
}
