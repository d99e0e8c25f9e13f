//! The shipped IMAP and cross-protocol scenarios (`scenarios/imap`, `scenarios/flows`),
//! played by mailrig-transcript's client player against mailrig's own sans-IO IMAP and SMTP
//! sessions over one shared store, with no sockets. SMTP sessions deliver through
//! `StoreBackend`, so a message sent in an `s=smtp` session reaches the `a=imap` sessions.
//!
//! The last tests play scenarios against deliberately broken targets (a wrapper that loses
//! some server lines) and check that the report fails and names the missing line: the
//! scenarios' checks bite.

use std::path::PathBuf;

use mailrig_transcript::parse;
use mailrig_transcript::play::{Played, Target, play_client};
use mailrig_transcript::report::render;
use mailrig_transcript::scenario::Protocol;
use mailrig_transcript::verify::{DiffLine, Outcome};

mod support;

use support::{Servers, vars};

/// Reads and parses `scenarios/RELATIVE`, plays it against `target`; returns the play and the
/// rendered report.
fn play_against(relative: &str, target: &mut dyn Target) -> (Played, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(relative);
    let text = std::fs::read_to_string(&path).expect("scenario readable");
    let mut scenario = parse(relative, &text).expect("scenario parses");
    let dir = path.parent().expect("a scenario is in a directory").to_owned();
    scenario
        .load_literals(|file| std::fs::read(dir.join(file)).map_err(|e| e.to_string()))
        .expect("the scenario's literal files are readable");
    let vars = vars();
    let played = play_client(&scenario, target, &vars).expect("plays");
    let rendered = render(&played.report, relative, &text);
    // One engine judges both ways: the transcript of the live run, checked afterwards, gets
    // the same verdict (and the same failing line).
    let offline = mailrig_transcript::verify(&scenario, &played.transcript, &vars).expect("verifiable");
    assert_eq!(
        (offline.passed(), offline.failure().map(|f| f.pos)),
        (played.report.passed(), played.report.failure().map(|f| f.pos)),
        "the live verdict and the transcript's disagree:\nlive: {rendered}\noffline: {}",
        render(&offline, relative, &text)
    );
    (played, rendered)
}

/// Plays `scenarios/RELATIVE` against a fresh [`Servers`] and asserts that it passes.
fn play(relative: &str) -> Servers {
    let mut target = Servers::new();
    let (played, rendered) = play_against(relative, &mut target);
    assert!(played.report.passed(), "{rendered}");
    target
}

/// The number of messages in alice's INBOX at the end.
fn inbox_len(target: &Servers) -> usize {
    mailbox_len(target, "INBOX")
}

/// The number of messages in alice's `name` at the end.
fn mailbox_len(target: &Servers, name: &str) -> usize {
    target
        .store
        .messages("alice", name)
        .expect("alice has the mailbox")
        .messages
        .len()
}

#[test]
fn imap_append_literal() {
    assert_eq!(
        mailbox_len(&play("imap/append-literal.scenario"), support::MAILBOX),
        1
    );
}

#[test]
fn flows_expunge_seen_by_other() {
    assert_eq!(
        mailbox_len(&play("flows/expunge-seen-by-other.scenario"), support::MAILBOX),
        1
    );
}

#[test]
fn flows_idle_push() {
    assert_eq!(inbox_len(&play("flows/idle-push.scenario")), 1);
}

/// The message went through SMTP into the envelope log, and the scenario expunged it again
/// at the end (it leaves INBOX as it found it).
#[test]
fn flows_send_then_fetch() {
    let target = play("flows/send-then-fetch.scenario");
    assert_eq!(target.store.envelopes().len(), 1);
    assert_eq!(inbox_len(&target), 0);
}

/// One `#[test]` per scenario that only has to pass.
macro_rules! scenarios {
    ($($name:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $name() {
                play($file);
            }
        )*
        /// The scenarios played by the tests this macro makes.
        const PLAIN: &[&str] = &[$($file,)*];
    };
}

scenarios! {
    imap_implicit_tls => "imap/implicit-tls.scenario",
    imap_login_select_fetch => "imap/login-select-fetch.scenario",
    imap_starttls => "imap/starttls.scenario",
    flows_flag_sync => "flows/flag-sync.scenario",
    imap_bad_commands => "imap/bad-commands.scenario",
    imap_wrong_state => "imap/wrong-state.scenario",
    imap_mailbox_hierarchy => "imap/mailbox-hierarchy.scenario",
    imap_status => "imap/status.scenario",
    imap_store_flags => "imap/store-flags.scenario",
    imap_search => "imap/search.scenario",
    imap_copy_move => "imap/copy-move.scenario",
    imap_uid_expunge => "imap/uid-expunge.scenario",
    imap_examine_read_only => "imap/examine-read-only.scenario",
    imap_literal_plus_append => "imap/literal-plus-append.scenario",
    imap_close_unselect => "imap/close-unselect.scenario",
    flows_move_seen_by_other => "flows/move-seen-by-other.scenario",
    flows_new_keyword_flags => "flows/new-keyword-flags.scenario",
    flows_idle_flags => "flows/idle-flags.scenario",
    flows_uid_stability => "flows/uid-stability.scenario",
    imap_fetch_size => "imap/fetch-size.scenario",
    imap_starttls_injection => "imap/starttls-injection.scenario",
    imap_store_plus_minus => "imap/store-plus-minus.scenario",
    flows_chunking_then_fetch => "flows/chunking-then-fetch.scenario",
    flows_condstore_flag_sync => "flows/condstore-flag-sync.scenario",
    flows_recent_once => "flows/recent-once.scenario",
    flows_copy_seen_by_other => "flows/copy-seen-by-other.scenario",
    flows_idle_append_push => "flows/idle-append-push.scenario",
    flows_idle_expunge_push => "flows/idle-expunge-push.scenario",
    flows_silent_store_seen_by_other => "flows/silent-store-seen-by-other.scenario",
    flows_send_8bit => "flows/send-8bit.scenario",
    flows_send_attachment => "flows/send-attachment.scenario",
    flows_send_chunking => "flows/send-chunking.scenario",
    flows_send_long_line => "flows/send-long-line.scenario",
    imap_condstore_modseq => "imap/condstore-modseq.scenario",
    imap_condstore_unchangedsince => "imap/condstore-unchangedsince.scenario",
    imap_enable => "imap/enable.scenario",
    imap_id => "imap/id.scenario",
    imap_idle_done => "imap/idle-done.scenario",
    imap_namespace => "imap/namespace.scenario",
    imap_qresync_vanished => "imap/qresync-vanished.scenario",
    imap_bodystructure_multipart => "imap/bodystructure-multipart.scenario",
    imap_copy_keeps_flags => "imap/copy-keeps-flags.scenario",
    imap_expunge_several => "imap/expunge-several.scenario",
    imap_fetch_header_sections => "imap/fetch-header-sections.scenario",
    imap_search_badcharset => "imap/search-badcharset.scenario",
    imap_search_dates => "imap/search-dates.scenario",
    imap_search_keys => "imap/search-keys.scenario",
    imap_fetch_bad_item => "imap/fetch-bad-item.scenario",
    imap_fetch_envelope => "imap/fetch-envelope.scenario",
    imap_fetch_partial => "imap/fetch-partial.scenario",
    imap_fetch_sets_seen => "imap/fetch-sets-seen.scenario",
    imap_fetch_size_internaldate => "imap/fetch-size-internaldate.scenario",
    imap_uid_fetch_includes_uid => "imap/uid-fetch-includes-uid.scenario",
    imap_uid_range_star => "imap/uid-range-star.scenario",
    imap_append_trycreate => "imap/append-trycreate.scenario",
    imap_authenticate_cancel => "imap/authenticate-cancel.scenario",
    imap_authenticate_initial_response => "imap/authenticate-initial-response.scenario",
    imap_authenticate_plain => "imap/authenticate-plain.scenario",
    imap_capability_every_state => "imap/capability-every-state.scenario",
    imap_inbox_case_insensitive => "imap/inbox-case-insensitive.scenario",
    imap_literal_mailbox_name => "imap/literal-mailbox-name.scenario",
    imap_login_quoted => "imap/login-quoted.scenario",
    imap_login_twice => "imap/login-twice.scenario",
    imap_logout => "imap/logout.scenario",
    imap_mailbox_errors => "imap/mailbox-errors.scenario",
    imap_examine_keeps_recent => "imap/examine-keeps-recent.scenario",
    imap_mailbox_name_brackets => "imap/mailbox-name-brackets.scenario",
    imap_mailbox_name_quoted => "imap/mailbox-name-quoted.scenario",
    imap_noop_every_state => "imap/noop-every-state.scenario",
    imap_pipelined_commands => "imap/pipelined-commands.scenario",
    imap_pipelined_any_order => "imap/pipelined-any-order.scenario",
    flows_message_name_renumbered => "flows/message-name-renumbered.scenario",
    imap_select_other_keeps_deleted => "imap/select-other-keeps-deleted.scenario",
    imap_tag_echo => "imap/tag-echo.scenario",
    imap_uidnext_advances => "imap/uidnext-advances.scenario",
    imap_uidvalidity_recreated => "imap/uidvalidity-recreated.scenario",
    flows_idle_move_push => "flows/idle-move-push.scenario",
    flows_several_recipients => "flows/several-recipients.scenario",
    imap_append_flags_keywords => "imap/append-flags-keywords.scenario",
    imap_append_selected_exists => "imap/append-selected-exists.scenario",
    imap_check_command => "imap/check-command.scenario",
    imap_copy_into_selected_exists => "imap/copy-into-selected-exists.scenario",
    imap_create_intermediate => "imap/create-intermediate.scenario",
    imap_create_trailing_separator => "imap/create-trailing-separator.scenario",
    imap_fetch_header_fields_case => "imap/fetch-header-fields-case.scenario",
    imap_fetch_header_fields_literal => "imap/fetch-header-fields-literal.scenario",
    imap_fetch_macros => "imap/fetch-macros.scenario",
    imap_fetch_nested_message => "imap/fetch-nested-message.scenario",
    imap_fetch_partial_edges => "imap/fetch-partial-edges.scenario",
    imap_fetch_rfc822_items => "imap/fetch-rfc822-items.scenario",
    imap_list_wildcards_middle => "imap/list-wildcards-middle.scenario",
    imap_literals_nonsync_everywhere => "imap/literals-nonsync-everywhere.scenario",
    imap_literals_sync_everywhere => "imap/literals-sync-everywhere.scenario",
    imap_move_copyuid => "imap/move-copyuid.scenario",
    imap_rename_inbox => "imap/rename-inbox.scenario",
    imap_search_nested => "imap/search-nested.scenario",
    imap_select_required_responses => "imap/select-required-responses.scenario",
    imap_sequence_set_forms => "imap/sequence-set-forms.scenario",
    imap_status_several_items => "imap/status-several-items.scenario",
    imap_subscription_survives_delete => "imap/subscription-survives-delete.scenario",
    imap_uid_commands_missing => "imap/uid-commands-missing.scenario",
    imap_uid_search_uids => "imap/uid-search-uids.scenario",
    imap_esearch_rev1 => "imap/esearch-rev1.scenario",
    imap_list_extended_rev1 => "imap/list-extended-rev1.scenario",
    imap_appendlimit => "imap/appendlimit.scenario",
    imap_compress => "imap/compress.scenario",
    imap_sort => "imap/sort.scenario",
    imap_thread => "imap/thread.scenario",
    imap_esort => "imap/esort.scenario",
    imap_context_search => "imap/context-search.scenario",
    imap_context_sort => "imap/context-sort.scenario",
    imap_multiappend => "imap/multiappend.scenario",
    imap_binary => "imap/binary.scenario",
    imap_catenate => "imap/catenate.scenario",
    imap_quota => "imap/quota.scenario",
    imap_objectid => "imap/objectid.scenario",
    imap_notify => "imap/notify.scenario",
}

/// The scenarios played by tests that check more than the report.
const CHECKED: &[&str] = &[
    "imap/append-literal.scenario",
    "flows/expunge-seen-by-other.scenario",
    "flows/idle-push.scenario",
    "flows/send-then-fetch.scenario",
];

/// A new scenario under `scenarios/imap` or `scenarios/flows` gets a test here.
#[test]
fn every_scenario_is_played() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut found = Vec::new();
    for dir in ["imap", "flows"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("scenario directory readable") {
            let name = entry.expect("directory entry").file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".scenario") {
                found.push(format!("{dir}/{name}"));
            }
        }
    }
    found.sort();
    let mut played: Vec<String> = PLAIN.iter().chain(CHECKED).map(|f| (*f).to_owned()).collect();
    played.sort();
    assert_eq!(found, played);
}

/// A broken server: [`Servers`], except that the server lines of session `session` for which
/// `drop` holds are lost.
struct Lossy<F> {
    inner: Servers,
    session: &'static str,
    drop: F,
}

impl<F: Fn(&[u8]) -> bool> Target for Lossy<F> {
    fn connect(&mut self, session: &str, protocol: Protocol) {
        self.inner.connect(session, protocol);
    }

    fn send(&mut self, session: &str, bytes: &[u8]) {
        self.inner.send(session, bytes);
    }

    /// Splits each write into lines and leaves out the dropped ones (none of the lines
    /// these tests drop carries a literal).
    fn receive(&mut self, session: &str) -> Vec<Vec<u8>> {
        let writes = self.inner.receive(session);
        if session != self.session {
            return writes;
        }
        writes
            .into_iter()
            .map(|write| {
                write
                    .split_inclusive(|&b| b == b'\n')
                    .filter(|line| !(self.drop)(line))
                    .flatten()
                    .copied()
                    .collect::<Vec<u8>>()
            })
            .filter(|write| !write.is_empty())
            .collect()
    }

    fn start_tls(&mut self, session: &str) {
        self.inner.start_tls(session);
    }

    fn close(&mut self, session: &str) {
        self.inner.close(session);
    }

    fn is_closed(&mut self, session: &str) -> bool {
        self.inner.is_closed(session)
    }
}

/// Plays `relative` against a target that loses some of `session`'s lines, and asserts that
/// the report fails in `session` with `missing` among the expected lines never received.
fn assert_fails<F: Fn(&[u8]) -> bool>(relative: &str, session: &'static str, drop: F, missing: &str) {
    let mut target = Lossy {
        inner: Servers::new(),
        session,
        drop,
    };
    let (played, rendered) = play_against(relative, &mut target);
    assert!(!played.report.passed(), "a lossy server passed:\n{rendered}");
    let failed = played
        .report
        .sessions
        .iter()
        .find(|s| matches!(s.outcome, Outcome::Fail(_)))
        .expect("a session failed");
    let Outcome::Fail(failure) = &failed.outcome else {
        unreachable!("found by the match above")
    };
    assert_eq!(failure.session, session, "{rendered}");
    let named = failure
        .diff
        .iter()
        .any(|line| matches!(line, DiffLine::Missing(text) if text.contains(missing)));
    assert!(
        named,
        "the report does not name `{missing}` as missing:\n{rendered}"
    );
    assert!(rendered.contains(missing), "{rendered}");
}

fn is_untagged(line: &[u8], word: &str) -> bool {
    let text = String::from_utf8_lossy(line).to_ascii_uppercase();
    text.starts_with("* ") && text.contains(word)
}

/// Session b never hears of the other session's flag change.
#[test]
fn flag_sync_fails_without_unsolicited_fetch() {
    assert_fails(
        "flows/flag-sync.scenario",
        "b",
        |line| is_untagged(line, " FETCH "),
        "FETCH (${_}FLAGS (\\Seen)${_})",
    );
}

/// Session b never hears of the other session's expunge.
#[test]
fn expunge_seen_by_other_fails_without_expunge() {
    assert_fails(
        "flows/expunge-seen-by-other.scenario",
        "b",
        |line| is_untagged(line, " EXPUNGE"),
        "${gone} EXPUNGE",
    );
}

/// The IDLEing session never gets the EXISTS for the delivered message.
#[test]
fn idle_push_fails_without_exists() {
    assert_fails(
        "flows/idle-push.scenario",
        "a",
        // INBOX is empty when selected (`* 0 EXISTS`); the pushed line is `* 1 EXISTS`.
        |line| line == b"* 1 EXISTS\r\n",
        "EXISTS",
    );
}

/// The IDLEing session never gets the FETCH for the flag the other session stored.
#[test]
fn idle_flags_fails_without_pushed_fetch() {
    assert_fails(
        "flows/idle-flags.scenario",
        "b",
        |line| is_untagged(line, " FETCH "),
        "FETCH (${_}FLAGS (${_}\\Flagged${_})${_})",
    );
}

/// A server that never answers one of the pipelined commands fails the batch, however the
/// other completions are ordered.
#[test]
fn pipelined_any_order_fails_without_a_completion() {
    assert_fails(
        "imap/pipelined-any-order.scenario",
        "a",
        |line| line.starts_with(b"A3 "),
        "A3 OK ${_}",
    );
}

/// Session a never hears of b's expunge: the group that expects it fails, before `${kept}`
/// could stand for a stale number.
#[test]
fn message_name_renumbered_fails_without_expunge() {
    assert_fails(
        "flows/message-name-renumbered.scenario",
        "a",
        |line| is_untagged(line, " EXPUNGE"),
        "${_:num} EXPUNGE",
    );
}
