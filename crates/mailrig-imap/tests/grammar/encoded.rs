//! The imap-codec oracle in the client direction: commands built from imap-codec's own
//! command types (a proptest strategy over `CommandBody`) and written by its encoder, which
//! picks atom, quoted or literal forms and escapes as RFC 9051 §9 requires, must be accepted
//! by mailrig: no tagged BAD (RFC 9051 §7.1.5: BAD means the command did not parse). NO is
//! fine (a mailbox that does not exist, a name the server refuses).

use std::num::NonZeroU32;

use imap_codec::CommandCodec;
use imap_codec::encode::Encoder;
use imap_codec::imap_types::IntoStatic;
use imap_codec::imap_types::command::{Command, CommandBody};
use imap_codec::imap_types::core::{AString, Atom, Vec1};
use imap_codec::imap_types::fetch::{Macro, MacroOrMessageDataItemNames, MessageDataItemName, Part, Section};
use imap_codec::imap_types::flag::{Flag, StoreResponse, StoreType};
use imap_codec::imap_types::search::SearchKey;
use imap_codec::imap_types::sequence::SequenceSet;
use imap_codec::imap_types::status::StatusDataItemName;
use mailrig_imap::{Config, Session};
use mailrig_store::User;
use proptest::prelude::*;

use crate::{say, session, status, store};

/// Text for names and search strings: printable ASCII with every special the encoder must
/// quote or escape, sometimes 8-bit (which it sends as a literal).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-zA-Z0-9 \"\\\\\\]\\[(){}%*~.$&'/-]{0,8}",
        1 => "[a-z]{0,3}[\u{e4}\u{3c0}][a-z]{0,3}",
        1 => Just("INBOX".to_owned()),
    ]
}

fn astring(text: String) -> AString<'static> {
    AString::try_from(text).expect("any text without NUL is an astring")
}

fn mailbox() -> impl Strategy<Value = String> {
    prop_oneof![2 => Just("INBOX".to_owned()), 1 => Just("Other".to_owned()), 3 => text()]
}

fn sequence_set() -> impl Strategy<Value = SequenceSet> {
    const SETS: [&str; 10] = ["1", "*", "2:*", "*:1", "1,3", "3:1", "1:2,3", "1,1", "3", "2"];
    proptest::sample::select(&SETS[..])
        .prop_map(|set| SequenceSet::try_from(set).expect("a valid sequence set"))
}

fn keyword() -> impl Strategy<Value = Flag<'static>> {
    "[$a-zA-Z][a-zA-Z0-9_.-]{0,6}".prop_map(|k| Flag::Keyword(Atom::try_from(k).expect("an atom")))
}

fn flag() -> impl Strategy<Value = Flag<'static>> {
    prop_oneof![
        Just(Flag::Seen),
        Just(Flag::Answered),
        Just(Flag::Flagged),
        Just(Flag::Deleted),
        Just(Flag::Draft),
        keyword(),
    ]
}

fn search_key() -> impl Strategy<Value = SearchKey<'static>> {
    let leaf = prop_oneof![
        Just(SearchKey::All),
        Just(SearchKey::Seen),
        Just(SearchKey::Unseen),
        Just(SearchKey::Deleted),
        Just(SearchKey::Flagged),
        Just(SearchKey::Answered),
        Just(SearchKey::New),
        Just(SearchKey::Old),
        Just(SearchKey::Recent),
        Just(SearchKey::Draft),
        "[a-zA-Z$][a-zA-Z0-9]{0,5}".prop_map(|k| SearchKey::Keyword(Atom::try_from(k).expect("an atom"))),
        any::<u32>().prop_map(SearchKey::Larger),
        any::<u32>().prop_map(SearchKey::Smaller),
        text().prop_map(|t| SearchKey::From(astring(t))),
        text().prop_map(|t| SearchKey::Subject(astring(t))),
        text().prop_map(|t| SearchKey::Body(astring(t))),
        text().prop_map(|t| SearchKey::Text(astring(t))),
        (text(), text()).prop_map(|(h, v)| SearchKey::Header(astring(h), astring(v))),
        sequence_set().prop_map(SearchKey::SequenceSet),
        sequence_set().prop_map(SearchKey::Uid),
    ];
    leaf.prop_recursive(2, 8, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|k| SearchKey::Not(Box::new(k))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| SearchKey::Or(Box::new(a), Box::new(b))),
            proptest::collection::vec(inner, 2..4)
                .prop_map(|keys| SearchKey::And(Vec1::try_from(keys).expect("not empty"))),
        ]
    })
}

fn part() -> impl Strategy<Value = Part> {
    proptest::collection::vec(1..3u32, 1..3).prop_map(|numbers| {
        let numbers: Vec<NonZeroU32> = numbers.into_iter().filter_map(NonZeroU32::new).collect();
        Part(Vec1::try_from(numbers).expect("not empty"))
    })
}

fn section() -> impl Strategy<Value = Option<Section<'static>>> {
    let fields = proptest::collection::vec("[A-Za-z-]{1,8}".prop_map(astring), 1..3)
        .prop_map(|f| Vec1::try_from(f).expect("not empty"));
    proptest::option::of(prop_oneof![
        part().prop_map(Section::Part),
        proptest::option::of(part()).prop_map(Section::Header),
        proptest::option::of(part()).prop_map(Section::Text),
        part().prop_map(Section::Mime),
        fields.clone().prop_map(|f| Section::HeaderFields(None, f)),
        fields.prop_map(|f| Section::HeaderFieldsNot(None, f)),
    ])
}

fn fetch_item() -> impl Strategy<Value = MessageDataItemName<'static>> {
    let partial = proptest::option::of((0..100u32, 1..100u32))
        .prop_map(|p| p.map(|(start, n)| (start, NonZeroU32::new(n).expect("n >= 1"))));
    prop_oneof![
        Just(MessageDataItemName::Flags),
        Just(MessageDataItemName::Uid),
        Just(MessageDataItemName::Rfc822Size),
        Just(MessageDataItemName::InternalDate),
        Just(MessageDataItemName::Envelope),
        Just(MessageDataItemName::BodyStructure),
        Just(MessageDataItemName::Body),
        Just(MessageDataItemName::Rfc822Header),
        Just(MessageDataItemName::Rfc822Text),
        Just(MessageDataItemName::Rfc822),
        (section(), partial, any::<bool>()).prop_map(|(section, partial, peek)| {
            MessageDataItemName::BodyExt {
                section,
                partial,
                peek,
            }
        }),
    ]
}

fn fetch_items() -> impl Strategy<Value = MacroOrMessageDataItemNames<'static>> {
    prop_oneof![
        prop_oneof![Just(Macro::All), Just(Macro::Fast), Just(Macro::Full)]
            .prop_map(MacroOrMessageDataItemNames::Macro),
        proptest::collection::vec(fetch_item(), 1..4)
            .prop_map(MacroOrMessageDataItemNames::MessageDataItemNames),
    ]
}

fn status_items() -> impl Strategy<Value = Vec<StatusDataItemName>> {
    let item = prop_oneof![
        Just(StatusDataItemName::Messages),
        Just(StatusDataItemName::Recent),
        Just(StatusDataItemName::UidNext),
        Just(StatusDataItemName::UidValidity),
        Just(StatusDataItemName::Unseen),
    ];
    proptest::collection::vec(item, 1..4)
}

fn store_kind() -> impl Strategy<Value = (StoreType, StoreResponse)> {
    let kind = prop_oneof![
        Just(StoreType::Add),
        Just(StoreType::Remove),
        Just(StoreType::Replace)
    ];
    let response = prop_oneof![Just(StoreResponse::Answer), Just(StoreResponse::Silent)];
    (kind, response)
}

/// Commands of the authenticated and selected states that mailrig implements.
fn command_body() -> impl Strategy<Value = CommandBody<'static>> {
    let flags = || proptest::collection::vec(flag(), 0..3);
    prop_oneof![
        Just(CommandBody::Noop),
        Just(CommandBody::Capability),
        Just(CommandBody::Check),
        Just(CommandBody::Expunge),
        mailbox().prop_map(|m| CommandBody::select(m.as_str()).expect("a mailbox").into_static()),
        mailbox().prop_map(|m| CommandBody::examine(m.as_str()).expect("a mailbox").into_static()),
        mailbox().prop_map(|m| CommandBody::create(m.as_str()).expect("a mailbox").into_static()),
        mailbox().prop_map(|m| CommandBody::delete(m.as_str()).expect("a mailbox").into_static()),
        mailbox().prop_map(|m| CommandBody::subscribe(m.as_str())
            .expect("a mailbox")
            .into_static()),
        mailbox().prop_map(|m| CommandBody::unsubscribe(m.as_str())
            .expect("a mailbox")
            .into_static()),
        (mailbox(), mailbox()).prop_map(|(a, b)| CommandBody::rename(a.as_str(), b.as_str())
            .expect("mailboxes")
            .into_static()),
        (mailbox(), text()).prop_filter_map("not a list-mailbox", |(r, p)| {
            CommandBody::list(r.as_str(), p.as_str())
                .ok()
                .map(CommandBody::into_static)
        }),
        (mailbox(), text()).prop_filter_map("not a list-mailbox", |(r, p)| {
            CommandBody::lsub(r.as_str(), p.as_str())
                .ok()
                .map(CommandBody::into_static)
        }),
        (mailbox(), status_items()).prop_map(|(m, items)| CommandBody::status(m.as_str(), items)
            .expect("a mailbox")
            .into_static()),
        (mailbox(), flags(), "[ -~]{0,20}").prop_map(|(m, flags, body)| {
            let body = format!("Subject: x\r\n\r\n{body}\r\n");
            CommandBody::append(m.as_str(), flags, None, body.into_bytes())
                .expect("an append")
                .into_static()
        }),
        (search_key(), any::<bool>()).prop_map(|(key, uid)| CommandBody::search(None, Vec1::from(key), uid)),
        (sequence_set(), fetch_items(), any::<bool>())
            .prop_map(|(set, items, uid)| CommandBody::fetch(set, items, uid).expect("a set")),
        (sequence_set(), store_kind(), flags(), any::<bool>()).prop_map(
            |(set, (kind, response), flags, uid)| {
                CommandBody::store(set, kind, response, flags, uid).expect("a set")
            }
        ),
        (sequence_set(), mailbox(), any::<bool>()).prop_map(|(set, m, uid)| CommandBody::copy(
            set,
            m.as_str(),
            uid
        )
        .expect("a copy")
        .into_static()),
        (sequence_set(), mailbox(), any::<bool>()).prop_map(|(set, m, uid)| CommandBody::Move {
            sequence_set: set,
            mailbox: m
                .as_str()
                .try_into()
                .map(|m: imap_codec::imap_types::mailbox::Mailbox<'_>| m.into_static())
                .expect("a mailbox"),
            uid,
        }),
        sequence_set().prop_map(|set| CommandBody::ExpungeUid { sequence_set: set }),
    ]
}

/// The bytes imap-codec writes for `body` tagged `t`, literals included.
fn encode(body: CommandBody<'static>) -> Vec<u8> {
    let command = Command::new("t", body).expect("a valid tag");
    CommandCodec::default().encode(&command).dump()
}

/// What mailrig answers to `bytes` in a session with INBOX selected: the tagged status.
fn answer(bytes: &[u8]) -> (String, String) {
    let mut session = session(Config::default(), true);
    let out = say(&mut session, bytes);
    let word = status(&out, "t").to_owned();
    (out, word)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Every command imap-codec encodes from its command types parses in mailrig.
    #[test]
    fn commands_imap_codec_encodes_are_not_bad(body in command_body()) {
        let bytes = encode(body);
        let (out, word) = answer(&bytes);
        prop_assert_ne!(word, "BAD", "sent {:?}, got {}", String::from_utf8_lossy(&bytes), out);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// `login = "LOGIN" SP userid SP password`, both astrings: whatever form imap-codec picks
    /// (atom, quoted with `\"` and `\\` escapes, literal for 8-bit text), mailrig reads back
    /// exactly the account's name and password, so the LOGIN succeeds.
    #[test]
    fn logins_imap_codec_encodes_succeed(user in "[ -~\u{e4}]{1,10}", password in "[ -~\u{e4}]{1,10}") {
        let store = store();
        prop_assume!(user != "alice");
        store.add_user(User::new(&user, &password, ["x@example.test"])).expect("a new user");
        let body = CommandBody::login(user.as_str(), password.as_str()).expect("astrings");
        let bytes = encode(body.into_static());
        let mut session = Session::new(Config::default(), store);
        say(&mut session, b"");
        let out = say(&mut session, &bytes);
        prop_assert_eq!(status(&out, "t"), "OK", "sent {:?}, got {}", String::from_utf8_lossy(&bytes), out);
    }
}
