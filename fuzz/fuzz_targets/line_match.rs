//! The matcher: a scenario line compiled from fuzzed text, matched against fuzzed bytes, as
//! text and by meaning (IMAP responses, SMTP replies). It never panics, a failed match points
//! inside the received bytes, and it finishes quickly whatever the input (both matchers have
//! a step budget; CI runs this target with libFuzzer's `-timeout`, so a slow input fails).
//! Lines mailrig sends (`C:`) are rendered instead.
//!
//! Input: one options byte, the line's text up to the first LF, then the received bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mailrig_transcript::parse::BUILTIN_VARS;
use mailrig_transcript::pattern::{self, Bindings, Pattern};
use mailrig_transcript::scenario::{Compare, Family, MatchMode, Side, StepKind};

fuzz_target!(|data: &[u8]| {
    let Some((&options, rest)) = data.split_first() else {
        return;
    };
    let (line, received) = match rest.iter().position(|b| *b == b'\n') {
        Some(lf) => (&rest[..lf], &rest[lf + 1..]),
        None => (rest, &[][..]),
    };
    let family = if options & 1 == 0 {
        Family::Imap
    } else {
        Family::Smtp
    };
    let side = if options & 16 == 0 { "S" } else { "C" };
    let protocol = match family {
        Family::Imap => "imap",
        Family::Smtp => "smtp",
    };
    let text = format!(
        "name: fuzz\nsessions: a={protocol}\n\n{side}: {}\n",
        String::from_utf8_lossy(line).trim_end_matches('\r')
    );
    let Ok(scenario) = mailrig_transcript::parse("fuzz.scenario", &text) else {
        return;
    };
    let mut bindings: Bindings = BUILTIN_VARS
        .iter()
        .map(|v| (v.to_string(), b"x1".to_vec()))
        .collect();
    let mode = MatchMode {
        compare: (options & 2 != 0).then_some(Compare::Text),
        extra_items: Some(options & 4 == 0),
        ..MatchMode::default()
    };
    for step in scenario.steps() {
        let StepKind::Line(line) = &step.kind else {
            continue;
        };
        if line.side == Side::Client {
            let _ = pattern::render(line, &mut bindings);
            continue;
        }
        let Ok(pattern) = Pattern::compile_server(line, family, mode, options & 8 != 0) else {
            continue;
        };
        if let Err(at) = pattern.matches(received, &bindings) {
            assert!(
                at <= received.len(),
                "mismatch at {at} of {} bytes",
                received.len()
            );
        }
        match pattern.matches_prefix(received, &bindings) {
            Ok((_, len)) => assert!(
                len <= received.len(),
                "a {len}-byte match in {} bytes",
                received.len()
            ),
            Err(at) => assert!(
                at <= received.len(),
                "mismatch at {at} of {} bytes",
                received.len()
            ),
        }
    }
});
