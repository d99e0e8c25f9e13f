//! The engine driven by hand with a fake clock, and two engines (client and server role)
//! playing one scenario against each other.

use super::*;
use crate::parse;
use crate::report::render as render_report;
use crate::verify::Outcome;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn engine(text: &str, role: Role) -> Engine {
    let scenario = parse("t.scenario", text).expect("valid scenario");
    Engine::new(scenario, role, &BTreeMap::new(), EngineConfig::default()).expect("engine starts")
}

/// Everything the engine wants written on `session` right now, concatenated.
fn drain(engine: &mut Engine) -> Vec<Transmit> {
    std::iter::from_fn(|| engine.poll_transmit()).collect()
}

fn written(transmits: &[Transmit]) -> String {
    transmits
        .iter()
        .filter_map(|t| match t {
            Transmit::Data { bytes, .. } => Some(String::from_utf8_lossy(bytes).into_owned()),
            _ => None,
        })
        .collect()
}

fn report(engine: &Engine) -> &Report {
    match engine.result() {
        Some(Ok(report)) => report,
        other => panic!("the run has not finished with a report: {other:?}"),
    }
}

fn failure_reason(engine: &Engine) -> String {
    report(engine)
        .failure()
        .map(|f| f.reason.clone())
        .unwrap_or_else(|| "passed".to_owned())
}

const NOOP: &str = "name: noop\nsessions: a=imap\nplays: client\n\nS: * OK ${_}\nC: A1 NOOP\nS: A1 OK ${_}\n";

#[test]
fn client_role_connects_then_sends_after_the_greeting() {
    let mut e = engine(NOOP, Role::Client);
    assert_eq!(drain(&mut e), vec![Transmit::Connect { session: 0 }]);
    e.handle_connected(0, ms(1));
    assert!(drain(&mut e).is_empty(), "nothing is sent before the greeting");
    // Half a greeting is not a mismatch: the engine waits for the rest.
    e.handle_received(0, b"* OK rea", ms(2));
    assert!(!e.is_finished());
    assert!(drain(&mut e).is_empty());
    e.handle_received(0, b"dy\r\n", ms(3));
    assert_eq!(written(&drain(&mut e)), "A1 NOOP\r\n");
    e.handle_received(0, b"A1 OK done\r\n", ms(4));
    assert!(report(&e).passed());
}

#[test]
fn a_wrong_line_fails_at_once_without_waiting() {
    let mut e = engine(NOOP, Role::Client);
    let _ = drain(&mut e);
    e.handle_connected(0, ms(1));
    e.handle_received(0, b"* OK ready\r\n", ms(2));
    let _ = drain(&mut e);
    e.handle_received(0, b"A1 NO go away\r\n", ms(3));
    assert_eq!(failure_reason(&e), "the tagged response differs");
}

#[test]
fn a_silent_server_fails_at_the_deadline_with_what_arrived() {
    let mut e = engine(NOOP, Role::Client);
    let _ = drain(&mut e);
    e.handle_connected(0, ms(1));
    e.handle_received(0, b"* OK ready\r\n", ms(2));
    let _ = drain(&mut e);
    e.handle_received(0, b"* 1 EXISTS\r\n", ms(3));
    let deadline = e.poll_timeout().expect("waiting for the tagged response");
    assert_eq!(deadline, ms(2) + Duration::from_secs(5));
    e.handle_timeout(deadline - ms(1));
    assert!(!e.is_finished(), "not before the deadline");
    e.handle_timeout(deadline);
    let failure = report(&e).failure().expect("failed").clone();
    assert_eq!(
        failure.reason,
        "the tagged response never arrived: nothing more was received from the server within 5s"
    );
    let shown = render_report(report(&e), "t.scenario", NOOP);
    assert!(shown.contains("* 1 EXISTS"), "what arrived is shown:\n{shown}");
    assert_eq!(e.poll_timeout(), None);
}

#[test]
fn within_is_a_deadline_measured_from_the_previous_step() {
    let text = "name: w\nsessions: a=imap\nplays: client\n\nS: * OK ${_}\n@within 500ms\nS: * 1 EXISTS\n";
    let start = |e: &mut Engine| {
        let _ = drain(e);
        e.handle_connected(0, ms(1));
        e.handle_received(0, b"* OK ready\r\n", ms(10));
    };
    let mut late = engine(text, Role::Client);
    start(&mut late);
    assert_eq!(late.poll_timeout(), Some(ms(510)));
    late.handle_timeout(ms(510));
    assert!(
        failure_reason(&late).contains("within 500ms"),
        "{}",
        failure_reason(&late)
    );

    let mut on_time = engine(text, Role::Client);
    start(&mut on_time);
    on_time.handle_received(0, b"* 1 EXISTS\r\n", ms(400));
    assert!(report(&on_time).passed());
}

#[test]
fn a_late_line_that_arrives_before_the_timer_fires_still_fails_within() {
    let text = "name: w\nsessions: a=imap\nplays: client\n\nS: * OK ${_}\n@within 500ms\nS: * 1 EXISTS\n";
    let mut e = engine(text, Role::Client);
    let _ = drain(&mut e);
    e.handle_connected(0, ms(1));
    e.handle_received(0, b"* OK ready\r\n", ms(10));
    e.handle_received(0, b"* 1 EXISTS\r\n", ms(900));
    assert!(
        failure_reason(&e).contains("`@within` allows 500 ms"),
        "{}",
        failure_reason(&e)
    );
}

#[test]
fn sleep_delays_the_next_write() {
    let text =
        "name: s\nsessions: a=imap\nplays: client\n\nS: * OK ${_}\n@sleep 200ms\nC: A1 NOOP\nS: A1 OK ${_}\n";
    let mut e = engine(text, Role::Client);
    let _ = drain(&mut e);
    e.handle_connected(0, ms(1));
    e.handle_received(0, b"* OK ready\r\n", ms(10));
    assert!(drain(&mut e).is_empty(), "asleep");
    assert_eq!(e.poll_timeout(), Some(ms(210)));
    e.handle_timeout(ms(210));
    assert_eq!(written(&drain(&mut e)), "A1 NOOP\r\n");
}

#[test]
fn synchronizing_literal_waits_for_the_continuation() {
    let text = "name: l\nsessions: a=imap\nplays: client\n\nS: * OK ${_}\nC: A1 APPEND INBOX {{{\nhi\n}}}\nS: A1 OK ${_}\n";
    let mut e = engine(text, Role::Client);
    let _ = drain(&mut e);
    e.handle_connected(0, ms(1));
    e.handle_received(0, b"* OK ready\r\n", ms(2));
    assert_eq!(written(&drain(&mut e)), "A1 APPEND INBOX {4}\r\n");
    e.handle_received(0, b"+ go on\r\n", ms(3));
    assert_eq!(written(&drain(&mut e)), "hi\r\n\r\n");
    e.handle_received(0, b"A1 OK appended\r\n", ms(4));
    assert!(report(&e).passed(), "{:?}", report(&e));
}

#[test]
fn a_refused_literal_is_not_sent_and_the_answer_is_judged_by_the_next_lines() {
    // RFC 9051 §7.5: the server may answer a synchronizing literal's announcement with a
    // completion instead of `+`; the client must then not send the data.
    let play = |expect: &str| {
        let text = format!(
            "name: l\nsessions: a=imap\nplays: client\n\nS: * OK ${{_}}\nC: A1 APPEND nowhere {{{{{{\nhi\n}}}}}}\n{expect}\nC: A2 NOOP\nS: A2 OK ${{_}}\n"
        );
        let mut e = engine(&text, Role::Client);
        let _ = drain(&mut e);
        e.handle_connected(0, ms(1));
        e.handle_received(0, b"* OK ready\r\n", ms(2));
        assert_eq!(written(&drain(&mut e)), "A1 APPEND nowhere {4}\r\n");
        e.handle_received(0, b"A1 NO [TRYCREATE] no such mailbox\r\n", ms(3));
        let after = written(&drain(&mut e));
        assert!(!after.contains("hi"), "the literal's data was sent: {after:?}");
        (e, after)
    };
    let (mut wanted, after) = play("S: A1 NO [TRYCREATE] ${_}");
    assert_eq!(after, "A2 NOOP\r\n");
    wanted.handle_received(0, b"A2 OK done\r\n", ms(4));
    assert!(report(&wanted).passed(), "{:?}", report(&wanted));
    let offline =
        crate::verify(wanted.scenario(), &wanted.transcript(), &BTreeMap::new()).expect("verifiable");
    assert!(
        offline.passed(),
        "checked afterwards, the transcript gets the same verdict: {offline:?}"
    );

    let (unwanted, _) = play("S: A1 OK ${_}");
    assert_eq!(failure_reason(&unwanted), "the tagged response differs");
}

#[test]
fn a_continuation_that_never_comes_fails_at_the_deadline() {
    let text = "name: l\nsessions: a=imap\nplays: client\n\nS: * OK ${_}\nC: A1 APPEND INBOX {{{\nhi\n}}}\nS: A1 OK ${_}\n";
    let mut e = engine(text, Role::Client);
    let _ = drain(&mut e);
    e.handle_connected(0, ms(1));
    e.handle_received(0, b"* OK ready\r\n", ms(2));
    let _ = drain(&mut e);
    let deadline = e.poll_timeout().expect("waiting for the continuation");
    e.handle_timeout(deadline);
    assert!(
        failure_reason(&e).contains("no `+` continuation request arrived"),
        "{}",
        failure_reason(&e)
    );
    assert_eq!(e.poll_timeout(), None, "a finished engine never asks to be woken");
}

#[test]
fn an_early_close_is_named() {
    let mut e = engine(NOOP, Role::Client);
    let _ = drain(&mut e);
    e.handle_connected(0, ms(1));
    e.handle_received(0, b"* OK ready\r\n", ms(2));
    let _ = drain(&mut e);
    e.handle_closed(0, ms(3));
    assert_eq!(
        failure_reason(&e),
        "the tagged response never arrived: the server closed the connection"
    );
}

#[test]
fn server_role_waits_for_the_client_and_answers_with_its_lines() {
    let text = "name: srv\nsessions: a=imap\nplays: server\n\n\
S: * OK ${_:text=hello}\nC: ${t:atom=A1} NOOP\nS: ${t} OK ${_:text=done}\n@close client\n";
    let mut e = engine(text, Role::Server);
    assert!(drain(&mut e).is_empty(), "the server waits for a client");
    e.handle_connected(0, ms(1));
    assert_eq!(written(&drain(&mut e)), "* OK hello\r\n");
    e.handle_received(0, b"x7 NO", ms(2));
    e.handle_received(0, b"OP\r\n", ms(3));
    assert_eq!(
        written(&drain(&mut e)),
        "x7 OK done\r\n",
        "the captured tag is echoed"
    );
    e.handle_closed(0, ms(4));
    assert!(report(&e).passed(), "{:?}", report(&e));
}

#[test]
fn a_wait_that_runs_out_ends_only_its_own_step() {
    // The optional client line never comes: its wait runs out, the step passes without it,
    // and the client may still send the lines after it.
    let text = "name: srv\nsessions: a=imap\nplays: server\n\n\
S: * OK ${_:text=hi}\nC: A1 NOOP\nC?: A2 NOOP\nS: A1 OK ${_:text=done}\n\
C: A3 LOGOUT\nS: A3 OK ${_:text=bye}\n";
    let mut e = engine(text, Role::Server);
    e.handle_connected(0, ms(1));
    let _ = drain(&mut e);
    e.handle_received(0, b"A1 NOOP\r\n", ms(2));
    let deadline = e.poll_timeout().expect("waiting for the optional line");
    e.handle_timeout(deadline);
    assert_eq!(written(&drain(&mut e)), "A1 OK done\r\n");
    assert!(!e.is_finished(), "{:?}", e.result());
    e.handle_received(0, b"A3 LOGOUT\r\n", deadline + ms(1));
    assert_eq!(written(&drain(&mut e)), "A3 OK bye\r\n");
    assert!(report(&e).passed(), "{:?}", report(&e));
    let offline = crate::verify(e.scenario(), &e.transcript(), &BTreeMap::new()).expect("verifiable");
    assert!(offline.passed(), "{offline:?}");
}

#[test]
fn server_role_answers_synchronizing_literals_with_a_continuation() {
    let text = "name: srv\nsessions: a=imap\nplays: server\n\n\
S: * OK ${_:text=hello}\nC: A1 APPEND INBOX {{{\nhi\n}}}\nS: A1 OK ${_:text=done}\n";
    let mut e = engine(text, Role::Server);
    e.handle_connected(0, ms(1));
    let _ = drain(&mut e);
    e.handle_received(0, b"A1 APPEND INBOX {4}\r\n", ms(2));
    assert_eq!(written(&drain(&mut e)), "+ Ready for literal data\r\n");
    e.handle_received(0, b"hi\r\n\r\n", ms(3));
    assert_eq!(written(&drain(&mut e)), "A1 OK done\r\n");
    assert!(report(&e).passed(), "{:?}", report(&e));
}

#[test]
fn server_role_sends_its_own_literals_without_waiting_for_a_continuation() {
    let text = "name: srv\nsessions: a=imap\nplays: server\n\n\
S: * OK ${_:text=hello}\nC: A1 FETCH 1 BODY[]\nS: * 1 FETCH (BODY[] {{{\nhi\n}}})\nS: A1 OK ${_:text=done}\n";
    let mut e = engine(text, Role::Server);
    e.handle_connected(0, ms(1));
    let _ = drain(&mut e);
    e.handle_received(0, b"A1 FETCH 1 BODY[]\r\n", ms(2));
    assert_eq!(
        written(&drain(&mut e)),
        "* 1 FETCH (BODY[] {4}\r\nhi\r\n)\r\nA1 OK done\r\n"
    );
    assert!(report(&e).passed(), "{:?}", report(&e));
}

#[test]
fn server_role_catches_a_client_that_sends_the_wrong_command() {
    let text = "name: srv\nsessions: s=smtp\nplays: server\n\n\
S: 220 ${_:text=ready}\nC: EHLO ${_:word}\nS: 250 ${_:text=ok}\n";
    let mut e = engine(text, Role::Server);
    e.handle_connected(0, ms(1));
    let _ = drain(&mut e);
    e.handle_received(0, b"HELO me\r\n", ms(2));
    assert_eq!(failure_reason(&e), "the client sent something else");
}

#[test]
fn a_connection_beyond_the_scenarios_sessions_fails_the_run_at_the_current_step() {
    let text = "name: srv\nsessions: a=imap\nplays: server\n\nS: * OK ${_:text=hi}\nC: A1 NOOP\n";
    let mut e = engine(text, Role::Server);
    e.handle_connected(0, ms(1));
    let _ = drain(&mut e);
    e.handle_extra_connection(Protocol::Imap, ms(2));
    let failure = report(&e).failure().expect("a divergence, not a pass").clone();
    assert_eq!(
        failure.reason,
        "the client opened 2 `imap` connection(s), but the scenario has 1 `imap` session(s)"
    );
    assert_eq!(failure.pos.line, 6, "at the step the run was waiting on");
}

#[test]
fn a_client_that_never_connects_is_a_harness_error() {
    let mut e = engine(
        "name: srv\nsessions: a=imap\nplays: server\n\nS: * OK ${_:text=hi}\n",
        Role::Server,
    );
    let deadline = e.poll_timeout().expect("waiting for a connection");
    e.handle_timeout(deadline);
    assert!(matches!(e.result(), Some(Err(EngineError::Connect { .. }))));
}

#[test]
fn the_role_must_be_allowed_by_the_scenario() {
    let scenario = parse("t.scenario", NOOP).expect("valid");
    let err = Engine::new(scenario, Role::Server, &BTreeMap::new(), EngineConfig::default())
        .expect_err("plays: client only");
    assert_eq!(err, EngineError::WrongRole { allowed: "client" });
}

/// Plays `text` with a client-role engine against a server-role engine, passing bytes
/// between them and advancing a fake clock when both wait. Returns both engines.
fn play_both(text: &str) -> (Engine, Engine) {
    let mut client = engine(text, Role::Client);
    let mut server = engine(text, Role::Server);
    let mut clock = Duration::ZERO;
    for _ in 0..10_000 {
        if client.is_finished() && server.is_finished() {
            break;
        }
        clock += ms(1);
        let mut busy = false;
        for t in drain(&mut client) {
            busy = true;
            match t {
                Transmit::Connect { session } => {
                    client.handle_connected(session, clock);
                    server.handle_connected(session, clock);
                }
                Transmit::Data { session, bytes } => server.handle_received(session, &bytes, clock),
                Transmit::StartTls { session } => {
                    client.handle_tls_started(session, clock);
                }
                Transmit::Close { session } => server.handle_closed(session, clock),
            }
        }
        for t in drain(&mut server) {
            busy = true;
            match t {
                Transmit::Connect { .. } => unreachable!("a server never connects"),
                Transmit::Data { session, bytes } => client.handle_received(session, &bytes, clock),
                Transmit::StartTls { session } => server.handle_tls_started(session, clock),
                Transmit::Close { session } => client.handle_closed(session, clock),
            }
        }
        if !busy {
            let next = [client.poll_timeout(), server.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next else { break };
            clock = clock.max(next);
            client.handle_timeout(clock);
            server.handle_timeout(clock);
        }
    }
    (client, server)
}

const BOTH: &str = "name: both\nsessions: a=imap, s=smtp\n\n\
a S: * OK ${_:text=IMAP4rev2 ready}\n\
a C: ${t:atom=A1} APPEND INBOX {{{\nSubject: x\n}}}\n\
a S: ${t} OK [APPENDUID ${v:num=7} ${uid:num=42}] ${_:text=done}\n\
s S: 220 ${_:text=mx ready}\n\
s C: EHLO ${_:word=client.example.test}\n\
s S: 250-${_:text=mx}\n\
s S: 250 STARTTLS\n\
s C: STARTTLS\n\
s S: 220 ${_:text=go}\n\
s @starttls\n\
s C: QUIT\n\
s S: 221 ${_:text=bye}\n\
s @close server\n\
a C: ${t2:atom=A2} UID FETCH ${uid} FLAGS\n\
a S: * 1 FETCH (UID ${uid} FLAGS ())\n\
a S: ${t2} OK ${_:text=done}\n\
a @sleep 100ms\n\
a C: ${t3:atom=A3} LOGOUT\n\
a S: ${t3} OK ${_:text=bye}\n\
a @close client\n";

#[test]
fn one_scenario_played_from_both_sides_passes_on_both() {
    let (client, server) = play_both(BOTH);
    assert!(
        report(&client).passed(),
        "client: {}",
        render_report(report(&client), "t", BOTH)
    );
    assert!(
        report(&server).passed(),
        "server: {}",
        render_report(report(&server), "t", BOTH)
    );
    // Each side's transcript, verified afterwards, gives the same verdict as the live run.
    let scenario = parse("t.scenario", BOTH).expect("valid");
    for e in [&client, &server] {
        let offline = crate::verify(&scenario, &e.transcript(), &BTreeMap::new()).expect("verifiable");
        assert!(offline.passed(), "{}", render_report(&offline, "t", BOTH));
    }
}

#[test]
fn a_broken_peer_fails_the_other_side() {
    // The server side of this file answers NO; the client side expects OK.
    let broken = BOTH.replace("${t} OK [APPENDUID", "${t} NO [APPENDUID");
    let client_view = BOTH.to_owned();
    let mut client = engine(&client_view, Role::Client);
    let mut server = engine(&broken, Role::Server);
    let mut clock = Duration::ZERO;
    for _ in 0..1000 {
        clock += ms(1);
        for t in drain(&mut client) {
            match t {
                Transmit::Connect { session } => {
                    client.handle_connected(session, clock);
                    server.handle_connected(session, clock);
                }
                Transmit::Data { session, bytes } => server.handle_received(session, &bytes, clock),
                _ => {}
            }
        }
        for t in drain(&mut server) {
            if let Transmit::Data { session, bytes } = t {
                client.handle_received(session, &bytes, clock);
            }
        }
        if client.is_finished() {
            break;
        }
    }
    let r = report(&client);
    assert!(matches!(r.sessions[0].outcome, Outcome::Fail(_)), "{r:?}");
    assert_eq!(r.sessions[1].outcome, Outcome::Unfinished);
}

/// Issue 8 §2: the engine writes a message name's current number in `C:` lines, after an
/// EXPUNGE renumbered it, and fails the run at a line naming one it was told is expunged.
#[test]
fn client_role_writes_the_current_number_of_a_named_message() {
    let text = "name: n\nsessions: a=imap\nplays: client\n\nC: A1 NOOP\nS: * ${m:seq} EXISTS\nS: A1 OK ${_}\nC: A2 NOOP\nS: * ${_:num} EXPUNGE\nS: A2 OK ${_}\nC: A3 FETCH ${m} (FLAGS)\nS: A3 OK ${_}\nC: A4 STORE ${m} +FLAGS (\\Deleted)\nS: A4 OK ${_}\n";
    let mut e = engine(text, Role::Client);
    let _ = drain(&mut e);
    e.handle_connected(0, ms(1));
    assert_eq!(written(&drain(&mut e)), "A1 NOOP\r\n");
    e.handle_received(0, b"* 5 EXISTS\r\nA1 OK done\r\n", ms(2));
    assert_eq!(written(&drain(&mut e)), "A2 NOOP\r\n");
    // The EXPUNGE arrives in two pieces: the group waits, and renumbers once, when it matches.
    e.handle_received(0, b"* 2 EXPU", ms(3));
    assert!(drain(&mut e).is_empty());
    e.handle_received(0, b"NGE\r\nA2 OK done\r\n", ms(4));
    assert_eq!(written(&drain(&mut e)), "A3 FETCH 4 (FLAGS)\r\n");
    // Now the server says message 4 itself is expunged: the scenario cannot name it any more,
    // and that is the server's doing, so the run fails at the line (a verdict, not an error).
    e.handle_received(0, b"* 4 EXPUNGE\r\nA3 OK done\r\n", ms(5));
    let failure = report(&e).failure().expect("fails").clone();
    assert_eq!(failure.pos.line, 13);
    assert!(
        failure
            .reason
            .starts_with("`${m}` names a message this session was told is expunged"),
        "{}",
        failure.reason
    );
}

/// Issue 8 §2: a pipelined batch is checked incrementally: it waits while completions are
/// missing, and fails at once on one that fits no command.
#[test]
fn a_pipelined_batch_waits_for_all_completions_then_passes() {
    let text = "name: p\nsessions: a=imap\nplays: client\n\nC: A1 NOOP\nC: A2 NOOP\n@match pipelined\nS: A1 OK ${_}\nS: A2 OK ${_}\n";
    let start = || {
        let mut e = engine(text, Role::Client);
        let _ = drain(&mut e);
        e.handle_connected(0, ms(1));
        assert_eq!(written(&drain(&mut e)), "A1 NOOP\r\nA2 NOOP\r\n");
        e
    };
    let mut e = start();
    e.handle_received(0, b"A2 OK second\r\n", ms(2));
    assert!(!e.is_finished(), "A1 may still come");
    e.handle_received(0, b"A1 OK first\r\n", ms(3));
    assert!(report(&e).passed());

    let mut bad = start();
    bad.handle_received(0, b"A2 OK second\r\nA9 OK", ms(2));
    assert!(!bad.is_finished(), "a partial line is not judged");
    bad.handle_received(0, b" what\r\n", ms(3));
    assert!(
        failure_reason(&bad).contains("completes none of the commands"),
        "{}",
        failure_reason(&bad)
    );

    let mut silent = start();
    silent.handle_received(0, b"A2 OK second\r\n", ms(2));
    let deadline = silent.poll_timeout().expect("waits for A1");
    silent.handle_timeout(deadline);
    assert!(
        failure_reason(&silent).starts_with("the tagged responses of the pipelined batch did not all arrive"),
        "{}",
        failure_reason(&silent)
    );
}

/// An engine in `role` that allows `max_unread` unread bytes beyond the scenario's own.
fn engine_with_unread(text: &str, role: Role, max_unread: usize) -> Engine {
    let scenario = parse("t.scenario", text).expect("valid scenario");
    let config = EngineConfig {
        max_unread,
        ..EngineConfig::default()
    };
    Engine::new(scenario, role, &BTreeMap::new(), config).expect("engine starts")
}

const TWO_SESSIONS: &str = "name: two\nsessions: a=imap, b=imap\nplays: server\n\n\
a S: * OK ${_:text=hi}\na C: A1 NOOP\na S: A1 OK ${_:text=done}\n\
b S: * OK ${_:text=hi}\nb C: B1 NOOP\nb S: B1 OK ${_:text=done}\n";

/// A client that floods a session the engine is not reading yet fails the run once the
/// bytes there pass the limit, and that connection is closed: nothing grows without bound.
#[test]
fn a_flood_on_a_session_not_being_read_fails_and_closes_it() {
    let mut e = engine_with_unread(TWO_SESSIONS, Role::Server, 1024);
    e.handle_connected(0, ms(1));
    e.handle_connected(1, ms(1));
    let _ = drain(&mut e);
    let chunk = vec![b'x'; 512];
    let mut sent = 0;
    while !e.is_finished() && sent < 1 << 20 {
        e.handle_received(1, &chunk, ms(2));
        sent += chunk.len();
    }
    assert!(e.is_finished(), "the run never ended");
    assert!(sent <= 2048, "{sent} bytes were taken before the run failed");
    let reason = failure_reason(&e);
    assert!(
        reason.starts_with("the client sent 1536 bytes the script does not expect"),
        "{reason}"
    );
    assert!(drain(&mut e).contains(&Transmit::Close { session: 1 }));
}

/// One endless line on the session being read is caught the same way.
#[test]
fn an_endless_line_fails_the_run() {
    let mut e = engine_with_unread(NOOP_SERVER, Role::Server, 100);
    e.handle_connected(0, ms(1));
    let _ = drain(&mut e);
    for _ in 0..10 {
        e.handle_received(0, b"A1 NOOP and on and on and on ", ms(2));
    }
    assert!(
        failure_reason(&e).contains("bytes the script does not expect"),
        "{}",
        failure_reason(&e)
    );
}

const NOOP_SERVER: &str = "name: srv\nsessions: a=imap\nplays: server\n\n\
S: * OK ${_:text=hi}\nC: A1 NOOP\nS: A1 OK ${_:text=done}\nC: A2 NOOP\nS: A2 OK ${_:text=done}\n";

/// Lines the scenario reads later do not count against the limit: a client may pipeline
/// every line of the script at once, even with no slack at all.
#[test]
fn pipelined_lines_the_script_reads_are_within_the_limit() {
    let mut e = engine_with_unread(NOOP_SERVER, Role::Server, 0);
    e.handle_connected(0, ms(1));
    let _ = drain(&mut e);
    e.handle_received(0, b"A1 NOOP\r\nA2 NOOP\r\n", ms(2));
    assert_eq!(written(&drain(&mut e)), "A1 OK done\r\nA2 OK done\r\n");
    assert!(report(&e).passed(), "{:?}", report(&e));
}

/// Regression (found by mailrig-fuzz): a write boundary at the very start of an untagged IMAP
/// line, or inside an SMTP continuation line's code, made the verifier end the group of
/// server lines early (it looked at the line's first part only), so the server role failed
/// its own lines ("the tagged response differs", "the server's reply differs").
#[test]
fn server_role_write_boundaries_at_the_start_of_a_line_keep_the_group() {
    let imap = "name: x\nsessions: a=imap\nplays: server\n\nS: * OK hi\nC: ${t:atom} NOOP\nS: ${|}* 2 EXISTS\nS: ${t} OK done\n";
    let mut e = engine(imap, Role::Server);
    e.handle_connected(0, ms(0));
    drain(&mut e);
    e.handle_received(0, b"a1 NOOP\r\n", ms(1));
    assert_eq!(written(&drain(&mut e)), "* 2 EXISTS\r\na1 OK done\r\n");
    assert_eq!(failure_reason(&e), "passed");

    let smtp = "name: x\nsessions: s=smtp\nplays: server\n\nS: 220 hi\nC: EHLO x\nS: 250-one\nS: 25${|}0-two\nS: ${|}250 three\nC: QUIT\nS: 221 bye\n";
    let mut e = engine(smtp, Role::Server);
    e.handle_connected(0, ms(0));
    drain(&mut e);
    e.handle_received(0, b"EHLO x\r\n", ms(1));
    assert_eq!(written(&drain(&mut e)), "250-one\r\n250-two\r\n250 three\r\n");
    e.handle_received(0, b"QUIT\r\n", ms(2));
    drain(&mut e);
    assert_eq!(failure_reason(&e), "passed");
}
