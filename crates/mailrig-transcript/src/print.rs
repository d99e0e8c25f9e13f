//! The canonical printer: `parse(print(s)) == s` for every scenario `s`.
//!
//! `mailrig fmt` rewrites files with it; recordings and shrunk fuzz cases are printed with it,
//! so generated files look like hand-written ones.

use std::fmt::Write as _;

use crate::scenario::{
    Compare, Directive, Header, Item, Line, Literal, LiteralSource, Part, Presence, Scenario, StepKind,
    format_duration,
};

/// Prints a scenario in canonical form.
pub fn print(scenario: &Scenario) -> String {
    let mut out = String::new();
    print_header(&scenario.header, &mut out);
    let multi = scenario.header.sessions.len() > 1;
    if !scenario.body.is_empty() {
        out.push('\n');
    }
    for item in &scenario.body {
        match item {
            Item::Blank => out.push('\n'),
            Item::Comment(text) => {
                let _ = writeln!(out, "#{text}");
            }
            Item::Step(step) => {
                if multi {
                    let name = &scenario.header.sessions[step.session].name;
                    let _ = write!(out, "{name} ");
                }
                match &step.kind {
                    StepKind::Line(line) => print_line(line, &mut out),
                    StepKind::Directive(d) => out.push_str(&directive(d)),
                }
                out.push('\n');
            }
        }
    }
    out
}

fn print_header(header: &Header, out: &mut String) {
    for comment in &header.comments {
        let _ = writeln!(out, "#{comment}");
    }
    let _ = writeln!(out, "name: {}", header.name);
    if let Some(summary) = &header.summary {
        let _ = writeln!(out, "summary: {summary}");
    }
    list(out, "rfc", header.rfc.iter().map(String::as_str));
    let sessions = header
        .sessions
        .iter()
        .map(|s| format!("{}={}", s.name, s.protocol.keyword()));
    list(out, "sessions", sessions);
    let requires = header
        .requires
        .iter()
        .map(|r| format!("{}:{}", r.family.keyword(), r.capability));
    list(out, "requires", requires);
    list(out, "tags", header.tags.iter().map(String::as_str));
    if let Some(fixture) = &header.fixture {
        let _ = writeln!(out, "fixture: {fixture}");
    }
    list(out, "vars", header.vars.iter().map(|(k, v)| format!("{k}={v}")));
    let word = match header.plays {
        Some(crate::scenario::Role::Client) => Some("client"),
        Some(crate::scenario::Role::Server) => Some("server"),
        None if header.plays_both => Some("both"),
        None => None,
    };
    if let Some(word) = word {
        let _ = writeln!(out, "plays: {word}");
    }
    for fault in &header.faults {
        let _ = writeln!(out, "faults: {}", fault.text);
    }
}

fn list<I, S>(out: &mut String, key: &str, items: I)
where
    I: Iterator<Item = S>,
    S: AsRef<str>,
{
    let items: Vec<S> = items.collect();
    if !items.is_empty() {
        let joined: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
        let _ = writeln!(out, "{key}: {}", joined.join(", "));
    }
}

/// Prints a directive without session prefix: `@close server`.
pub fn directive(d: &Directive) -> String {
    match d {
        Directive::StartTls => "@starttls".to_owned(),
        Directive::Close(side) => format!("@close {}", side.word()),
        Directive::Within(t) => format!("@within {}", format_duration(*t)),
        Directive::Sleep(t) => format!("@sleep {}", format_duration(*t)),
        Directive::Match(mode) => {
            let mut words = vec!["@match"];
            match mode.ordered {
                Some(true) => words.push("ordered"),
                Some(false) => words.push("unordered"),
                None => {}
            }
            match mode.extra {
                Some(true) => words.push("extra"),
                Some(false) => words.push("no-extra"),
                None => {}
            }
            match mode.compare {
                Some(Compare::Text) => words.push("text"),
                Some(Compare::Meaning) => words.push("meaning"),
                None => {}
            }
            match mode.extra_items {
                Some(true) => words.push("extra-items"),
                Some(false) => words.push("no-extra-items"),
                None => {}
            }
            match mode.pipelined {
                Some(true) => words.push("pipelined"),
                Some(false) => words.push("sequential"),
                None => {}
            }
            words.join(" ")
        }
    }
}

/// The line prefix without session: `C:`, `S?:`, `S!=:`.
pub fn prefix(line: &Line) -> String {
    let mut p = String::new();
    p.push(line.side.letter());
    match line.presence {
        Presence::Required => {}
        Presence::Optional => p.push('?'),
        Presence::Forbidden => p.push('!'),
    }
    if line.exact_case {
        p.push('=');
    }
    p.push(':');
    p
}

/// Prints a line (prefix and text, possibly spanning several physical lines for an inline
/// literal) without the session prefix and without the final newline.
pub fn print_line(line: &Line, out: &mut String) {
    out.push_str(&prefix(line));
    let text = text(&line.parts, line.crlf);
    if !text.is_empty() {
        out.push(' ');
        out.push_str(&text);
    }
}

/// Prints a line's text in canonical form (the part after `C: `).
pub fn text(parts: &[Part], crlf: bool) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Text(bytes) => {
                let suffix = match parts.get(i + 1) {
                    Some(Part::Literal(_)) => "{{{",
                    Some(_) => "$",
                    None if crlf => "",
                    None => "$",
                };
                escape_text(bytes, suffix, &mut out);
            }
            Part::Hole(hole) => {
                out.push_str("${");
                out.push_str(hole.name.as_deref().unwrap_or("_"));
                let default =
                    hole.name.is_none() && hole.class == crate::scenario::Class::Text && hole.value.is_none();
                if !default {
                    out.push(':');
                    out.push_str(hole.class.keyword());
                }
                if let Some(value) = &hole.value {
                    out.push('=');
                    out.push_str(value);
                }
                out.push('}');
            }
            Part::Ref(name) => {
                let _ = write!(out, "${{{name}}}");
            }
            Part::Split => out.push_str("${|}"),
            Part::Literal(literal) => print_literal(literal, &mut out),
        }
    }
    if !crlf {
        out.push_str("${nocrlf}");
    }
    out
}

fn print_literal(literal: &Literal, out: &mut String) {
    out.push_str("{{{");
    if literal.non_sync {
        out.push('+');
    }
    match &literal.source {
        LiteralSource::File { path, .. } => {
            let _ = write!(out, "file:{path}}}}}}}");
        }
        LiteralSource::Inline(lines) => {
            out.push('\n');
            for line in lines {
                out.push_str(line);
                out.push('\n');
            }
            out.push_str("}}}");
        }
    }
}

/// One character of text, or one byte that must be written as an escape.
#[derive(Clone, Copy, PartialEq)]
enum Token {
    Plain(char),
    Escaped(u8),
}

/// Appends `bytes` with escapes where needed. `suffix` is what the printer writes right after
/// (so `$` and `{` next to an expression or literal are escaped).
fn escape_text(bytes: &[u8], suffix: &str, out: &mut String) {
    let mut tokens = tokenize(bytes);
    let is_brace = |t: Option<&Token>| t == Some(&Token::Plain('{'));
    for i in 0..tokens.len() {
        if tokens[i] != Token::Plain('{') {
            continue;
        }
        let mut ahead = tokens[i + 1..].iter().take(2).map(Some).collect::<Vec<_>>();
        let from_suffix = suffix.chars().take(2 - ahead.len()).map(|c| c == '{');
        let braces = ahead.drain(..).filter(|t| is_brace(*t)).count() + from_suffix.filter(|b| *b).count();
        if braces == 2 {
            tokens[i] = Token::Escaped(b'{');
        }
    }
    if suffix.is_empty() && tokens.last() == Some(&Token::Plain(' ')) {
        let last = tokens.len() - 1;
        tokens[last] = Token::Escaped(b' ');
    }
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i] {
            Token::Plain(c) => {
                out.push(c);
                if c == '$' {
                    let next = match tokens.get(i + 1) {
                        Some(Token::Plain(n)) => Some(*n),
                        Some(Token::Escaped(_)) => Some('$'),
                        None => suffix.chars().next(),
                    };
                    if matches!(next, Some('$' | '{')) {
                        out.push('$');
                    }
                }
                i += 1;
            }
            Token::Escaped(_) => {
                out.push_str("${");
                while let Some(Token::Escaped(b)) = tokens.get(i) {
                    push_escape(*b, out);
                    i += 1;
                }
                out.push('}');
            }
        }
    }
}

fn tokenize(bytes: &[u8]) -> Vec<Token> {
    let mut tokens = Vec::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() && (c as u32) < 0x80 {
                tokens.push(Token::Escaped(c as u8));
            } else {
                tokens.push(Token::Plain(c));
            }
        }
        tokens.extend(chunk.invalid().iter().map(|b| Token::Escaped(*b)));
    }
    tokens
}

fn push_escape(byte: u8, out: &mut String) {
    match byte {
        b'\r' => out.push_str("\\r"),
        b'\n' => out.push_str("\\n"),
        b'\t' => out.push_str("\\t"),
        0 => out.push_str("\\0"),
        b'\\' => out.push_str("\\\\"),
        _ => {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
}

/// Prints bytes the way a line's text would show them (for diffs and messages).
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::new();
    escape_text(bytes, "", &mut out);
    out
}
