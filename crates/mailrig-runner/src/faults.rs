//! A scenario's `faults:` header lines as fault rules: the transcript crate keeps them as text
//! (it does not know the rule syntax); here each is parsed by mailrig-fault, and an error
//! points at the rule's place in the file, for `mailrig check`, the runner and `replay`.

use mailrig_server::fault::Rule;
use mailrig_transcript::Scenario;

/// The scenario's fault rules, or one message per rule that does not parse:
/// `FILE:LINE:COL: faults: column ...: expected ..., found ...` and the rule with a caret.
pub fn scenario_faults(scenario: &Scenario, file: &str) -> Result<Vec<Rule>, Vec<String>> {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for fault in &scenario.header.faults {
        match Rule::parse(&fault.text) {
            Ok(rule) => rules.push(rule),
            Err(e) => {
                let col = fault.pos.col + e.column.saturating_sub(1);
                let caret = " ".repeat(e.column.saturating_sub(1));
                errors.push(format!(
                    "{file}:{}:{col}: faults: expected {}, found {}\n  {}\n  {caret}^",
                    fault.pos.line, e.expected, e.found, fault.text
                ));
            }
        }
    }
    if errors.is_empty() { Ok(rules) } else { Err(errors) }
}

/// Why a scenario with `faults:` is skipped against a server that is not mailrig's own.
pub const REMOTE_SKIP: &str = "the scenario's `faults:` make mailrig's own servers misbehave; \
                               they cannot be applied to a remote server";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_rule_is_reported_at_its_place_in_the_file() {
        let text = "name: t\nsessions: a=smtp\nfaults: rcpt#2: close\nfaults: rcpt#2: explode\na S: 220 hi\n";
        let scenario = mailrig_transcript::parse("t.scenario", text).expect("parses");
        let errors = scenario_faults(&scenario, "t.scenario").expect_err("one bad rule");
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with("t.scenario:4:17: faults: expected an action"),
            "{}",
            errors[0]
        );
        let good = "name: t\nsessions: a=smtp\nfaults: rcpt#2: close\na S: 220 hi\n";
        let scenario = mailrig_transcript::parse("t.scenario", good).expect("parses");
        assert_eq!(scenario_faults(&scenario, "t.scenario").map(|r| r.len()), Ok(1));
    }
}
