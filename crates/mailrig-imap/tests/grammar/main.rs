//! The grammar audit (issue 9 §1): for each command, edge cases of the RFC 9051 §9 / RFC 3501
//! §9 productions it uses, through the public `Session` API only. Each test names the
//! production it covers; a valid form must not get BAD, an invalid one must (RFC 9051 §7.1.5:
//! BAD is for a command the server cannot parse). `encoded.rs` runs the imap-codec oracle the
//! other way: commands imap-codec encodes, mailrig must accept. `notify_context.rs` covers
//! NOTIFY and CONTEXT=SEARCH/SORT, commands and responses; `responses.rs` checks the response
//! shapes imap-codec cannot decode against their ABNF.

mod encoded;
mod notify_context;
mod responses;

use mailrig_imap::{Config, Defect, Defects, Output, Session};
use mailrig_store::{Store, User};

/// Three messages in INBOX: sizes, dates and flags differ, so SEARCH keys can tell them
/// apart.
const MESSAGES: [(&str, &str, &str); 3] = [
    (
        "(\\Seen)",
        "01-Feb-2024 10:00:00 +0000",
        "Subject: one\r\n\r\nshort\r\n",
    ),
    (
        "()",
        "15-Mar-2024 10:00:00 +0000",
        "Subject: two\r\n\r\na somewhat longer body\r\n",
    ),
    (
        "($Work)",
        "01-Jan-2025 10:00:00 +0000",
        "Subject: three\r\n\r\nthe longest body of the three messages\r\n",
    ),
];

/// A store with alice and `MESSAGES` in INBOX.
pub(crate) fn store() -> Store {
    let store = Store::new();
    store
        .add_user(User::new("alice", "secret", ["alice@example.test"]))
        .expect("a new store has no users");
    let mut session = Session::new(Config::default(), store.clone());
    say(&mut session, b"a LOGIN alice secret\r\n");
    for (flags, date, body) in MESSAGES {
        let line = format!(
            "b APPEND INBOX {flags} \"{date}\" {{{}+}}\r\n{body}\r\n",
            body.len()
        );
        let out = say(&mut session, line.as_bytes());
        assert!(out.contains("b OK"), "{out}");
    }
    store
}

/// Everything the session writes after `input`.
pub(crate) fn say(session: &mut Session, input: &[u8]) -> String {
    session.handle_input(input);
    let mut out = Vec::new();
    while let Some(output) = session.poll_output() {
        if let Output::Response { bytes, .. } = output {
            out.extend(bytes);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A session with the greeting read, logged in as alice (`select`: with INBOX selected).
pub(crate) fn session(config: Config, select: bool) -> Session {
    let mut session = Session::new(config, store());
    say(&mut session, b"");
    say(&mut session, b"a LOGIN alice secret\r\n");
    if select {
        say(&mut session, b"a SELECT INBOX\r\n");
    }
    session
}

/// The status word (`OK`, `NO`, `BAD`) of the response tagged `tag` in `out`.
fn status<'a>(out: &'a str, tag: &str) -> &'a str {
    let prefix = format!("{tag} ");
    let line = out
        .split("\r\n")
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no response tagged {tag:?} in {out:?}"));
    line[prefix.len()..].split(' ').next().unwrap_or("")
}

/// Runs `command` (tag `t`) in a selected session; returns all output and the tagged status.
fn run(command: &str) -> (String, String) {
    run_with(Config::default(), command)
}

fn run_with(config: Config, command: &str) -> (String, String) {
    let mut session = session(config, true);
    let out = say(&mut session, format!("t {command}\r\n").as_bytes());
    let word = status(&out, "t").to_owned();
    (out, word)
}

/// Asserts `command` is not answered BAD (the grammar accepts it); returns the output.
fn accepted(command: &str) -> String {
    let (out, word) = run(command);
    assert_ne!(word, "BAD", "{command:?} rejected: {out}");
    out
}

/// Asserts `command` is answered BAD.
fn rejected(command: &str) {
    let (out, word) = run(command);
    assert_eq!(word, "BAD", "{command:?} accepted: {out}");
}

/// The numbers of the `* SEARCH` line in `out`.
fn searched(out: &str) -> Vec<u32> {
    let line = out
        .split("\r\n")
        .find_map(|l| l.strip_prefix("* SEARCH"))
        .unwrap_or_else(|| panic!("no * SEARCH in {out}"));
    line.split_whitespace()
        .map(|n| n.parse().expect("a number"))
        .collect()
}

/// The sequence numbers of the `* n FETCH` lines in `out`, in order.
fn fetched(out: &str) -> Vec<u32> {
    out.split("\r\n")
        .filter_map(|l| {
            l.strip_prefix("* ")?
                .split_once(" FETCH ")
                .map(|(n, _)| n.parse().expect("a number"))
        })
        .collect()
}

// ----- tag = 1*<any ASTRING-CHAR except "+"> (RFC 9051 §9) -----

/// `tag`: every ATOM-CHAR and `]` (resp-specials are ASTRING-CHARs) may appear in a tag, and
/// the tagged response echoes it exactly, however long (RFC 9051 §2.2.1).
#[test]
fn tags_with_odd_atom_chars_are_echoed() {
    let long = "t".repeat(40);
    for tag in ["a.b", "!#$&'", "-_~^`|", "a]b", "0", "x=y,z;:<>?@", "Z9", &long] {
        let mut session = session(Config::default(), false);
        let out = say(&mut session, format!("{tag} NOOP\r\n").as_bytes());
        assert_eq!(out, format!("{tag} OK NOOP completed\r\n"), "tag {tag:?}");
    }
}

/// `tag` excludes `+`, list-wildcards, `(`, `)`, `{`, `"` and `\`: such a line is BAD
/// (untagged, or tagged with what could be read; never OK).
#[test]
fn tags_outside_astring_char_are_refused() {
    for tag in ["a+b", "+", "a*", "a%", "a(b", "a)", "a{b", "a\"b", "a\\b"] {
        let mut session = session(Config::default(), false);
        let out = say(&mut session, format!("{tag} NOOP\r\n").as_bytes());
        assert!(out.contains(" BAD "), "tag {tag:?}: {out}");
        assert!(!out.contains(" OK "), "tag {tag:?}: {out}");
    }
}

// ----- command names and keywords are case-insensitive (RFC 9051 §9 note 1) -----

/// "The ASCII NUL character ... ABNF strings are case-insensitive": command names, FETCH
/// item names, SEARCH keys, STORE's `+FLAGS.SILENT`, STATUS items, system flags and `INBOX`.
#[test]
fn command_names_and_keywords_are_case_insensitive() {
    for command in [
        "noop",
        "NoOp",
        "fetch 1 (flags uid rfc822.size)",
        "uid Fetch 1:* (Flags)",
        "search seen not deleted",
        "uid search unseen",
        "store 1 +flags.silent (\\seen)",
        "Store 1 -Flags (\\SEEN)",
        "status inbox (messages uidnext)",
        "examine inbox",
        "select iNbOx",
        "fetch 1 body.peek[header.fields (subject)]",
    ] {
        let out = accepted(command);
        assert_eq!(status(&out, "t"), "OK", "{command}: {out}");
    }
    // The system flag is the same flag whatever its case.
    let out = accepted("store 1 flags (\\sEEN)");
    assert!(out.contains("FLAGS (\\Seen"), "{out}");
}

// ----- quoted = DQUOTE *QUOTED-CHAR DQUOTE; QUOTED-CHAR = ... / "\" quoted-specials -----

/// `quoted` with `\"` and `\\`: LOGIN's astrings unescape to the account's exact name and
/// password.
#[test]
fn quoted_strings_unescape_backslash_and_quote() {
    let store = store();
    store
        .add_user(User::new("q\"u\\ote", "pa\"ss\\", ["q@example.test"]))
        .expect("a new user");
    let mut session = Session::new(Config::default(), store.clone());
    say(&mut session, b"");
    let out = say(&mut session, b"t LOGIN \"q\\\"u\\\\ote\" \"pa\\\"ss\\\\\"\r\n");
    assert_eq!(status(&out, "t"), "OK", "{out}");
    // The escapes are not the characters themselves: the unescaped text is a wrong password.
    let mut session = Session::new(Config::default(), store);
    say(&mut session, b"");
    let out = say(
        &mut session,
        b"t LOGIN \"q\\\"u\\\\ote\" \"pa\\\\\\\"ss\\\\\\\\\"\r\n",
    );
    assert_eq!(status(&out, "t"), "NO", "{out}");
}

/// `quoted`: a mailbox name with `"` and `\` round-trips through CREATE and LIST, which
/// quotes it back with the same escapes.
#[test]
fn quoted_mailbox_names_round_trip() {
    let mut session = session(Config::default(), false);
    let out = say(&mut session, b"t CREATE \"a\\\"b\\\\c\"\r\n");
    assert_eq!(status(&out, "t"), "OK", "{out}");
    let out = say(&mut session, b"t LIST \"\" \"a*\"\r\n");
    assert!(out.contains(" \"a\\\"b\\\\c\"\r\n"), "{out}");
}

/// `QUOTED-CHAR`: a backslash may only escape `"` or `\`; anything else, and an unterminated
/// quoted string, is BAD.
#[test]
fn quoted_strings_with_bad_escapes_are_refused() {
    rejected("SELECT \"IN\\BOX\"");
    rejected("SELECT \"INBOX");
    rejected("STATUS \"INBOX\\\" (MESSAGES)");
}

// ----- literal = "{" number64 ["+"] "}" CRLF *CHAR8 (RFC 9051 §9, RFC 7888) -----

/// `literal`: a synchronizing literal gets `+` and its octets are the argument; LITERAL+
/// `{n+}` gets no `+`.
#[test]
fn literals_sync_and_non_sync() {
    let mut s = Session::new(Config::default(), store());
    say(&mut s, b"");
    let out = say(&mut s, b"t LOGIN {5}\r\n");
    assert!(out.starts_with("+ "), "{out}");
    let out = say(&mut s, b"alice {6}\r\n");
    assert!(out.starts_with("+ "), "{out}");
    let out = say(&mut s, b"secret\r\n");
    assert_eq!(status(&out, "t"), "OK", "{out}");

    let mut s = Session::new(Config::default(), store());
    say(&mut s, b"");
    let out = say(&mut s, b"t LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n");
    assert!(!out.split("\r\n").any(|l| l.starts_with('+')), "{out}");
    assert_eq!(status(&out, "t"), "OK", "{out}");
}

/// `literal` of length zero is an empty astring: `SELECT {0}` names no mailbox (NO, not
/// BAD), and `LIST "" {0+}` is the hierarchy-delimiter query (RFC 9051 §6.3.9).
#[test]
fn zero_length_literals_are_empty_strings() {
    let (out, word) = run("SELECT {0+}\r\n");
    assert_eq!(word, "NO", "{out}");
    let out = accepted("LIST \"\" {0+}\r\n");
    assert!(out.contains("* LIST (\\Noselect) \"/\" \"\""), "{out}");
}

/// `literal` carries any CHAR8 except NUL, CR and LF alone included: the octets of an
/// APPENDed literal with a quote, a backslash and parentheses come back unchanged.
#[test]
fn literal_octets_are_taken_verbatim() {
    let body = "Subject: (\"\\)\r\n\r\n{3}\r\n";
    let mut s = session(Config::default(), false);
    let out = say(
        &mut s,
        format!("t APPEND INBOX {{{}+}}\r\n{body}\r\n", body.len()).as_bytes(),
    );
    assert_eq!(status(&out, "t"), "OK", "{out}");
    say(&mut s, b"a SELECT INBOX\r\n");
    let out = say(&mut s, b"t FETCH 4 BODY[]\r\n");
    assert!(
        out.contains(&format!("BODY[] {{{}}}\r\n{body}", body.len())),
        "{out}"
    );
}

// ----- empty strings -----

/// `astring` may be an empty quoted string: LOGIN with an empty password is refused as a
/// failed login (NO), not as syntax; `LIST "" ""` answers the delimiter.
#[test]
fn empty_quoted_strings_are_valid_astrings() {
    let mut s = Session::new(Config::default(), store());
    say(&mut s, b"");
    let out = say(&mut s, b"t LOGIN alice \"\"\r\n");
    assert_eq!(status(&out, "t"), "NO", "{out}");
    let out = accepted("LIST \"\" \"\"");
    assert!(out.contains("* LIST (\\Noselect) \"/\" \"\""), "{out}");
    let (out, word) = run("CREATE \"\"");
    assert_eq!(word, "NO", "{out}");
}

// ----- sequence-set (RFC 9051 §9) -----

/// `sequence-set`: `*`, `n:*`, `*:n`, `1,3:5`-style lists and reversed ranges `3:1` (the
/// same as `1:3`, RFC 9051 §9 "seq-range ... 2:4 and 4:2 are equivalent").
#[test]
fn sequence_sets() {
    for (set, expected) in [
        ("*", vec![3]),
        ("2:*", vec![2, 3]),
        ("*:2", vec![2, 3]),
        ("1,3", vec![1, 3]),
        ("1,2:3", vec![1, 2, 3]),
        ("3:1", vec![1, 2, 3]),
        ("3:3", vec![3]),
        ("*:*", vec![3]),
        ("1,1", vec![1]),
    ] {
        let out = accepted(&format!("FETCH {set} FLAGS"));
        assert_eq!(fetched(&out), expected, "FETCH {set}: {out}");
        let out = accepted(&format!("SEARCH {set}"));
        assert_eq!(searched(&out), expected, "SEARCH {set}: {out}");
    }
}

/// `seq-number = nz-number / "*"`: 0, signs, spaces and empty elements are BAD; `$` is BAD
/// without SEARCHRES (RFC 5182), which mailrig does not offer.
#[test]
fn sequence_sets_out_of_grammar_are_refused() {
    for set in [
        "0",
        "0:2",
        "1:",
        ":2",
        "1,,2",
        "1,",
        "-1",
        "1 :2",
        "$",
        "1:x",
        "4294967296",
    ] {
        rejected(&format!("FETCH {set} FLAGS"));
    }
}

/// `uid-set` through UID commands: a UID range past the last UID and `*` select the last
/// message (RFC 9051 §6.4.8: "a UID range of 559:* always includes the UID of the last
/// message in the mailbox").
#[test]
fn uid_sets_past_the_end() {
    let out = accepted("UID FETCH 99:* FLAGS");
    assert_eq!(fetched(&out), vec![3], "{out}");
    let out = accepted("UID SEARCH 2:*");
    assert_eq!(searched(&out), vec![2, 3], "{out}");
}

// ----- search-key dates and sizes -----

/// `date = date-text / DQUOTE date-text DQUOTE`, `date-text = date-day "-" date-month "-"
/// date-year`, `date-day = 1*2DIGIT`, months case-insensitive; SINCE/BEFORE/ON compare the
/// internal date's day.
#[test]
fn search_dates() {
    for (key, expected) in [
        ("SINCE 1-Mar-2024", vec![2, 3]),
        ("SINCE 01-mar-2024", vec![2, 3]),
        ("SINCE \"1-MAR-2024\"", vec![2, 3]),
        ("BEFORE 15-Mar-2024", vec![1]),
        ("ON 15-Mar-2024", vec![2]),
        ("SINCE 15-Mar-2024 BEFORE 16-Mar-2024", vec![2]),
        ("NOT ON 1-Feb-2024", vec![2, 3]),
    ] {
        let out = accepted(&format!("SEARCH {key}"));
        assert_eq!(searched(&out), expected, "SEARCH {key}: {out}");
    }
    for key in [
        "SINCE 2024-03-01",
        "SINCE 1-Mars-2024",
        "SINCE 100-Mar-2024",
        "BEFORE",
        "ON \"1-Mar-2024",
        // `date-year = 4DIGIT`: no two- or three-digit years.
        "SINCE 1-Mar-24",
        "SINCE 1-Mar-124",
        "SINCE \"1-Mar-24\"",
    ] {
        rejected(&format!("SEARCH {key}"));
    }
}

/// `"LARGER" SP number64` / `"SMALLER" SP number64`: sizes compare RFC822.SIZE strictly;
/// a non-number or a sign is BAD.
#[test]
fn search_sizes() {
    let small = MESSAGES[0].2.len();
    for (key, expected) in [
        ("LARGER 0".to_owned(), vec![1, 2, 3]),
        (format!("LARGER {small}"), vec![2, 3]),
        (format!("SMALLER {}", small + 1), vec![1]),
        (format!("SMALLER {small}"), vec![]),
        ("SMALLER 4294967295".to_owned(), vec![1, 2, 3]),
    ] {
        let out = accepted(&format!("SEARCH {key}"));
        assert_eq!(searched(&out), expected, "SEARCH {key}: {out}");
    }
    for key in ["LARGER -1", "LARGER x", "SMALLER", "LARGER 1.5"] {
        rejected(&format!("SEARCH {key}"));
    }
}

/// `search-key` lists: several keys are ANDed (RFC 9051 §6.4.4), parentheses group, `OR`
/// takes two keys, `NOT` one.
#[test]
fn search_key_combinations() {
    for (key, expected) in [
        ("SEEN UNSEEN", vec![]),
        ("(SEEN) (LARGER 0)", vec![1]),
        ("OR SEEN KEYWORD $Work", vec![1, 3]),
        ("NOT (OR SEEN KEYWORD $Work)", vec![2]),
        ("OR (SEEN) (UNSEEN)", vec![1, 2, 3]),
        ("ALL 2:3 UNKEYWORD $Work", vec![2]),
    ] {
        let out = accepted(&format!("SEARCH {key}"));
        assert_eq!(searched(&out), expected, "SEARCH {key}: {out}");
    }
    for key in ["OR SEEN", "NOT", "(SEEN", "SEEN)", "FROBNICATE"] {
        rejected(&format!("SEARCH {key}"));
    }
}

// ----- flags: flag-list, flag, flag-perm ("\*" only in PERMANENTFLAGS) -----

/// `flag-perm = flag / "\*"` appears only in PERMANENTFLAGS; `flag` (STORE, APPEND) has no
/// `\*`, so storing or appending it is BAD, and SELECT's PERMANENTFLAGS does list it.
#[test]
fn backslash_star_only_in_permanentflags() {
    let out = accepted("SELECT INBOX");
    assert!(
        out.contains("[PERMANENTFLAGS (") && out.contains("\\*)]"),
        "{out}"
    );
    let flags = out.split("\r\n").find(|l| l.starts_with("* FLAGS ("));
    let flags = flags.unwrap_or_else(|| panic!("no * FLAGS in {out}"));
    assert!(!flags.contains("\\*"), "{flags}");
    // FETCH FLAGS (`flag-fetch`) never carries it either.
    let out = accepted("FETCH 1:* FLAGS");
    assert!(!out.contains("\\*"), "{out}");
    rejected("STORE 1 +FLAGS (\\*)");
    rejected("APPEND INBOX (\\*) {1+}\r\nx");
}

/// `store-att-flags`: the flags may be a parenthesized list, possibly empty, or bare flags
/// separated by spaces; keywords are atoms.
#[test]
fn store_flag_forms() {
    let out = accepted("STORE 2 +FLAGS \\Flagged $Bare");
    assert!(out.contains("\\Flagged") && out.contains("$Bare"), "{out}");
    let out = accepted("STORE 1 FLAGS ()");
    // Only the session's own \Recent is left (RFC 3501 §2.3.2: it cannot be stored away).
    assert!(out.contains("* 1 FETCH (FLAGS (\\Recent))"), "{out}");
    for bad in [
        "STORE 1 +FLAGS (\\Seen",
        "STORE 1 +FLAGS (\"$q\")",
        "STORE 1 FROB (\\Seen)",
        "STORE 1 +FLAGS ((\\Seen))",
    ] {
        rejected(bad);
    }
}

// ----- astring vs atom positions -----

/// `mailbox = "INBOX" / astring`: atom, quoted and literal forms name the same mailbox, and
/// INBOX is case-insensitive in each.
#[test]
fn mailbox_in_every_astring_form() {
    for form in ["INBOX", "inbox", "\"InBox\"", "{5+}\r\ninbox"] {
        let out = accepted(&format!("STATUS {form} (MESSAGES)"));
        assert!(out.contains("(MESSAGES 3)"), "{form}: {out}");
    }
}

/// `astring` allows `]` (ASTRING-CHAR) but an atom never holds list-wildcards, `(`, `{` or
/// quoted-specials: those names need quoting. `list-mailbox` allows `%` and `*` unquoted.
#[test]
fn astring_versus_atom_characters() {
    let out = accepted("CREATE a]b");
    assert_eq!(status(&out, "t"), "OK", "{out}");
    for bad in ["CREATE a(b", "CREATE a\"b", "CREATE a{b"] {
        rejected(bad);
    }
    // `list-wildcards` are `atom-specials`: unquoted, they make a `list-mailbox`, never a
    // `mailbox` or another `astring` (RFC 9051 §9), so each of these is BAD.
    for bad in [
        "CREATE a*b",
        "CREATE a%b",
        "CREATE *",
        "DELETE a%",
        "RENAME INBOX a*",
        "RENAME a% b",
        "SELECT a*",
        "EXAMINE %",
        "STATUS a* (MESSAGES)",
        "SUBSCRIBE a%b",
        "UNSUBSCRIBE a*",
        "APPEND a* {1+}\r\nx",
        "COPY 1 a*",
        "MOVE 1 a%",
        "LIST a* %",
        "LSUB a% *",
    ] {
        rejected(bad);
    }
    // Quoted, `"a*b"` is a valid `mailbox`; mailrig refuses to create it (as Dovecot does),
    // with NO: a name holding wildcards could never be listed on its own.
    let out = accepted("CREATE \"a*b\"");
    assert!(out.contains("t NO [CANNOT]"), "{out}");
    let out = accepted("CREATE {3+}\r\na%b");
    assert!(out.contains("t NO [CANNOT]"), "{out}");
    let out = accepted("LIST \"\" *");
    assert!(out.contains("INBOX"), "{out}");
    let out = accepted("LIST \"\" %");
    assert!(out.contains("INBOX"), "{out}");
}

/// `fetch-att` names are atoms, not strings: a quoted item name is BAD; section text
/// `HEADER.FIELDS` takes a list of astrings (quoted header names are fine).
#[test]
fn fetch_item_names_are_atoms() {
    rejected("FETCH 1 \"FLAGS\"");
    rejected("FETCH 1 (FLAGS");
    rejected("FETCH 1 BODY[HEADER.FIELDS SUBJECT]");
    let out = accepted("FETCH 1 BODY.PEEK[HEADER.FIELDS (\"Subject\" FROM)]");
    assert!(out.contains("Subject: one"), "{out}");
    let out = accepted("FETCH 1 BODY.PEEK[]<0.7>");
    assert!(out.contains("BODY[]<0> {7}\r\nSubject"), "{out}");
    rejected("FETCH 1 BODY.PEEK[]<0.0>");
}

/// `status-att`: STATUS takes a parenthesized, non-empty list of atoms.
#[test]
fn status_item_lists() {
    let out = accepted("STATUS INBOX (MESSAGES UNSEEN UIDNEXT UIDVALIDITY RECENT)");
    assert!(out.contains("MESSAGES 3"), "{out}");
    for bad in [
        "STATUS INBOX MESSAGES",
        "STATUS INBOX (FROB)",
        "STATUS INBOX (MESSAGES",
        "STATUS INBOX",
    ] {
        rejected(bad);
    }
}

/// `append = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP literal`: every optional
/// part may be left out; `date-time` is quoted with a two-character day (`date-day-fixed`,
/// leading space allowed).
#[test]
fn append_optional_parts() {
    for args in [
        "INBOX {1+}\r\nx",
        "INBOX () {1+}\r\nx",
        "INBOX \" 1-Feb-2024 10:00:00 +0100\" {1+}\r\nx",
        "INBOX (\\Seen $K) \"01-Feb-2024 10:00:00 -0830\" {1+}\r\nx",
    ] {
        let (out, word) = run(&format!("APPEND {args}"));
        assert_eq!(word, "OK", "{args}: {out}");
    }
    for bad in [
        "INBOX 1-Feb-2024 {1+}\r\nx",
        "INBOX \"01-Feb-2024 10:00 +0100\" {1+}\r\nx",
        // `date-day-fixed = (SP DIGIT) / 2DIGIT`: a one-character day is not one.
        "INBOX \"1-Feb-2024 10:00:00 +0100\" {1+}\r\nx",
        // `date-year = 4DIGIT`, `time = 2DIGIT ":" 2DIGIT ":" 2DIGIT`, `zone = ("+" / "-") 4DIGIT`.
        "INBOX \"01-Feb-24 10:00:00 +0100\" {1+}\r\nx",
        "INBOX \"01-Feb-2024 1:00:00 +0100\" {1+}\r\nx",
        "INBOX \"01-Feb-2024 10:00:0 +0100\" {1+}\r\nx",
        "INBOX \"01-Feb-2024 10:00:00 +100\" {1+}\r\nx",
        "INBOX \"01-Feb-2024  10:00:00 +0100\" {1+}\r\nx",
    ] {
        rejected(&format!("APPEND {bad}"));
    }
}

/// `append = ... SP literal` (RFC 3501 §9; RFC 9051 §9 `append-data = literal / ...`): the
/// message is a literal, never a quoted string or an atom, and nothing is stored.
#[test]
fn append_message_is_a_literal() {
    for bad in ["INBOX \"x\"", "INBOX () \"x\"", "INBOX x", "INBOX \"\""] {
        let mut session = session(Config::default(), true);
        let out = say(&mut session, format!("t APPEND {bad}\r\n").as_bytes());
        assert_eq!(status(&out, "t"), "BAD", "APPEND {bad}: {out}");
        let out = say(&mut session, b"s STATUS INBOX (MESSAGES)\r\n");
        assert!(out.contains("(MESSAGES 3)"), "APPEND {bad} stored: {out}");
    }
}

/// `literal = "{" number64 ["+"] "}" CRLF *CHAR8` with `CHAR8 = %x01-ff` (RFC 9051 §9; §4.3:
/// binary data, NUL included, needs `literal8` and the BINARY extension, which mailrig does
/// not offer): a NUL in a literal, or in a quoted string (`CHAR = %x01-7F`), makes the
/// command unparseable, so BAD (RFC 9051 §7.1.5), and an APPEND stores nothing.
#[test]
fn nul_is_not_a_char8() {
    let mut s = session(Config::default(), true);
    let out = say(&mut s, b"t APPEND INBOX {7+}\r\nab\0cd\r\n\r\n");
    assert_eq!(status(&out, "t"), "BAD", "{out}");
    let out = say(&mut s, b"s STATUS INBOX (MESSAGES)\r\n");
    assert!(out.contains("(MESSAGES 3)"), "stored: {out}");
    let out = say(&mut s, b"t CREATE {3+}\r\na\0b\r\n");
    assert_eq!(status(&out, "t"), "BAD", "{out}");
    let out = say(&mut s, b"t CREATE \"a\0b\"\r\n");
    assert_eq!(status(&out, "t"), "BAD", "{out}");
    // Every other octet is a CHAR8: the same literal with 0x01 and 0xff is stored.
    let out = say(&mut s, b"t APPEND INBOX {7+}\r\nab\x01\xffd\r\n\r\n");
    assert_eq!(status(&out, "t"), "OK", "{out}");
}

/// `SP` is exactly one space between arguments (RFC 9051 §9: no implied whitespace).
#[test]
fn arguments_are_separated_by_one_space() {
    rejected("FETCH  1 FLAGS");
    rejected("FETCH 1 FLAGS ");
    rejected("NOOP ");
}

/// Where the oracle and mailrig disagree: imap-codec encodes any `sequence-set` (it does not
/// know the mailbox), but a message sequence number is one "from 1 to the number of messages
/// in the mailbox" (RFC 9051 §2.3.1.2), and `*` is "the number of messages in a non-empty
/// mailbox" (RFC 9051 §9, `seq-number`): a number above it names no message, a protocol
/// error, so BAD. UID sets have no such bound (RFC 9051 §9: a UID range may name UIDs that do
/// not exist), so `encoded.rs` only generates sets within the three messages and this test
/// pins both sides.
#[test]
fn sequence_numbers_beyond_the_mailbox_are_bad_uids_are_not() {
    for command in [
        "FETCH 4 FLAGS",
        "FETCH 4:* FLAGS",
        "MOVE 4:* INBOX",
        "STORE 2,5 +FLAGS (\\Seen)",
        "COPY 9 Other",
    ] {
        rejected(command);
    }
    for command in [
        "UID FETCH 4:* FLAGS",
        "UID FETCH 9 FLAGS",
        "UID STORE 2,5 +FLAGS (\\Seen)",
    ] {
        let (out, word) = run(command);
        assert_eq!(word, "OK", "{command}: {out}");
    }
}

/// The audit's checks fail against sessions that break the grammar rules they test (planted
/// defects, docs/defects.md): a syntax error answered NO, SEARCH ignoring all but its first
/// key, a long tag cut short.
#[test]
fn the_audit_fails_against_planted_defects() {
    let with = |defect| Config {
        defects: Defects::from(defect),
        ..Config::default()
    };
    let (out, word) = run_with(with(Defect::BadAnsweredAsNo), "FETCH 0 FLAGS");
    assert_ne!(word, "BAD", "{out}");
    let (out, _) = run_with(with(Defect::SearchFirstKeyOnly), "SEARCH SEEN UNSEEN");
    assert_ne!(searched(&out), Vec::<u32>::new(), "{out}");
    let tag = "t".repeat(40);
    let mut s = session(with(Defect::LongTagTruncated), false);
    let out = say(&mut s, format!("{tag} NOOP\r\n").as_bytes());
    assert_ne!(out, format!("{tag} OK NOOP completed\r\n"));
}

/// Commands without arguments take none, and the others need all theirs (RFC 9051 §9:
/// `command-any`, `command-auth`, `command-select`, `uid`, `enable`, `id`, `namespace`,
/// `idle`).
#[test]
fn argument_counts() {
    for command in [
        "NOOP x",
        "CAPABILITY x",
        "CHECK x",
        "CLOSE x",
        "EXPUNGE 1",
        "UNSELECT x",
        "LOGOUT x",
        "NAMESPACE x",
        "IDLE x",
        "RENAME a",
        "LIST \"\"",
        "LSUB",
        "DELETE",
        "SUBSCRIBE",
        "UNSUBSCRIBE",
        "COPY 1",
        "MOVE 1",
        "UID",
        "UID FROB 1",
        "UID FETCH 1",
        "ENABLE",
        "ID",
        "STATUS",
        "SELECT",
        "EXAMINE",
        "CREATE",
        "SEARCH",
        "FETCH 1",
        "STORE 1 +FLAGS",
        "APPEND INBOX",
        "SELECT INBOX x",
        // RFC 2971 §4: `id_params_list ::= "(" #(string SPACE nstring) ")" / nil`: pairs of
        // a string and an nstring.
        "ID (name)",
        "ID (\"name\")",
        "ID (name \"x\")",
        "ID (\"name\" \"x\" \"version\")",
        "ID (\"name\" x)",
        "ID (\"name\" (\"x\"))",
        "ID (NIL \"x\")",
        "ID x",
    ] {
        rejected(command);
    }
    for command in [
        "ID NIL",
        "ID (\"name\" \"x\" \"version\" NIL)",
        "ID ()",
        "ID (\"name\" {1+}\r\nx \"os\" nil)",
        "NAMESPACE",
        "LSUB \"\" *",
        "UID EXPUNGE 1:*",
        "SELECT INBOX (CONDSTORE)",
    ] {
        let (out, word) = run(command);
        assert_eq!(word, "OK", "{command}: {out}");
    }
    // ENABLE is an authenticated-state command (RFC 5161 §3.1); unknown names are ignored.
    let mut s = session(Config::default(), false);
    let out = say(&mut s, b"t ENABLE CONDSTORE X-UNKNOWN\r\n");
    assert_eq!(status(&out, "t"), "OK", "{out}");
    let out = say(&mut s, b"t ENABLE\r\n");
    assert_eq!(status(&out, "t"), "BAD", "{out}");
}
