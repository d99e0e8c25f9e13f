//! Property tests: the printer round-trips every scenario, the parser never panics, and
//! write boundaries never change a verdict.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;

use crate::scenario::*;
use crate::transcript::{SessionRecord, Transcript};
use crate::{parse, parse_all, parse_bytes, print, verify};

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,6}"
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,5}".prop_filter("reserved", |n| n != "nocrlf")
}

fn phrase() -> impl Strategy<Value = String> {
    "[A-Za-z0-9§.]{1,6}( [A-Za-z0-9§.]{1,6}){0,3}"
}

fn header() -> impl Strategy<Value = Header> {
    let protocols = prop::sample::select(Protocol::ALL.to_vec());
    let sessions = prop::collection::vec(protocols, 1..=3).prop_map(|ps| {
        ps.into_iter()
            .enumerate()
            .map(|(i, protocol)| SessionDecl {
                name: ["a", "b", "s"][i].to_owned(),
                protocol,
            })
            .collect::<Vec<_>>()
    });
    let requirement = (prop::bool::ANY, "[A-Z][A-Z0-9=+-]{0,7}").prop_map(|(imap, capability)| Requirement {
        family: if imap { Family::Imap } else { Family::Smtp },
        capability,
    });
    // `plays_both` is only set without a single role, as the parser does.
    let plays = prop::sample::select(vec![
        (None, false),
        (None, true),
        (Some(Role::Client), false),
        (Some(Role::Server), false),
    ]);
    (
        (
            prop::collection::vec("[ -~]{0,12}", 0..2),
            word(),
            prop::option::of(phrase()),
        ),
        (
            prop::collection::vec(phrase(), 0..3),
            sessions,
            prop::collection::vec(requirement, 0..3),
        ),
        (
            prop::collection::vec(word(), 0..3),
            prop::option::of("[a-z][a-z./]{0,8}"),
        ),
        (
            prop::collection::vec((name(), "[a-z0-9]{0,5}"), 0..3),
            plays,
            prop::collection::vec("[a-z]{1,6}#[1-9]: (close|reply 452 x, y)", 0..2),
        ),
    )
        .prop_map(
            |(
                (comments, name, summary),
                (rfc, sessions, requires),
                (tags, fixture),
                (vars, plays, faults),
            )| Header {
                comments,
                name,
                summary,
                rfc,
                sessions,
                requires,
                tags,
                fixture,
                vars,
                plays: plays.0,
                plays_both: plays.1,
                faults: faults.into_iter().map(crate::scenario::FaultRule::new).collect(),
            },
        )
}

fn hole() -> impl Strategy<Value = Part> {
    // Message names (`seq`) have rules of their own; `message_names` generates them.
    let plain: Vec<Class> = Class::ALL.into_iter().filter(|c| *c != Class::Seq).collect();
    let class = prop::sample::select(plain);
    (prop::option::of(name()), class, 0u8..4).prop_flat_map(|(name, class, seed)| {
        let value = match class {
            Class::Num | Class::Seq => "[0-9]{1,4}",
            Class::Atom => "[A-Za-z0-9]{1,4}",
            Class::Word => "[!-|~]{1,4}",
            Class::Text | Class::String => "[a-z {(]{0,4}",
        };
        let _ = seed;
        value.prop_map(move |v| {
            Part::Hole(Hole {
                name: name.clone(),
                class,
                value: Some(v),
            })
        })
    })
}

fn literal() -> impl Strategy<Value = Part> {
    let inline = prop::collection::vec(
        "[ -~]{0,10}".prop_filter("closing marker", |l| !l.starts_with("}}}")),
        0..3,
    )
    .prop_map(LiteralSource::Inline);
    let file = "[a-z][a-z./]{0,8}".prop_map(|path| LiteralSource::File { path, data: None });
    (prop::bool::ANY, prop_oneof![inline, file])
        .prop_map(|(non_sync, source)| Part::Literal(Literal { non_sync, source }))
}

fn parts(imap: bool, refs: Vec<String>) -> impl Strategy<Value = Vec<Part>> {
    let text = prop::collection::vec(any::<u8>(), 1..8).prop_map(Part::Text);
    let reference = prop::sample::select(refs).prop_map(Part::Ref);
    let part = if imap {
        prop_oneof![4 => text, 2 => hole(), 1 => reference, 1 => Just(Part::Split), 1 => literal()].boxed()
    } else {
        prop_oneof![4 => text, 2 => hole(), 1 => reference, 1 => Just(Part::Split)].boxed()
    };
    prop::collection::vec(part, 0..6).prop_map(|parts| {
        let mut out: Vec<Part> = Vec::new();
        for part in parts {
            match (out.last_mut(), part) {
                (Some(Part::Text(a)), Part::Text(b)) => a.extend(b),
                (_, part) => out.push(part),
            }
        }
        out
    })
}

fn line(side: Option<Side>, imap: bool, refs: Vec<String>) -> impl Strategy<Value = Line> {
    let side = match side {
        Some(side) => Just(side).boxed(),
        None => prop::sample::select(vec![Side::Client, Side::Server]).boxed(),
    };
    let presence = prop::sample::select(vec![Presence::Required, Presence::Optional, Presence::Forbidden]);
    (
        side,
        presence,
        prop::bool::ANY,
        parts(imap, refs),
        prop::bool::weighted(0.9),
    )
        .prop_map(|(side, presence, exact_case, parts, crlf)| Line {
            side,
            presence,
            exact_case,
            parts,
            crlf,
        })
}

fn directive() -> impl Strategy<Value = Directive> {
    let ms = (0u64..5000).prop_map(Duration::from_millis);
    prop_oneof![
        Just(Directive::StartTls),
        Just(Directive::Close(Side::Server)),
        Just(Directive::Close(Side::Client)),
        ms.clone().prop_map(Directive::Within),
        ms.prop_map(Directive::Sleep),
    ]
}

fn mode() -> impl Strategy<Value = MatchMode> {
    let compare = prop::option::of(prop::sample::select(vec![Compare::Text, Compare::Meaning]));
    (
        prop::option::of(prop::bool::ANY),
        prop::option::of(prop::bool::ANY),
        compare,
        prop::option::of(prop::bool::ANY),
    )
        .prop_map(|(ordered, extra, compare, extra_items)| MatchMode {
            ordered,
            extra,
            compare,
            extra_items,
            // `pipelined` needs a batch of tagged groups; `pipelined_batch` generates it.
            pipelined: None,
        })
        .prop_filter("at least one mode", |m| *m != MatchMode::default())
}

/// A body element: a comment, a blank line, a step, or `@match` with its `S:` line.
fn chunk(header: &Header) -> impl Strategy<Value = Vec<Item>> + use<> {
    let sessions = header.sessions.clone();
    let mut refs: Vec<String> = header.vars.iter().map(|(n, _)| n.clone()).collect();
    refs.push("user".to_owned());
    let n = sessions.len();
    (0..n, 0u8..12).prop_flat_map(move |(session, kind)| {
        let imap = sessions[session].protocol.family() == Family::Imap;
        let step = move |kind| {
            Item::Step(Step {
                pos: Pos::default(),
                session,
                kind,
            })
        };
        match kind {
            0 => "[ -~]{0,16}".prop_map(|c| vec![Item::Comment(c)]).boxed(),
            1 => Just(vec![Item::Blank]).boxed(),
            2 => directive()
                .prop_map(move |d| vec![step(StepKind::Directive(d))])
                .boxed(),
            3 => (mode(), line(Some(Side::Server), imap, refs.clone()))
                .prop_map(move |(m, l)| {
                    vec![
                        step(StepKind::Directive(Directive::Match(m))),
                        step(StepKind::Line(l)),
                    ]
                })
                .boxed(),
            10 if imap => message_names(session).boxed(),
            11 if imap => pipelined_batch(session).boxed(),
            _ => line(None, imap, refs.clone())
                .prop_map(move |l| vec![step(StepKind::Line(l))])
                .boxed(),
        }
    })
}

fn item(session: usize, line: Line) -> Item {
    Item::Step(Step {
        pos: Pos::default(),
        session,
        kind: StepKind::Line(line),
    })
}

fn plain_line(side: Side, presence: Presence, parts: Vec<Part>) -> Line {
    Line {
        side,
        presence,
        exact_case: false,
        parts,
        crlf: true,
    }
}

/// A message name captured in an IMAP session and used in the same session's next line.
/// Upper-case names never collide with [`name`]'s, whose classes are plain.
fn message_names(session: usize) -> impl Strategy<Value = Vec<Item>> {
    ("M[0-9]", "[0-9]{1,3}").prop_map(move |(name, value)| {
        let hole = Part::Hole(Hole {
            name: Some(name.clone()),
            class: Class::Seq,
            value: Some(value),
        });
        let bind = plain_line(
            Side::Server,
            Presence::Optional,
            vec![Part::Text(b"* ".to_vec()), hole, Part::Text(b" EXISTS".to_vec())],
        );
        let refer = plain_line(
            Side::Client,
            Presence::Forbidden,
            vec![
                Part::Text(b"A1 FETCH ".to_vec()),
                Part::Ref(name),
                Part::Text(b" FLAGS".to_vec()),
            ],
        );
        vec![item(session, bind), item(session, refer)]
    })
}

/// `@match pipelined` (with other modes), a batch of tagged groups, and a directive after it.
fn pipelined_batch(session: usize) -> impl Strategy<Value = Vec<Item>> {
    let words = (
        prop::bool::ANY,
        prop::option::of(prop::bool::ANY),
        prop::bool::ANY,
    );
    (words, 1usize..4).prop_map(move |((unordered, extra, text), groups)| {
        let mode = MatchMode {
            ordered: unordered.then_some(false),
            extra,
            compare: text.then_some(Compare::Text),
            extra_items: None,
            pipelined: Some(true),
        };
        let mut items = vec![Item::Step(Step {
            pos: Pos::default(),
            session,
            kind: StepKind::Directive(Directive::Match(mode)),
        })];
        for g in 0..groups {
            let untagged = format!("* {g} EXISTS").into_bytes();
            let tagged = format!("A{g} OK done").into_bytes();
            items.push(item(
                session,
                plain_line(Side::Server, Presence::Optional, vec![Part::Text(untagged)]),
            ));
            items.push(item(
                session,
                plain_line(Side::Server, Presence::Required, vec![Part::Text(tagged)]),
            ));
        }
        // The batch is the whole run of `S:` lines: a directive ends it.
        items.push(Item::Step(Step {
            pos: Pos::default(),
            session,
            kind: StepKind::Directive(Directive::Sleep(Duration::from_millis(1))),
        }));
        items
    })
}

fn scenario() -> impl Strategy<Value = Scenario> {
    header().prop_flat_map(|header| {
        let body = prop::collection::vec(chunk(&header), 0..12).prop_map(normalize_blanks);
        (Just(header), body).prop_map(|(header, body)| Scenario { header, body })
    })
}

/// Blank lines never lead, trail or repeat (the parser collapses them).
fn normalize_blanks(chunks: Vec<Vec<Item>>) -> Vec<Item> {
    let mut body: Vec<Item> = Vec::new();
    for item in chunks.into_iter().flatten() {
        if item == Item::Blank && (body.is_empty() || body.last() == Some(&Item::Blank)) {
            continue;
        }
        body.push(item);
    }
    if body.last() == Some(&Item::Blank) {
        body.pop();
    }
    body
}

/// Fragments that steer random input into the parser's interesting paths.
fn fragments() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "C: ",
        "S: ",
        "a ",
        "S?=: ",
        "@",
        "match ",
        "within ",
        "1ms",
        "${",
        "}",
        "_:num",
        "=",
        "\\x",
        "\\",
        "{{{",
        "}}}",
        "+",
        "file:",
        "$$",
        "\n",
        "\r\n",
        "name: x\n",
        "sessions: a=imap, b=smtp\n",
        "plays: client\n",
        "plays: both\n",
        "vars: v=1\n",
        "${v}",
        "${|}",
        "${nocrlf}",
        "#",
        " ",
        "é",
        "\t",
    ]);
    prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn print_then_parse_is_identity(s in scenario()) {
        let text = print(&s);
        let parsed = parse("gen.scenario", &text);
        prop_assert!(parsed.is_ok(), "{}\n---\n{}", parsed.unwrap_err(), text);
        let parsed = parsed.expect("checked above");
        prop_assert_eq!(&parsed, &s, "printed as:\n{}", text);
        prop_assert_eq!(print(&parsed), text);
    }

    #[test]
    fn parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_bytes("fuzz.scenario", &bytes);
    }

    #[test]
    fn parser_never_panics_on_near_miss_text(text in fragments()) {
        if let Ok(s) = parse("fuzz.scenario", &text) {
            prop_assert_eq!(parse("again", &print(&s)).ok(), Some(s));
        }
    }

    #[test]
    fn recovered_errors_point_into_the_file_in_order(text in fragments()) {
        if let Err(errors) = parse_all("fuzz.scenario", &text) {
            let lines: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
            for e in errors.errors() {
                prop_assert!(e.pos.line >= 1 && e.pos.line <= lines.len(), "{e}");
                prop_assert_eq!(e.source_line.as_str(), lines[e.pos.line - 1]);
            }
            let at: Vec<(usize, usize)> = errors.errors().iter().map(|e| (e.pos.line, e.pos.col)).collect();
            prop_assert!(at.windows(2).all(|w| w[0] <= w[1]), "{at:?}");
            let first = parse("fuzz.scenario", &text).err();
            prop_assert_eq!(first.as_ref(), Some(errors.first()));
        }
    }

    #[test]
    fn verdicts_do_not_depend_on_write_boundaries(
        sizes in prop::collection::vec(1usize..12, 1..6),
        broken in prop::bool::ANY,
    ) {
        let (scenario, transcript) = sample_run(broken);
        let whole = verify(&scenario, &transcript, &BTreeMap::new()).expect("valid sample");
        let split = Transcript { sessions: transcript.sessions.iter().map(|s| s.resegmented(&sizes)).collect() };
        let chunked = verify(&scenario, &split, &BTreeMap::new()).expect("valid sample");
        prop_assert_eq!(whole.passed(), !broken);
        prop_assert_eq!(whole, chunked);
    }
}

/// A two-session run with literals, captures and an SMTP reply; `broken` drops a flag update.
fn sample_run(broken: bool) -> (Scenario, Transcript) {
    let text = "name: sample\nsessions: a=imap, b=imap, s=smtp\nplays: client\n\n\
        s C: EHLO c\ns S: 250-mx\ns S: 250 PIPELINING\n\
        a C: A1 APPEND INBOX {{{\nSubject: hi\n\nbody\n}}}\na S: A1 OK [APPENDUID ${v:num} ${uid:num}] done\n\
        a C: A2 UID STORE ${uid} +FLAGS (\\Seen)\na S: * 1 FETCH (FLAGS (\\Seen) UID ${uid})\na S: A2 OK done\n\
        b C: B1 NOOP\nb S: * 1 FETCH (FLAGS (\\Seen))\nb S: B1 OK done\n";
    let scenario = parse("sample.scenario", text).expect("sample parses");
    let mut s = SessionRecord::new("s", Protocol::Smtp);
    s.data(Duration::ZERO, Side::Client, &b"EHLO c\r\n"[..]);
    s.data(Duration::ZERO, Side::Server, &b"250-mx\r\n250 PIPELINING\r\n"[..]);
    let mut a = SessionRecord::new("a", Protocol::Imap);
    a.data(Duration::ZERO, Side::Client, &b"A1 APPEND INBOX {21}\r\n"[..]);
    a.data(Duration::ZERO, Side::Server, &b"+ Ready\r\n"[..]);
    a.data(
        Duration::ZERO,
        Side::Client,
        &b"Subject: hi\r\n\r\nbody\r\n\r\n"[..],
    );
    a.data(
        Duration::ZERO,
        Side::Server,
        &b"A1 OK [APPENDUID 7 42] done\r\n"[..],
    );
    a.data(
        Duration::ZERO,
        Side::Client,
        &b"A2 UID STORE 42 +FLAGS (\\Seen)\r\n"[..],
    );
    a.data(
        Duration::ZERO,
        Side::Server,
        &b"* 1 FETCH (FLAGS (\\Seen) UID 42)\r\nA2 OK done\r\n"[..],
    );
    let mut b = SessionRecord::new("b", Protocol::Imap);
    b.data(Duration::ZERO, Side::Client, &b"B1 NOOP\r\n"[..]);
    let update: &[u8] = if broken {
        b""
    } else {
        b"* 1 FETCH (FLAGS (\\Seen))\r\n"
    };
    b.data(Duration::ZERO, Side::Server, [update, b"B1 OK done\r\n"].concat());
    (
        scenario,
        Transcript {
            sessions: vec![s, a, b],
        },
    )
}
