//! Rendering a [`Report`] for people: on failure, the failing line in the scenario file, the
//! exchange around it as a diff, and the closest received line with a caret at the first
//! difference.

use std::fmt::Write as _;

use crate::verify::{Closest, DiffLine, Failure, Outcome, Report};

/// The longest received line shown in full; longer ones are cut with `…`.
const MAX_SHOWN: usize = 160;

/// Renders a report. `file` and `source` are the scenario's path and text, for context lines.
pub fn render(report: &Report, file: &str, source: &str) -> String {
    let mut out = String::new();
    let Some(failure) = report.failure() else {
        let _ = writeln!(out, "ok    {} ({file})", report.scenario);
        return out;
    };
    let _ = writeln!(
        out,
        "FAIL  {}: session {}: {}",
        report.scenario, failure.session, failure.reason
    );
    render_failure(failure, file, source, &mut out);
    for verdict in &report.sessions {
        if verdict.outcome == Outcome::Unfinished {
            let _ = writeln!(
                out,
                "      session {} was not checked to the end: session {} failed first",
                verdict.name, failure.session
            );
        }
    }
    out
}

fn render_failure(failure: &Failure, file: &str, source: &str, out: &mut String) {
    let lines: Vec<&str> = source.lines().collect();
    let line = failure.pos.line;
    let width = (line + 1).to_string().len();
    let pad = " ".repeat(width);
    let _ = writeln!(out, "{pad}--> {file}:{}:{}", line, failure.pos.col);
    let _ = writeln!(out, "{pad} |");
    for n in line.saturating_sub(2).max(1)..=line {
        if let Some(text) = lines.get(n - 1) {
            let _ = writeln!(out, "{n:>width$} | {text}");
        }
    }
    if let Some(text) = lines.get(line.saturating_sub(1)).filter(|_| line > 0) {
        let indent = failure.pos.col.saturating_sub(1);
        let len = text.chars().count().saturating_sub(indent).max(1);
        let _ = writeln!(out, "{pad} | {}{}", " ".repeat(indent), "^".repeat(len));
    }
    if !failure.history.is_empty() || !failure.diff.is_empty() {
        let _ = writeln!(
            out,
            "{pad} = exchange in session {}{}:",
            failure.session,
            legend(&failure.diff)
        );
        for (side, bytes) in &failure.history {
            let _ = writeln!(out, "{pad}       {}: {}", side.letter(), show_line(bytes));
        }
        for diff in &failure.diff {
            let _ = writeln!(out, "{pad}     {}", diff_line(diff));
        }
    }
    if let Some(closest) = &failure.closest {
        render_closest(closest, &pad, out);
    }
}

/// Explains the diff markers that appear in `diff`.
fn legend(diff: &[DiffLine]) -> String {
    let mut parts = Vec::new();
    let has = |f: fn(&DiffLine) -> bool| diff.iter().any(f);
    if has(|d| matches!(d, DiffLine::Missing(_))) {
        parts.push("`-` expected, missing");
    }
    if has(|d| matches!(d, DiffLine::Unexpected(..))) {
        parts.push("`+` received, not expected");
    }
    if has(|d| matches!(d, DiffLine::Allowed(..))) {
        parts.push("`~` received, not listed, allowed");
    }
    if has(|d| matches!(d, DiffLine::Forbidden(..))) {
        parts.push("`!` must not appear");
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}

fn diff_line(diff: &DiffLine) -> String {
    match diff {
        DiffLine::Matched(side, bytes) => format!("  {}: {}", side.letter(), show_line(bytes)),
        DiffLine::Missing(written) => format!("- {written}"),
        DiffLine::Unexpected(side, bytes) => format!("+ {}: {}", side.letter(), show_line(bytes)),
        DiffLine::Allowed(side, bytes) => format!("~ {}: {}", side.letter(), show_line(bytes)),
        DiffLine::Forbidden(side, bytes, rule) => {
            format!("! {}: {}    (matches `{rule}`)", side.letter(), show_line(bytes))
        }
    }
}

fn render_closest(closest: &Closest, pad: &str, out: &mut String) {
    let prefix = show(&closest.received[..closest.matched.min(closest.received.len())]);
    let column = prefix.chars().count();
    let _ = writeln!(
        out,
        "{pad} = closest received line, first difference at column {}:",
        column + 1
    );
    let _ = writeln!(out, "{pad}       expected: {}", closest.expected);
    let _ = writeln!(out, "{pad}       received: {}", show_line(&closest.received));
    if column <= MAX_SHOWN {
        let _ = writeln!(out, "{pad}                 {}^", " ".repeat(column));
    }
}

/// A received line for display: without its CRLF, escapes for control bytes, cut when long.
pub fn show_line(bytes: &[u8]) -> String {
    let (body, crlf) = match bytes.strip_suffix(b"\r\n") {
        Some(body) => (body, true),
        None => (bytes, false),
    };
    let mut text = show(body);
    if text.chars().count() > MAX_SHOWN {
        text = text.chars().take(MAX_SHOWN).collect::<String>() + "…";
    }
    if !crlf {
        text.push_str("${nocrlf}");
    }
    text
}

/// Bytes as text, with `${\r}`-style escapes for control bytes and invalid UTF-8.
fn show(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\r' => out.push_str("${\\r}"),
                '\n' => out.push_str("${\\n}"),
                '\t' => out.push_str("${\\t}"),
                c if c.is_ascii_control() => {
                    let _ = write!(out, "${{\\x{:02x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "${{\\x{b:02x}}}");
        }
    }
    out
}
