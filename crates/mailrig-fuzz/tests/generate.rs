//! Generated cases are scenarios: printable with the canonical printer, parsed back to
//! themselves, equal to the canonical when they carry no mutation, and each mutation kind
//! writes what its documentation says (known answers on the shipped flows).

use mailrig_fuzz::{BadBytes, Case, Expect, Extra, Flow, Mutation, hostile, legal};
use proptest::prelude::*;

fn printed(flow: Flow, mutations: Vec<Mutation>) -> String {
    Case::new(&flow.canonical(), mutations).to_text()
}

/// The printed case's protocol lines (comments and header left out).
fn body(text: &str) -> Vec<&str> {
    text.lines()
        .skip_while(|l| !l.is_empty())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn legal_cases_print_and_parse_back(case in legal(&Flow::ImapFetch.canonical())) {
        round_trip(&case)?;
        prop_assert_eq!(case.expect(), Expect::Same);
    }

    #[test]
    fn hostile_cases_print_and_parse_back(case in hostile(&Flow::ImapFetch.canonical())) {
        round_trip(&case)?;
    }

    #[test]
    fn smtp_cases_print_and_parse_back(case in hostile(&Flow::SmtpSend.canonical())) {
        round_trip(&case)?;
    }
}

fn round_trip(case: &Case) -> Result<(), TestCaseError> {
    let scenario = case.scenario();
    let text = mailrig_transcript::print(&scenario);
    let parsed =
        mailrig_transcript::parse("case.scenario", &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&parsed, &scenario, "{}", text);
    for fault in &scenario.header.faults {
        let rule = mailrig_fault::Rule::parse(&fault.text);
        prop_assert!(rule.is_ok(), "{}: {:?}", fault.text, rule);
    }
    Ok(())
}

#[test]
fn no_mutation_is_the_canonical() {
    for flow in [Flow::ImapFetch, Flow::SmtpSend] {
        let canonical = flow.canonical();
        let case = Case::new(&canonical, Vec::new());
        assert_eq!(case.scenario().body, canonical.scenario().body);
        assert_eq!(body(&case.to_text()), body(flow.text()));
    }
}

#[test]
fn imap_legal_mutations() {
    let text = printed(
        Flow::ImapFetch,
        vec![
            Mutation::Literal { line: 3, nth: 0 },
            Mutation::Permute {
                line: 11,
                swaps: vec![(0, 2)],
            },
            Mutation::KeywordCase {
                line: 7,
                alternate: false,
            },
            Mutation::KeywordCase {
                line: 1,
                alternate: true,
            },
            Mutation::Extra {
                line: 12,
                extra: Extra::FetchFlags,
            },
            Mutation::Extra {
                line: 12,
                extra: Extra::Exists,
            },
            Mutation::Permute {
                line: 0,
                swaps: vec![(0, 1)],
            },
            Mutation::Split { line: 5, at: 3 },
            Mutation::Sleep { line: 2, ms: 3 },
        ],
    );
    let lines = body(&text);
    for expected in [
        "S: * OK [CAPABILITY LITERAL+ IMAP4rev1 IDLE] mailrig fuzz ready",
        "S: ${t1} Ok LOGIN completed",
        "@sleep 3ms",
        "S: * LIST (\\HasNoChildren \\Sent) \"/\" {10}${\\r\\n}Sent Items",
        "S: ${t2} OK${|} LIST completed",
        "S: * 2 exists",
        "S: * 1 FETCH (BODY[] {24}${\\r\\n}Subject: fuzz${\\r\\n\\r\\n}hello${\\r\\n} FLAGS (\\Seen) UID 1)",
        "S: * 1 FETCH (FLAGS (\\Seen))",
        "S: * 2 EXISTS",
    ] {
        assert!(lines.contains(&expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn smtp_ehlo_keywords_are_reordered_and_the_last_line_ends_the_reply() {
    let text = printed(
        Flow::SmtpSend,
        vec![Mutation::Permute {
            line: 1,
            swaps: vec![(0, 3)],
        }],
    );
    let lines = body(&text);
    let at = lines
        .iter()
        .position(|l| *l == "S: 250-mx.example.test greets you")
        .expect("EHLO reply");
    assert_eq!(
        lines[at + 1..at + 5],
        [
            "S: 250-STARTTLS",
            "S: 250-8BITMIME",
            "S: 250-SIZE 10240000",
            "S: 250 PIPELINING"
        ]
    );
}

#[test]
fn hostile_mutations() {
    let text = printed(
        Flow::ImapFetch,
        vec![
            Mutation::WrongTag { line: 1 },
            Mutation::LiteralCount { line: 11, delta: -2 },
            Mutation::Bytes {
                line: 2,
                at: 2,
                bad: BadBytes::Nul,
            },
            Mutation::Garbage {
                line: 6,
                bytes: b")))".to_vec(),
            },
            Mutation::Bye { line: 12 },
        ],
    );
    let lines = body(&text);
    for expected in [
        "S: X999 OK LOGIN completed",
        "S: * ${\\0}LIST (\\HasNoChildren) \"/\" INBOX",
        "S: )))",
        "S: * 1 FETCH (UID 1 FLAGS (\\Seen) BODY[] {22}${\\r\\n}Subject: fuzz${\\r\\n\\r\\n}hello${\\r\\n})",
    ] {
        assert!(lines.contains(&expected), "missing {expected:?} in\n{text}");
    }
    // The goodbye is a fault rule on FETCH's completion (line 12); the lines stay.
    assert!(
        text.contains("\nfaults: imap FETCH#1 final: bye mailrig fuzz: going away\n"),
        "{text}"
    );
    assert_eq!(lines.last(), Some(&"@close server"));
}

/// The protocol-step faults are `faults:` rules on the reply holding their line, and leave
/// the lines as they are: a cut inside a multi-line reply truncates the whole reply there.
#[test]
fn step_faults_are_fault_rules_on_the_reply_of_their_line() {
    let faults = |mutations: Vec<Mutation>| -> Vec<String> {
        let case = Case::new(&Flow::SmtpSend.canonical(), mutations);
        if case.mutations().iter().all(|m| !m.keeps_outcome()) {
            assert_eq!(body(&case.to_text()), body(Flow::SmtpSend.text()));
        }
        case.scenario()
            .header
            .faults
            .iter()
            .map(|f| f.text.clone())
            .collect()
    };
    assert_eq!(
        faults(vec![Mutation::Stall { line: 0 }]),
        ["smtp greeting#1 final: stall"]
    );
    assert_eq!(
        faults(vec![Mutation::Reset { line: 14 }]),
        ["smtp data-end#1 final: reset"]
    );
    // Line 2 is `250-PIPELINING`, the second line of the first EHLO reply.
    let at = "250-mx.example.test greets you\r\n".len() + 3;
    assert_eq!(
        faults(vec![Mutation::Cut { line: 2, at: 3 }]),
        [
            format!("smtp EHLO#1 final: truncate {at}"),
            "smtp EHLO#1 final: close".to_owned()
        ]
    );
    assert!(faults(vec![Mutation::Split { line: 2, at: 3 }]).is_empty());
}

#[test]
fn injection_goes_in_the_go_ahead_write_and_keeps_the_outcome() {
    let case = Case::new(&Flow::SmtpSend.canonical(), vec![Mutation::InjectAfterStartTls]);
    let text = case.to_text();
    let lines = body(&text);
    let at = lines.iter().position(|l| *l == "@starttls").expect("@starttls");
    assert_eq!(
        lines[at - 2..at],
        ["S: 220 2.0.0 ready to start TLS", "S: 250 injected before TLS"]
    );
    assert_eq!(case.expect(), Expect::SameOrGaveUp);
    let bye = Case::new(&Flow::SmtpSend.canonical(), vec![Mutation::Bye { line: 0 }]);
    assert_eq!(bye.expect(), Expect::Survive);
}

/// What the fuzzer found (an `@sleep` between the lines of a multi-line SMTP reply left the
/// replay's reply unfinished) is now a scenario error: a reply is one unit, so the strategies
/// put sleeps only at reply boundaries (below), and a file that does otherwise is refused.
#[test]
fn a_sleep_inside_a_multi_line_reply_is_refused() {
    let text = "name: x\nsessions: s=smtp\nplays: server\n\nS: 220 hi\nC: EHLO x\nS: 250-one\n@sleep 0ms\nS: 250 two\nC: QUIT\nS: 221 bye\n";
    let error = mailrig_transcript::parse("x", text)
        .expect_err("refused")
        .to_string();
    assert!(
        error.contains("`@sleep` inside a multi-line SMTP reply"),
        "{error}"
    );
}

/// The strategies keep sleeps out of multi-line SMTP replies (which the format refuses).
#[test]
fn sleeps_stay_at_reply_boundaries() {
    use proptest::strategy::ValueTree;
    let canonical = Flow::SmtpSend.canonical();
    let strategy = mailrig_fuzz::legal_mutation(&canonical);
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..500 {
        if let Mutation::Sleep { line, .. } = strategy.new_tree(&mut runner).expect("tree").current() {
            assert!(
                ![2, 3, 4, 5, 8, 9, 10].contains(&line),
                "a sleep inside a reply: line {line}"
            );
        }
    }
}

/// Every kind the strategies generate is in `Mutation::KINDS` (what `--skip` accepts), and
/// every listed kind is generated: the list and `kind()` are kept by hand.
#[test]
fn every_generated_kind_is_listed_and_every_listed_kind_generated() {
    use proptest::strategy::ValueTree;
    let mut seen = std::collections::BTreeSet::new();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for flow in [Flow::ImapFetch, Flow::SmtpSend] {
        let canonical = flow.canonical();
        for strategy in [
            mailrig_fuzz::legal_mutation(&canonical),
            mailrig_fuzz::hostile_mutation(&canonical),
        ] {
            for _ in 0..2000 {
                let kind = strategy.new_tree(&mut runner).expect("tree").current().kind();
                assert!(Mutation::KINDS.contains(&kind), "{kind} is not in KINDS");
                seen.insert(kind);
            }
        }
    }
    let listed: std::collections::BTreeSet<&str> = Mutation::KINDS.into_iter().collect();
    assert_eq!(seen, listed, "listed kinds the strategies never generated");
}
