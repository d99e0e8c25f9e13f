//! The scenario parser on arbitrary bytes as a file: it never panics, every error points
//! inside the input (a line of the file, a column of that line, that line's text), and a
//! file that parses prints canonically and parses back to the same scenario.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mailrig_transcript::{parse_all, parse_bytes_all, print};

fuzz_target!(|data: &[u8]| {
    let lines = file_lines(data);
    let result = parse_bytes_all("fuzz.scenario", data);
    match result {
        Err(errors) => {
            for error in errors.errors() {
                let line = error.pos.line;
                assert!(
                    line >= 1 && line <= lines.len().max(1),
                    "line {line} of {}: {error}",
                    lines.len()
                );
                let text = lines
                    .get(line - 1)
                    .map_or(String::new(), |l| String::from_utf8_lossy(l).into_owned());
                let chars = text.chars().count();
                assert!(
                    error.pos.col >= 1 && error.pos.col <= chars + 1,
                    "column {} of {chars}: {error}",
                    error.pos.col
                );
                assert_eq!(error.source_line, text, "the error quotes another line: {error}");
                let _ = error.to_string();
            }
        }
        Ok(scenario) => {
            let printed = print(&scenario);
            match parse_all("printed.scenario", &printed) {
                Ok(again) => assert_eq!(
                    again, scenario,
                    "print then parse changed the scenario:\n{printed}"
                ),
                Err(errors) => panic!("the printed scenario does not parse:\n{printed}\n{errors:?}"),
            }
        }
    }
});

/// The file's lines as the parser numbers them: split at LF, a trailing CR dropped, no line
/// after a final LF.
fn file_lines(data: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = data
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect();
    if data.ends_with(b"\n") {
        lines.pop();
    }
    lines
}
