//! Reports of `mailrig run`: the JSON report (one record per scenario), JUnit XML made from
//! it, and `mailrig report merge`, which joins the JSON reports of `--partition` shards into
//! one (and writes JUnit from it). Exit codes of `merge`: 0 nothing failed, 1 a scenario
//! failed, errored or passed against its ledger entry, 2 unreadable or overlapping reports.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use mailrig_runner::{Outcome, Verdict};
use serde::{Deserialize, Serialize};

/// `mailrig report ...`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ReportCommand {
    /// Merge the JSON reports of several runs (e.g. `--partition` shards) into one.
    ///
    /// Prints the summary of the merged run and exits 1 if any scenario failed, errored or
    /// passed although a ledger lists it, 0 otherwise, 2 if a report cannot be read or two
    /// reports hold the same scenario file.
    Merge {
        /// JSON reports written by `mailrig run --json`.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Write the merged JSON report here.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write a JUnit XML report of the merged run here.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
}

/// A JSON report: the run's wall time and one record per scenario, sorted by file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Report {
    /// Wall time of the run (for a merge: of the slowest shard).
    #[serde(default)]
    pub(crate) elapsed_ms: u64,
    /// One record per scenario.
    pub(crate) scenarios: Vec<Record>,
}

/// One scenario in a JSON report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Record {
    /// The scenario file.
    pub(crate) file: String,
    /// Its `name:`.
    pub(crate) name: String,
    /// `pass`, `fail`, `skip`, `error`, `known` or `xpass`.
    pub(crate) verdict: String,
    /// The diff, the reason for a skip or error, or the ledger's reason.
    pub(crate) detail: Option<String>,
    /// How long it took.
    pub(crate) ms: u64,
    /// What went wrong around it without changing the verdict (a failed clean-up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) warning: Option<String>,
}

const VERDICTS: [&str; 6] = ["pass", "fail", "skip", "error", "known", "xpass"];

impl Record {
    fn from_outcome(o: &Outcome) -> Record {
        let detail = match &o.verdict {
            Verdict::Pass => None,
            Verdict::Fail(s)
            | Verdict::Skip(s)
            | Verdict::Error(s)
            | Verdict::KnownFailure(s)
            | Verdict::UnexpectedPass(s) => Some(s.clone()),
        };
        Record {
            file: o.path.clone(),
            name: o.name.clone(),
            verdict: o.verdict.word().to_ascii_lowercase(),
            detail,
            ms: u64::try_from(o.duration.as_millis()).unwrap_or(u64::MAX),
            warning: o.warning.clone(),
        }
    }

    /// Whether this record fails a run (as [`Verdict::fails_run`]).
    pub(crate) fn fails_run(&self) -> bool {
        matches!(self.verdict.as_str(), "fail" | "error" | "xpass")
    }
}

impl Report {
    pub(crate) fn from_outcomes(outcomes: &[Outcome], elapsed: Duration) -> Report {
        Report {
            elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            scenarios: outcomes.iter().map(Record::from_outcome).collect(),
        }
    }

    pub(crate) fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Reads a JSON report, checking every verdict word.
    fn read(path: &Path) -> anyhow::Result<Report> {
        let shown = path.display();
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {shown}"))?;
        let report: Report = serde_json::from_str(&text)
            .with_context(|| format!("{shown} is not a `mailrig run --json` report"))?;
        if let Some(bad) = report
            .scenarios
            .iter()
            .find(|r| !VERDICTS.contains(&r.verdict.as_str()))
        {
            bail!("{shown}: {}: unknown verdict {:?}", bad.file, bad.verdict);
        }
        Ok(report)
    }

    /// Joins reports: every scenario once, sorted by file; the elapsed time of the slowest.
    pub(crate) fn merge(reports: Vec<(String, Report)>) -> anyhow::Result<Report> {
        let mut seen = BTreeSet::new();
        let mut merged = Report::default();
        for (source, report) in reports {
            merged.elapsed_ms = merged.elapsed_ms.max(report.elapsed_ms);
            for record in report.scenarios {
                if !seen.insert(record.file.clone()) {
                    bail!(
                        "{} is in more than one report (seen again in {source}): were the shards of different runs?",
                        record.file
                    );
                }
                merged.scenarios.push(record);
            }
        }
        merged.scenarios.sort_by(|a, b| a.file.cmp(&b.file));
        Ok(merged)
    }

    fn count(&self, verdict: &str) -> usize {
        self.scenarios.iter().filter(|r| r.verdict == verdict).count()
    }

    /// `N passed, N failed, N skipped[, N known failures, ...]`.
    pub(crate) fn summary(&self) -> String {
        let mut parts = vec![
            format!("{} passed", self.count("pass")),
            format!("{} failed", self.count("fail")),
            format!("{} skipped", self.count("skip")),
        ];
        for (verdict, label) in [
            ("known", "known failures"),
            ("xpass", "listed but passed"),
            ("error", "errors"),
        ] {
            let n = self.count(verdict);
            if n > 0 {
                parts.push(format!("{n} {label}"));
            }
        }
        let warnings = self.scenarios.iter().filter(|r| r.warning.is_some()).count();
        if warnings > 0 {
            parts.push(format!("{warnings} warnings"));
        }
        parts.join(", ")
    }

    /// JUnit XML as CI systems render it: one testsuite, one testcase per scenario, the diff
    /// as the failure text, skips (and known failures) with their reasons, warnings as
    /// `system-err`.
    pub(crate) fn junit(&self) -> String {
        let failures = self.count("fail") + self.count("xpass");
        let errors = self.count("error");
        let skipped = self.count("skip") + self.count("known");
        let tests = self.scenarios.len();
        let time = self.elapsed_ms as f64 / 1000.0;
        let counts = format!(
            "tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{time:.3}\""
        );
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        xml += &format!("<testsuites name=\"mailrig\" {counts}>\n");
        xml += &format!("  <testsuite name=\"mailrig run\" {counts}>\n");
        for record in &self.scenarios {
            xml += &testcase(record);
        }
        xml += "  </testsuite>\n</testsuites>\n";
        xml
    }
}

fn testcase(r: &Record) -> String {
    let open = format!(
        "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" time=\"{:.3}\"",
        escape(&r.name),
        escape(&r.file.replace(['/', '\\'], ".")),
        escape(&r.file),
        r.ms as f64 / 1000.0
    );
    let detail = escape(r.detail.as_deref().unwrap_or_default());
    let mut body = match r.verdict.as_str() {
        "fail" => vec![format!("<failure message=\"scenario failed\">{detail}</failure>")],
        "xpass" => vec![format!("<failure message=\"{detail}\"/>")],
        "error" => vec![format!("<error message=\"{detail}\"/>")],
        "skip" => vec![format!("<skipped message=\"{detail}\"/>")],
        "known" => vec![format!("<skipped message=\"known failure: {detail}\"/>")],
        _ => Vec::new(),
    };
    if let Some(warning) = &r.warning {
        body.push(format!("<system-err>{}</system-err>", escape(warning)));
    }
    if body.is_empty() {
        return open + "/>\n";
    }
    let inner: String = body.iter().map(|item| format!("      {item}\n")).collect();
    format!("{open}>\n{inner}    </testcase>\n")
}

/// XML text and attribute escaping; characters XML 1.0 cannot carry become U+FFFD.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn report(command: ReportCommand) -> anyhow::Result<ExitCode> {
    let ReportCommand::Merge { files, json, junit } = command;
    let reports = files
        .iter()
        .map(|f| Ok((f.display().to_string(), Report::read(f)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let merged = Report::merge(reports)?;
    if let Some(path) = &json {
        std::fs::write(path, merged.to_json()).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &junit {
        std::fs::write(path, merged.junit()).with_context(|| format!("cannot write {}", path.display()))?;
    }
    for record in merged.scenarios.iter().filter(|r| r.fails_run()) {
        println!(
            "{:<5} {} ({})",
            record.verdict.to_ascii_uppercase(),
            record.file,
            record.name
        );
    }
    println!(
        "merged {} report(s): {} scenario(s): {}",
        files.len(),
        merged.scenarios.len(),
        merged.summary()
    );
    Ok(if merged.scenarios.iter().any(|r| r.verdict == "error") {
        ExitCode::from(2)
    } else if merged.scenarios.iter().any(Record::fails_run) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(file: &str, verdict: &str) -> Record {
        Record {
            file: file.into(),
            name: file.into(),
            verdict: verdict.into(),
            detail: (verdict != "pass").then(|| "why <here>".into()),
            ms: 5,
            warning: None,
        }
    }

    #[test]
    fn merging_sorts_by_file_and_refuses_a_scenario_twice() {
        let a = Report {
            elapsed_ms: 10,
            scenarios: vec![record("b", "pass")],
        };
        let b = Report {
            elapsed_ms: 30,
            scenarios: vec![record("a", "fail"), record("c", "skip")],
        };
        let merged = Report::merge(vec![("1".into(), a.clone()), ("2".into(), b)]).expect("merges");
        let files: Vec<&str> = merged.scenarios.iter().map(|r| r.file.as_str()).collect();
        assert_eq!(files, ["a", "b", "c"]);
        assert_eq!(merged.elapsed_ms, 30);
        assert_eq!(merged.summary(), "1 passed, 1 failed, 1 skipped");
        let twice = Report::merge(vec![("1".into(), a.clone()), ("2".into(), a)]);
        assert!(twice.is_err_and(|e| e.to_string().contains("b is in more than one report")));
    }

    #[test]
    fn junit_has_one_testcase_per_scenario_with_escaped_details() {
        let mut warned = record("w", "pass");
        warned.warning = Some("left <x>".into());
        let report = Report {
            elapsed_ms: 1500,
            scenarios: vec![
                record("a/f", "fail"),
                record("p", "pass"),
                record("k", "known"),
                warned,
            ],
        };
        let xml = report.junit();
        assert_eq!(xml.matches("<testcase ").count(), 4, "{xml}");
        assert!(
            xml.contains("tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"1\" time=\"1.500\""),
            "{xml}"
        );
        assert!(xml.contains("classname=\"a.f\""), "{xml}");
        assert!(
            xml.contains("<failure message=\"scenario failed\">why &lt;here&gt;</failure>"),
            "{xml}"
        );
        assert!(
            xml.contains("<skipped message=\"known failure: why &lt;here&gt;\"/>"),
            "{xml}"
        );
        assert!(xml.contains("<system-err>left &lt;x&gt;</system-err>"), "{xml}");
        assert!(
            xml.contains("<testcase name=\"p\" classname=\"p\" file=\"p\" time=\"0.005\"/>"),
            "{xml}"
        );
        assert_eq!(xml.matches("</testcase>").count(), 3, "{xml}");
    }

    #[test]
    fn escaping_drops_what_xml_cannot_carry() {
        assert_eq!(escape("a&\"\u{1b}\r"), "a&amp;&quot;\u{fffd}&#13;");
    }
}
