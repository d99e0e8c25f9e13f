//! Known-failure ledgers: TOML files that list scenarios a target is known to fail, each with
//! the reason and the RFC rule it breaks. A listed failure does not fail the run; a listed
//! scenario that passes does, so a ledger never outlives the bug it records.
//!
//! ```toml
//! [[known-failure]]
//! scenario = "smtp-smuggling"           # the scenario's `name:`
//! reason = "answers commands smuggled after a bare-LF end of data"
//! rfc = "RFC 5321 §4.1.1.4"
//! ```

use std::path::Path;

use serde::Deserialize;

use crate::suite::Verdict;

/// The known failures of a run (from any number of ledger files).
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    entries: Vec<(KnownFailure, String)>,
}

/// One entry of a ledger file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownFailure {
    /// The scenario's `name:`.
    pub scenario: String,
    /// Why it fails.
    pub reason: String,
    /// The RFC rule the target breaks.
    pub rfc: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(rename = "known-failure", default)]
    known_failure: Vec<KnownFailure>,
}

/// Why a ledger could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The file could not be read.
    #[error("cannot read ledger {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid ledger.
    #[error("ledger {path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong (with the TOML position).
        message: String,
    },
}

impl Ledger {
    /// Adds the entries of the ledger file at `path`.
    pub fn load(&mut self, path: &Path) -> Result<(), LedgerError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| LedgerError::Io {
            path: shown.clone(),
            source,
        })?;
        self.add(&shown, &text)
    }

    /// Adds the entries of ledger text; `origin` names it in errors and verdicts.
    pub fn add(&mut self, origin: &str, text: &str) -> Result<(), LedgerError> {
        let file: File = toml::from_str(text).map_err(|e| LedgerError::Invalid {
            path: origin.to_owned(),
            message: e.to_string(),
        })?;
        for entry in file.known_failure {
            if entry.reason.trim().is_empty() || entry.rfc.trim().is_empty() {
                return Err(LedgerError::Invalid {
                    path: origin.to_owned(),
                    message: format!("the entry for `{}` needs a reason and an rfc", entry.scenario),
                });
            }
            self.entries.push((entry, origin.to_owned()));
        }
        Ok(())
    }

    /// The verdict once the ledger is taken into account.
    pub fn judge(&self, name: &str, verdict: Verdict) -> Verdict {
        let Some((entry, origin)) = self.entries.iter().find(|(e, _)| e.scenario == name) else {
            return verdict;
        };
        match verdict {
            Verdict::Fail(_) => {
                Verdict::KnownFailure(format!("{} ({}; listed in {origin})", entry.reason, entry.rfc))
            }
            Verdict::Pass => Verdict::UnexpectedPass(format!(
                "listed as a known failure in {origin} ({}), but it passed: remove the entry",
                entry.reason
            )),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEDGER: &str = "[[known-failure]]\nscenario = \"x\"\nreason = \"broken\"\nrfc = \"RFC 1 §1\"\n";

    #[test]
    fn a_listed_failure_is_known_and_a_listed_pass_fails() {
        let mut ledger = Ledger::default();
        ledger.add("l.toml", LEDGER).expect("valid");
        assert!(matches!(
            ledger.judge("x", Verdict::Fail("diff".into())),
            Verdict::KnownFailure(r) if r.contains("broken") && r.contains("RFC 1 §1")
        ));
        let passed = ledger.judge("x", Verdict::Pass);
        assert!(passed.fails_run(), "{passed:?}");
        assert_eq!(ledger.judge("y", Verdict::Pass), Verdict::Pass);
        assert_eq!(
            ledger.judge("x", Verdict::Skip("why".into())),
            Verdict::Skip("why".into())
        );
    }

    #[test]
    fn entries_need_a_reason_and_an_rfc() {
        let mut ledger = Ledger::default();
        let bad = "[[known-failure]]\nscenario = \"x\"\nreason = \"\"\nrfc = \"RFC 1\"\n";
        assert!(ledger.add("l.toml", bad).is_err());
        let typo = "[[known-failure]]\nscenario = \"x\"\nreason = \"r\"\nrfc = \"RFC 1\"\nrfcs = 1\n";
        let err = ledger.add("l.toml", typo).expect_err("unknown key");
        assert!(err.to_string().contains("rfcs"), "{err}");
    }
}
