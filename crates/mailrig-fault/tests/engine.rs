//! The engine, one test per trigger and per action: replies in, plans out.

use std::time::Duration;

use mailrig_fault::{ConnFaults, FaultSet, Plan, Protocol, Refusal, Reply, ReplyKind, Rule, Step, Then};

fn set(rules: &[&str]) -> FaultSet {
    let rules = rules.iter().map(|r| Rule::parse(r).expect(r)).collect();
    FaultSet::new(rules, 42)
}

fn smtp(rules: &[&str]) -> ConnFaults {
    set(rules).connection(Protocol::Smtp)
}

fn imap(rules: &[&str]) -> ConnFaults {
    set(rules).connection(Protocol::Imap)
}

fn reply(step: Step, kind: ReplyKind, bytes: &str) -> Reply {
    Reply::new(step, kind, bytes)
}

fn rcpt() -> Reply {
    reply(Step::Command("RCPT"), ReplyKind::Final, "250 2.1.5 Ok\r\n")
}

/// Everything the plan writes, concatenated.
fn bytes(plan: &Plan) -> String {
    let all: Vec<u8> = plan.writes.iter().flat_map(|w| w.bytes.clone()).collect();
    String::from_utf8_lossy(&all).into_owned()
}

fn untouched(plan: &Plan, original: &str) -> bool {
    plan.then == Then::Continue
        && plan.writes.len() == 1
        && plan.writes[0].delay.is_zero()
        && bytes(plan) == original
}

// --- triggers ---

#[test]
fn no_rule_passes_replies_whole() {
    let mut conn = smtp(&[]);
    assert!(untouched(&conn.on_reply(rcpt()), "250 2.1.5 Ok\r\n"));
    assert_eq!(conn.on_connect(), Plan::default());
}

#[test]
fn nth_occurrence_fires_once() {
    let mut conn = smtp(&["rcpt#2: reply 452 4.2.2 full"]);
    let got: Vec<String> = (0..3).map(|_| bytes(&conn.on_reply(rcpt()))).collect();
    assert_eq!(
        got,
        ["250 2.1.5 Ok\r\n", "452 4.2.2 full\r\n", "250 2.1.5 Ok\r\n"]
    );
}

#[test]
fn a_verb_matches_only_its_own_replies_and_any_matches_all() {
    let mut conn = smtp(&["MAIL: close"]);
    assert!(untouched(&conn.on_reply(rcpt()), "250 2.1.5 Ok\r\n"));
    let mail = reply(Step::Command("MAIL"), ReplyKind::Final, "250 Ok\r\n");
    assert_eq!(conn.on_reply(mail.clone()).then, Then::Close);
    let mut all = smtp(&["any: close"]);
    assert_eq!(all.on_reply(rcpt()).then, Then::Close);
}

#[test]
fn connection_number_and_protocol_select_connections() {
    let faults = set(&["smtp greeting conn#2: close"]);
    let greeting = || reply(Step::Greeting, ReplyKind::Final, "220 hi\r\n");
    let mut first = faults.connection(Protocol::Smtp);
    let mut imap = faults.connection(Protocol::Imap);
    let mut second = faults.connection(Protocol::Smtp);
    assert_eq!(first.on_reply(greeting()).then, Then::Continue);
    assert_eq!(
        imap.on_reply(greeting()).then,
        Then::Continue,
        "imap conn#1 and not smtp"
    );
    assert_eq!(second.on_reply(greeting()).then, Then::Close);
}

#[test]
fn connect_nth_is_the_connection_number() {
    let faults = set(&["connect#3: reset"]);
    let thens: Vec<Then> = (0..4)
        .map(|_| faults.connection(Protocol::Smtp).on_connect().then)
        .collect();
    assert_eq!(
        thens,
        [Then::Continue, Then::Continue, Then::Reset, Then::Continue]
    );
}

#[test]
fn connect_reply_writes_and_closes() {
    let plan = smtp(&["connect: reply 421 4.3.2 busy"]).on_connect();
    assert_eq!(
        (bytes(&plan).as_str(), plan.then),
        ("421 4.3.2 busy\r\n", Then::Close)
    );
    let plan = imap(&["connect: bye"]).on_connect();
    assert_eq!(bytes(&plan), "* BYE server shutting down\r\n");
}

#[test]
fn tls_event_fires_before_the_handshake() {
    let mut conn = smtp(&[r#"tls: inject "250 sneaky""#]);
    assert_eq!(bytes(&conn.on_tls()), "250 sneaky\r\n");
}

#[test]
fn rcpt_address_refuses_through_the_backend() {
    let mut conn = smtp(&["rcpt <bob@example.test>: reply 550 5.1.1 gone"]);
    assert_eq!(
        conn.refusal(Step::Command("RCPT"), Some("alice@example.test")),
        None
    );
    assert!(untouched(&conn.on_reply(rcpt()), "250 2.1.5 Ok\r\n"));
    let refusal = conn.refusal(Step::Command("RCPT"), Some("BOB@example.test"));
    assert_eq!(
        refusal,
        Some(Refusal {
            code: 550,
            text: "5.1.1 gone".into()
        })
    );
    // The session answers with the refusal; the reply is the same occurrence, unchanged.
    let refused = reply(Step::Command("RCPT"), ReplyKind::Final, "550 5.1.1 gone\r\n");
    assert!(untouched(&conn.on_reply(refused), "550 5.1.1 gone\r\n"));
}

#[test]
fn a_refusal_counts_the_occurrence_once() {
    let mut conn = smtp(&["rcpt#2: reply 452 4.2.2 full"]);
    assert_eq!(conn.refusal(Step::Command("RCPT"), Some("a@x")), None);
    let _ = conn.on_reply(rcpt());
    assert!(conn.refusal(Step::Command("RCPT"), Some("b@x")).is_some());
    let _ = conn.on_reply(reply(
        Step::Command("RCPT"),
        ReplyKind::Final,
        "452 4.2.2 full\r\n",
    ));
    assert_eq!(
        conn.refusal(Step::Command("RCPT"), Some("c@x")),
        None,
        "third is not #2"
    );
}

#[test]
fn data_end_close_refuses_delivery_and_a_250_rewrite_does_not() {
    let mut conn = smtp(&["data-end: close"]);
    assert!(conn.refusal(Step::MessageEnd, None).is_some());
    let mut conn = smtp(&["data-end: reply 250 2.0.0 fine"]);
    assert_eq!(conn.refusal(Step::MessageEnd, None), None);
}

#[test]
fn untagged_nth_counts_within_the_command() {
    let mut conn = imap(&["imap FETCH untagged#2: truncate 5"]);
    let fetch = |n: u32| {
        reply(
            Step::Command("FETCH"),
            ReplyKind::Untagged,
            &format!("* {n} FETCH (FLAGS ())\r\n"),
        )
    };
    let tagged = reply(Step::Command("FETCH"), ReplyKind::Final, "a OK done\r\n");
    assert_eq!(bytes(&conn.on_reply(fetch(1))), "* 1 FETCH (FLAGS ())\r\n");
    assert_eq!(bytes(&conn.on_reply(fetch(2))), "* 2 F");
    assert_eq!(bytes(&conn.on_reply(fetch(3))), "* 3 FETCH (FLAGS ())\r\n");
    assert_eq!(bytes(&conn.on_reply(tagged)), "a OK done\r\n");
    // The next FETCH starts counting again.
    assert_eq!(bytes(&conn.on_reply(fetch(1))), "* 1 FETCH (FLAGS ())\r\n");
    assert_eq!(bytes(&conn.on_reply(fetch(2))), "* 2 F");
}

#[test]
fn default_selection_is_the_final_or_continuation_reply() {
    let mut conn = imap(&["imap NOOP: reply NO busy"]);
    let exists = reply(Step::Command("NOOP"), ReplyKind::Untagged, "* 3 EXISTS\r\n");
    assert_eq!(bytes(&conn.on_reply(exists)), "* 3 EXISTS\r\n");
    let done = reply(
        Step::Command("NOOP"),
        ReplyKind::Final,
        "a7 OK NOOP completed\r\n",
    );
    assert_eq!(bytes(&conn.on_reply(done)), "a7 NO busy\r\n", "the tag is kept");
}

#[test]
fn each_literal_is_its_own_occurrence() {
    let mut conn = imap(&["literal#2: close"]);
    let plus = || reply(Step::Literal, ReplyKind::Continuation, "+ go\r\n");
    assert_eq!(conn.on_reply(plus()).then, Then::Continue);
    assert_eq!(conn.on_reply(plus()).then, Then::Close);
}

#[test]
fn random_rules_are_deterministic_per_seed_and_roughly_p() {
    let run = |seed: u64| -> Vec<bool> {
        let rule = format!("random(seed={seed}, p=0.3) rcpt: close");
        let mut conn = smtp(&[&rule]);
        (0..200)
            .map(|_| conn.on_reply(rcpt()).then == Then::Close)
            .collect()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
    let fired = run(7).iter().filter(|f| **f).count();
    assert!((30..90).contains(&fired), "{fired} of 200 at p=0.3");
}

#[test]
fn a_random_rule_without_seed_gets_the_sets_seed_and_prints_it() {
    let faults = set(&["random(p=0.5) rcpt: close"]);
    assert_eq!(
        faults.rules()[0].to_string(),
        "random(seed=42, p=0.5) RCPT: close"
    );
    assert!(
        faults
            .describe()
            .starts_with("fault seed 42\nfault: random(seed=42")
    );
}

// --- actions ---

#[test]
fn reply_replaces_smtp_text_and_bye_closes() {
    let mut conn = smtp(&["MAIL: bye"]);
    let plan = conn.on_reply(reply(Step::Command("MAIL"), ReplyKind::Final, "250 Ok\r\n"));
    assert_eq!(
        (bytes(&plan).as_str(), plan.then),
        (
            "421 4.3.2 Service not available, closing transmission channel\r\n",
            Then::Close
        )
    );
}

#[test]
fn imap_bye_mid_fetch() {
    let mut conn = imap(&["FETCH untagged#2: bye too much"]);
    let data = |n| reply(Step::Command("FETCH"), ReplyKind::Untagged, n);
    assert_eq!(
        bytes(&conn.on_reply(data("* 1 FETCH (UID 1)\r\n"))),
        "* 1 FETCH (UID 1)\r\n"
    );
    let plan = conn.on_reply(data("* 2 FETCH (UID 2)\r\n"));
    assert_eq!(
        (bytes(&plan).as_str(), plan.then),
        ("* BYE too much\r\n", Then::Close)
    );
}

#[test]
fn close_reset_and_stall_write_nothing() {
    for (rule, then) in [
        ("rcpt: close", Then::Close),
        ("rcpt: reset", Then::Reset),
        ("rcpt: stall", Then::Stall),
    ] {
        let plan = smtp(&[rule]).on_reply(rcpt());
        assert_eq!((bytes(&plan).as_str(), plan.then), ("", then), "{rule}");
    }
}

/// A connection cut mid-line: `truncate` with `close`, `reset` or `stall` on the same reply
/// writes the reply's first bytes, then ends (alone, each of the three writes nothing).
#[test]
fn truncate_with_close_reset_or_stall_cuts_mid_line() {
    for (action, then) in [
        ("close", Then::Close),
        ("reset", Then::Reset),
        ("stall", Then::Stall),
    ] {
        let rules = ["rcpt#1: truncate 5".to_owned(), format!("rcpt#1: {action}")];
        let rules: Vec<&str> = rules.iter().map(String::as_str).collect();
        let plan = smtp(&rules).on_reply(rcpt());
        assert_eq!((bytes(&plan).as_str(), plan.then), ("250 2", then), "{action}");
    }
}

#[test]
fn delay_waits_before_the_reply() {
    let plan = smtp(&["rcpt: delay 2s"]).on_reply(rcpt());
    assert_eq!(plan.writes.len(), 1);
    assert_eq!(plan.writes[0].delay, Duration::from_secs(2));
    assert_eq!(bytes(&plan), "250 2.1.5 Ok\r\n");
}

#[test]
fn throttle_paces_the_bytes() {
    let plan = smtp(&["rcpt: throttle 20"]).on_reply(rcpt());
    // 20 bytes/s: 2-byte writes 100 ms apart.
    assert_eq!(plan.writes.len(), 7);
    assert!(
        plan.writes
            .iter()
            .skip(1)
            .all(|w| w.delay == Duration::from_millis(100))
    );
    assert_eq!(bytes(&plan), "250 2.1.5 Ok\r\n");
}

#[test]
fn split_every_and_at_offsets() {
    let plan = smtp(&["rcpt: split 1"]).on_reply(rcpt());
    assert_eq!(plan.writes.len(), "250 2.1.5 Ok\r\n".len());
    let plan = smtp(&["rcpt: split at 3,4"]).on_reply(rcpt());
    let parts: Vec<&[u8]> = plan.writes.iter().map(|w| w.bytes.as_slice()).collect();
    assert_eq!(parts, [&b"250"[..], b" ", b"2.1.5 Ok\r\n"]);
}

#[test]
fn merge_holds_a_reply_for_the_next_write() {
    let mut conn = imap(&["imap NOOP untagged: merge"]);
    let exists = reply(Step::Command("NOOP"), ReplyKind::Untagged, "* 3 EXISTS\r\n");
    assert_eq!(conn.on_reply(exists).writes, vec![]);
    let done = reply(Step::Command("NOOP"), ReplyKind::Final, "a OK\r\n");
    let plan = conn.on_reply(done);
    assert_eq!(plan.writes.len(), 1);
    assert_eq!(bytes(&plan), "* 3 EXISTS\r\na OK\r\n");
}

#[test]
fn inject_before_and_after_the_starttls_go_ahead() {
    let mut conn = smtp(&[r#"starttls: inject "250 injected""#]);
    let go = reply(
        Step::Command("STARTTLS"),
        ReplyKind::Final,
        "220 2.0.0 Ready to start TLS\r\n",
    );
    let plan = conn.on_reply(go);
    assert_eq!(bytes(&plan), "220 2.0.0 Ready to start TLS\r\n250 injected\r\n");
    assert_eq!(plan.writes.len(), 1, "one write: the client's buffer gets both");
    let mut conn = imap(&[r#"NOOP: inject before "* 9 EXISTS""#]);
    let done = reply(Step::Command("NOOP"), ReplyKind::Final, "a OK\r\n");
    assert_eq!(bytes(&conn.on_reply(done)), "* 9 EXISTS\r\na OK\r\n");
}

#[test]
fn corruptions() {
    let fetch = "* 1 FETCH (BODY[] {5}\r\nhello)\r\n";
    let untagged = || reply(Step::Command("FETCH"), ReplyKind::Untagged, fetch);
    let cases = [
        ("FETCH untagged: truncate 4", "* 1 "),
        (
            "FETCH untagged: literal-count -1",
            "* 1 FETCH (BODY[] {4}\r\nhello)\r\n",
        ),
        (
            "FETCH untagged: literal-count +100",
            "* 1 FETCH (BODY[] {105}\r\nhello)\r\n",
        ),
        ("FETCH untagged: bare-lf", "* 1 FETCH (BODY[] {5}\nhello)\n"),
    ];
    for (rule, expected) in cases {
        assert_eq!(bytes(&imap(&[rule]).on_reply(untagged())), expected, "{rule}");
    }
    let plan = imap(&["FETCH untagged: invalid-utf8"]).on_reply(untagged());
    assert_eq!(&plan.writes[0].bytes[..4], b"* \xff\xfe");
    assert!(std::str::from_utf8(&plan.writes[0].bytes).is_err());
    let done = reply(Step::Command("FETCH"), ReplyKind::Final, "a12 OK done\r\n");
    assert_eq!(
        bytes(&imap(&["FETCH: wrong-tag Z1"]).on_reply(done)),
        "Z1 OK done\r\n"
    );
}

#[test]
fn capabilities_are_dropped_renamed_and_added() {
    let ehlo = "250-mailrig\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n";
    let ehlo_reply = || reply(Step::Command("EHLO"), ReplyKind::Final, ehlo);
    assert_eq!(
        bytes(&smtp(&["EHLO: drop-cap STARTTLS"]).on_reply(ehlo_reply())),
        "250-mailrig\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN\r\n"
    );
    assert_eq!(
        bytes(&smtp(&["EHLO: drop-cap AUTH"]).on_reply(ehlo_reply())),
        "250-mailrig\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
    );
    assert_eq!(
        bytes(&smtp(&["EHLO: add-cap SMTPUTF8"]).on_reply(ehlo_reply())),
        "250-mailrig\r\n250-PIPELINING\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250 SMTPUTF8\r\n"
    );
    let greeting = reply(
        Step::Greeting,
        ReplyKind::Final,
        "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n",
    );
    assert_eq!(
        bytes(&imap(&["greeting: drop-cap STARTTLS"]).on_reply(greeting.clone())),
        "* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] ready\r\n"
    );
    assert_eq!(
        bytes(&imap(&["greeting: rename-cap starttls XSTARTTLS"]).on_reply(greeting)),
        "* OK [CAPABILITY IMAP4rev1 XSTARTTLS LOGINDISABLED] ready\r\n"
    );
    let cap = reply(
        Step::Command("CAPABILITY"),
        ReplyKind::Untagged,
        "* CAPABILITY IMAP4rev1 IDLE\r\n",
    );
    assert_eq!(
        bytes(&imap(&["CAPABILITY untagged: add-cap QUOTA"]).on_reply(cap)),
        "* CAPABILITY IMAP4rev1 IDLE QUOTA\r\n"
    );
}

#[test]
fn rules_compose_in_order() {
    let mut conn = smtp(&["rcpt: reply 452 4.2.2 full", "rcpt: split 4", "rcpt: delay 1s"]);
    let plan = conn.on_reply(rcpt());
    assert_eq!(bytes(&plan), "452 4.2.2 full\r\n");
    assert_eq!(plan.writes[0].bytes, b"452 ");
    assert_eq!(plan.writes[0].delay, Duration::from_secs(1));
}

// --- refusals ahead of pipelined replies, IMAP refusals, data responses, client address ---

#[test]
fn pipelined_refusals_wait_for_their_own_replies() {
    // A session runs all three pipelined RCPTs before their replies are written.
    // (Counting a queued occurrence again at its reply would make the 2nd reply the 4th.)
    let mut conn = smtp(&["rcpt#2: reply 452 4.2.2 full", "rcpt#4: reply 554 5.0.0 never"]);
    assert_eq!(conn.refusal(Step::Command("RCPT"), Some("a@x")), None);
    assert!(conn.refusal(Step::Command("RCPT"), Some("b@x")).is_some());
    assert_eq!(conn.refusal(Step::Command("RCPT"), Some("c@x")), None);
    let refused = reply(Step::Command("RCPT"), ReplyKind::Final, "452 4.2.2 full\r\n");
    assert!(untouched(&conn.on_reply(rcpt()), "250 2.1.5 Ok\r\n"));
    assert!(untouched(&conn.on_reply(refused), "452 4.2.2 full\r\n"));
    assert!(
        untouched(&conn.on_reply(rcpt()), "250 2.1.5 Ok\r\n"),
        "the third RCPT's reply is not counted as a fourth occurrence"
    );
}

#[test]
fn an_imap_no_or_bye_refuses_the_operation_and_an_ok_does_not() {
    let mut conn = imap(&["imap APPEND: reply NO [OVERQUOTA] quota exceeded"]);
    assert_eq!(
        conn.imap_refusal(Step::Command("APPEND")),
        Some(mailrig_fault::ImapRefusal {
            bad: false,
            code: Some("OVERQUOTA".into()),
            text: "quota exceeded".into()
        })
    );
    let refused = reply(
        Step::Command("APPEND"),
        ReplyKind::Final,
        "a NO [OVERQUOTA] quota exceeded\r\n",
    );
    assert!(untouched(
        &conn.on_reply(refused),
        "a NO [OVERQUOTA] quota exceeded\r\n"
    ));
    assert_eq!(conn.imap_refusal(Step::Command("COPY")), None, "another verb");
    assert!(imap(&["COPY: bye"]).imap_refusal(Step::Command("COPY")).is_some());
    assert!(
        imap(&["SELECT: reply BAD nope"])
            .imap_refusal(Step::Command("SELECT"))
            .is_some_and(|r| r.bad)
    );
    assert_eq!(
        imap(&["APPEND: reply OK fine"]).imap_refusal(Step::Command("APPEND")),
        None
    );
    assert_eq!(
        imap(&["APPEND: delay 1s"]).imap_refusal(Step::Command("APPEND")),
        None
    );
    assert_eq!(
        imap(&["UID COPY: reply NO x"]).imap_refusal(Step::Command("COPY")),
        None,
        "UID COPY is its own verb"
    );
}

fn data(step: &'static str, name: &'static str, bytes: &str) -> Reply {
    reply(Step::Command(step), ReplyKind::Untagged, bytes).with_data(name)
}

#[test]
fn a_data_name_selects_the_nth_response_of_that_name_in_the_step() {
    let mut conn = imap(&["imap FETCH untagged FETCH#2: truncate 5"]);
    assert!(untouched(
        &conn.on_reply(data("FETCH", "EXISTS", "* 4 EXISTS\r\n")),
        "* 4 EXISTS\r\n"
    ));
    assert!(untouched(
        &conn.on_reply(data("FETCH", "FETCH", "* 1 FETCH ()\r\n")),
        "* 1 FETCH ()\r\n"
    ));
    assert_eq!(
        bytes(&conn.on_reply(data("FETCH", "FETCH", "* 2 FETCH ()\r\n"))),
        "* 2 F"
    );
    assert!(untouched(
        &conn.on_reply(data("FETCH", "FETCH", "* 3 FETCH ()\r\n")),
        "* 3 FETCH ()\r\n"
    ));
}

#[test]
fn untagged_name_counts_across_steps_including_unsolicited_ones() {
    let mut conn = imap(&["imap untagged EXISTS#2: reply * 99 EXISTS"]);
    let select = data("SELECT", "EXISTS", "* 1 EXISTS\r\n");
    assert!(untouched(&conn.on_reply(select), "* 1 EXISTS\r\n"));
    let _ = conn.on_reply(reply(Step::Command("SELECT"), ReplyKind::Final, "a OK\r\n"));
    let _ = conn.on_reply(reply(
        Step::Command("IDLE"),
        ReplyKind::Continuation,
        "+ idling\r\n",
    ));
    let pushed = data("IDLE", "EXISTS", "* 2 EXISTS\r\n");
    assert_eq!(bytes(&conn.on_reply(pushed)), "* 99 EXISTS\r\n");
    let third = data("NOOP", "EXISTS", "* 3 EXISTS\r\n");
    assert!(untouched(&conn.on_reply(third), "* 3 EXISTS\r\n"));
}

#[test]
fn from_keys_on_the_clients_address() {
    let rules = set(&["from 127.0.0.2 connect: reset"]);
    let mut other = rules.connection(Protocol::Smtp);
    other.set_peer("127.0.0.1".parse().unwrap());
    assert_eq!(other.on_connect().then, Then::Continue);
    let mut unknown = rules.connection(Protocol::Smtp);
    assert_eq!(unknown.on_connect().then, Then::Continue, "no address, no match");
    let mut this = rules.connection(Protocol::Smtp);
    this.set_peer("127.0.0.2".parse().unwrap());
    assert_eq!(this.on_connect().then, Then::Reset);
}
