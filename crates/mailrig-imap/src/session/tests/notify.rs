//! NOTIFY (RFC 5465): two sessions over one store, one NOTIFY SET, the other changing
//! things; the exact STATUS and LIST responses, when they go out, and the refusals.

use super::*;

/// A logged-in session whose greeting and login were drained.
fn notifier(store: &Store) -> Session {
    let mut session = logged_in(store);
    drain(&mut session);
    session
}

/// Runs `input` in the other session and checks it succeeded.
fn other(session: &mut Session, input: &[u8]) {
    let text = exchange(session, input);
    assert!(text.contains(" OK "), "{text}");
}

fn append(session: &mut Session, mailbox: &str) {
    let command = format!("o APPEND {mailbox} {{12+}}\r\nSubject: x\r\n\r\n");
    other(session, command.as_bytes());
}

#[test]
fn message_events_in_other_mailboxes_send_status() {
    let store = store();
    let mut n = notifier(&store);
    let mut o = notifier(&store);
    assert_eq!(
        exchange(
            &mut n,
            b"1 NOTIFY SET (personal (MessageNew MessageExpunge FlagChange))\r\n"
        ),
        "1 OK NOTIFY completed\r\n"
    );
    append(&mut o, "Sent");
    append(&mut o, "Sent");
    assert_eq!(
        exchange(&mut n, b"2 NOOP\r\n"),
        "* STATUS \"Sent\" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY 2 UNSEEN 2)\r\n2 OK NOOP completed\r\n"
    );
    other(&mut o, b"o SELECT Sent\r\n");
    other(&mut o, b"o STORE 1 +FLAGS (\\Seen \\Deleted)\r\n");
    assert_eq!(
        exchange(&mut n, b"3 NOOP\r\n"),
        "* STATUS \"Sent\" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY 2 UNSEEN 1)\r\n3 OK NOOP completed\r\n"
    );
    other(&mut o, b"o EXPUNGE\r\n");
    assert_eq!(
        exchange(&mut n, b"4 NOOP\r\n"),
        "* STATUS \"Sent\" (MESSAGES 1 UIDNEXT 3 UIDVALIDITY 2 UNSEEN 1)\r\n4 OK NOOP completed\r\n"
    );
    // Nothing happened since: nothing is sent.
    assert_eq!(exchange(&mut n, b"5 NOOP\r\n"), "5 OK NOOP completed\r\n");
}

#[test]
fn flag_changes_only_with_flagchange_and_condstore_adds_highestmodseq() {
    let store = store();
    let mut n = notifier(&store);
    let mut o = notifier(&store);
    exchange(&mut n, b"e ENABLE CONDSTORE\r\n");
    let text = exchange(&mut n, b"1 NOTIFY SET (inboxes (MessageNew MessageExpunge))\r\n");
    assert_eq!(text, "1 OK NOTIFY completed\r\n");
    append(&mut o, "INBOX");
    assert_eq!(
        exchange(&mut n, b"2 NOOP\r\n"),
        "* STATUS \"INBOX\" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 1 UNSEEN 1 HIGHESTMODSEQ 2)\r\n\
         2 OK NOOP completed\r\n"
    );
    other(&mut o, b"o SELECT INBOX\r\no STORE 1 +FLAGS (\\Seen)\r\n");
    // No FlagChange asked for; and Sent is not among the inboxes.
    append(&mut o, "Sent");
    assert_eq!(exchange(&mut n, b"3 NOOP\r\n"), "3 OK NOOP completed\r\n");
}

/// A message event followed by one the client did not ask for, in one batch, still sends
/// the STATUS: a mailbox's events are taken together, not only its last one.
#[test]
fn a_later_unwanted_event_does_not_hide_an_earlier_wanted_one() {
    let store = store();
    let mut n = notifier(&store);
    let mut o = notifier(&store);
    let text = exchange(&mut n, b"1 NOTIFY SET (inboxes (MessageNew MessageExpunge))\r\n");
    assert_eq!(text, "1 OK NOTIFY completed\r\n");
    append(&mut o, "INBOX");
    other(&mut o, b"o SELECT INBOX\r\no STORE 1 +FLAGS (\\Seen)\r\n");
    assert_eq!(
        exchange(&mut n, b"2 NOOP\r\n"),
        "* STATUS \"INBOX\" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 1 UNSEEN 0)\r\n2 OK NOOP completed\r\n"
    );
}

#[test]
fn set_status_reports_every_mailbox_at_once_and_idle_pushes() {
    let store = store();
    let mut n = notifier(&store);
    let mut o = notifier(&store);
    append(&mut o, "Drafts");
    let text = exchange(
        &mut n,
        b"1 NOTIFY SET STATUS (mailboxes (INBOX Drafts) (MessageNew MessageExpunge))\r\n",
    );
    assert_eq!(
        text,
        "* STATUS \"Drafts\" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 3 UNSEEN 1)\r\n\
         * STATUS \"INBOX\" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY 1 UNSEEN 0)\r\n\
         1 OK NOTIFY completed\r\n"
    );
    assert_eq!(exchange(&mut n, b"2 IDLE\r\n"), "+ idling\r\n");
    assert!(!n.has_pending_updates());
    append(&mut o, "INBOX");
    assert!(n.has_pending_updates());
    assert_eq!(
        drain(&mut n),
        "* STATUS \"INBOX\" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 1 UNSEEN 1)\r\n"
    );
    assert_eq!(exchange(&mut n, b"DONE\r\n"), "2 OK IDLE terminated\r\n");
}

#[test]
fn mailbox_names_and_subscriptions_send_list() {
    let store = store();
    let mut n = notifier(&store);
    let mut o = notifier(&store);
    let text = exchange(
        &mut n,
        b"1 NOTIFY SET (subtree Work (MailboxName SubscriptionChange)) (personal (MailboxName))\r\n",
    );
    assert_eq!(text, "1 OK NOTIFY completed\r\n");
    other(&mut o, b"o CREATE Work/a\r\n");
    other(&mut o, b"o SUBSCRIBE Work/a\r\n");
    other(&mut o, b"o RENAME Work/a Work/b\r\n");
    other(&mut o, b"o UNSUBSCRIBE Work/b\r\n");
    other(&mut o, b"o SUBSCRIBE Other\r\n");
    other(&mut o, b"o DELETE Work/b\r\n");
    assert_eq!(
        exchange(&mut n, b"2 NOOP\r\n"),
        "* LIST (\\HasNoChildren) \"/\" \"Work\"\r\n\
         * LIST (\\NonExistent) \"/\" \"Work/a\"\r\n\
         * LIST (\\NonExistent) \"/\" \"Work/a\"\r\n\
         * LIST (\\NonExistent) \"/\" \"Work/b\" (\"OLDNAME\" (\"Work/a\"))\r\n\
         * LIST (\\NonExistent) \"/\" \"Work/b\"\r\n\
         * LIST (\\NonExistent) \"/\" \"Work/b\"\r\n\
         2 OK NOOP completed\r\n"
    );
}

/// Each event reported as the mailbox is when the client is told: one step at a time.
#[test]
fn rename_carries_oldname_and_subscription_state() {
    let store = store();
    let mut n = notifier(&store);
    let mut o = notifier(&store);
    exchange(
        &mut n,
        b"1 NOTIFY SET (personal (MailboxName SubscriptionChange))\r\n",
    );
    other(&mut o, b"o CREATE Work/a\r\n");
    assert_eq!(
        exchange(&mut n, b"2 NOOP\r\n"),
        "* LIST (\\HasChildren) \"/\" \"Work\"\r\n* LIST (\\HasNoChildren) \"/\" \"Work/a\"\r\n2 OK NOOP completed\r\n"
    );
    other(&mut o, b"o SUBSCRIBE Work/a\r\n");
    assert_eq!(
        exchange(&mut n, b"3 NOOP\r\n"),
        "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"Work/a\"\r\n3 OK NOOP completed\r\n"
    );
    other(&mut o, b"o RENAME Work/a Work/b\r\n");
    assert_eq!(
        exchange(&mut n, b"4 NOOP\r\n"),
        "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"Work/b\" (\"OLDNAME\" (\"Work/a\"))\r\n4 OK NOOP completed\r\n"
    );
    other(&mut o, b"o UNSUBSCRIBE Work/b\r\n");
    assert_eq!(
        exchange(&mut n, b"5 NOOP\r\n"),
        "* LIST (\\HasNoChildren) \"/\" \"Work/b\"\r\n5 OK NOOP completed\r\n"
    );
    other(&mut o, b"o DELETE Work/b\r\n");
    assert_eq!(
        exchange(&mut n, b"6 NOOP\r\n"),
        "* LIST (\\NonExistent) \"/\" \"Work/b\"\r\n6 OK NOOP completed\r\n"
    );
    assert_eq!(
        exchange(&mut n, b"7 NOTIFY NONE\r\n"),
        "7 OK NOTIFY completed\r\n"
    );
    other(&mut o, b"o CREATE Later\r\n");
    assert_eq!(exchange(&mut n, b"8 NOOP\r\n"), "8 OK NOOP completed\r\n");
}

#[test]
fn the_first_matching_group_decides_and_the_selected_mailbox_gets_no_status() {
    let store = store();
    let mut n = notifier(&store);
    let mut o = notifier(&store);
    exchange(&mut n, b"s SELECT INBOX\r\n");
    let text = exchange(
        &mut n,
        b"1 NOTIFY SET (mailboxes Trash NONE) (personal (MessageNew MessageExpunge))\r\n",
    );
    assert_eq!(text, "1 OK NOTIFY completed\r\n");
    append(&mut o, "Trash");
    append(&mut o, "INBOX");
    append(&mut o, "Junk");
    assert_eq!(
        exchange(&mut n, b"2 NOOP\r\n"),
        "* 1 EXISTS\r\n* 1 RECENT\r\n\
         * STATUS \"Junk\" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 5 UNSEEN 1)\r\n2 OK NOOP completed\r\n"
    );
}

#[test]
fn selected_messagenew_fetches_and_selected_sends_expunge_after_fetch() {
    let store = store();
    let mut n = notifier(&store);
    let mut o = notifier(&store);
    append(&mut o, "INBOX");
    exchange(&mut n, b"s SELECT INBOX\r\n");
    let text = exchange(
        &mut n,
        b"1 NOTIFY SET (selected (MessageNew (UID RFC822.SIZE) MessageExpunge))\r\n",
    );
    assert_eq!(text, "1 OK NOTIFY completed\r\n");
    append(&mut o, "INBOX");
    assert_eq!(
        exchange(&mut n, b"2 NOOP\r\n"),
        "* 2 EXISTS\r\n* 2 RECENT\r\n* 2 FETCH (UID 2 RFC822.SIZE 12)\r\n2 OK NOOP completed\r\n"
    );
    other(
        &mut o,
        b"o SELECT INBOX\r\no STORE 1 +FLAGS.SILENT (\\Deleted)\r\no EXPUNGE\r\n",
    );
    // RFC 9051 §7.5.1 holds EXPUNGE back after FETCH (not UID FETCH); `selected` lets it out
    // (RFC 5465 §5.3).
    assert_eq!(
        exchange(&mut n, b"3 FETCH 2 UID\r\n"),
        "* 2 FETCH (UID 2)\r\n* 1 FETCH (FLAGS (\\Deleted \\Recent) UID 1)\r\n* 1 EXPUNGE\r\n\
         3 OK FETCH completed\r\n"
    );
}

#[test]
fn selected_delayed_keeps_expunge_back_after_fetch() {
    let store = store();
    let mut n = notifier(&store);
    let mut o = notifier(&store);
    append(&mut o, "INBOX");
    append(&mut o, "INBOX");
    exchange(&mut n, b"s SELECT INBOX\r\n");
    let text = exchange(
        &mut n,
        b"1 NOTIFY SET (selected-delayed (MessageNew MessageExpunge))\r\n",
    );
    assert_eq!(text, "1 OK NOTIFY completed\r\n");
    other(
        &mut o,
        b"o SELECT INBOX\r\no STORE 1 +FLAGS.SILENT (\\Deleted)\r\no EXPUNGE\r\n",
    );
    assert_eq!(
        exchange(&mut n, b"2 FETCH 2 UID\r\n"),
        "* 2 FETCH (UID 2)\r\n* 1 FETCH (FLAGS (\\Deleted \\Recent) UID 1)\r\n2 OK FETCH completed\r\n"
    );
    assert_eq!(
        exchange(&mut n, b"3 NOOP\r\n"),
        "* 1 EXPUNGE\r\n3 OK NOOP completed\r\n"
    );
}

#[test]
fn refusals() {
    let store = store();
    let mut n = notifier(&store);
    let cases: [(&[u8], &str); 12] = [
        (b"1 NOTIFY\r\n", "1 BAD"),
        (b"1 NOTIFY SET\r\n", "1 BAD"),
        (b"1 NOTIFY SET STATUS\r\n", "1 BAD"),
        (
            b"1 NOTIFY SET (everywhere (MessageNew MessageExpunge))\r\n",
            "1 BAD",
        ),
        (b"1 NOTIFY SET (personal (MessageNew))\r\n", "1 BAD"),
        (
            b"1 NOTIFY SET (personal (MessageExpunge FlagChange))\r\n",
            "1 BAD",
        ),
        (b"1 NOTIFY SET (personal (FlagChange))\r\n", "1 BAD"),
        (b"1 NOTIFY SET (personal ())\r\n", "1 BAD"),
        (b"1 NOTIFY SET (selected (MailboxName))\r\n", "1 BAD"),
        (
            b"1 NOTIFY SET (selected NONE) (selected-delayed NONE)\r\n",
            "1 BAD",
        ),
        (
            b"1 NOTIFY SET (personal (MessageNew (UID) MessageExpunge))\r\n",
            "1 BAD",
        ),
        (b"1 NOTIFY SET (subtree (MessageNew MessageExpunge))\r\n", "1 BAD"),
    ];
    for (input, answer) in cases {
        let text = exchange(&mut n, input);
        assert!(
            text.starts_with(answer),
            "{}: {text}",
            String::from_utf8_lossy(input)
        );
    }
    let supported = "[BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)]";
    for input in [
        &b"2 NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))\r\n"[..],
        b"2 NOTIFY SET (personal (MailboxMetadataChange))\r\n",
        b"2 NOTIFY SET (personal (Teleport))\r\n",
    ] {
        assert_eq!(
            exchange(&mut n, input),
            format!("2 NO {supported} unsupported NOTIFY event\r\n")
        );
    }
    // A refused NOTIFY SET changes nothing: still no notifications.
    let mut o = notifier(&store);
    append(&mut o, "Sent");
    assert_eq!(exchange(&mut n, b"3 NOOP\r\n"), "3 OK NOOP completed\r\n");
}

#[test]
fn before_login_and_switched_off() {
    let store = store();
    let mut session = Session::new(Config::default(), store.clone());
    drain(&mut session);
    assert_eq!(
        exchange(&mut session, b"1 NOTIFY NONE\r\n"),
        "1 BAD not authenticated\r\n"
    );
    let config = Config {
        extensions: Extensions {
            notify: false,
            ..Extensions::default()
        },
        ..Config::default()
    };
    let mut session = Session::new(config, store);
    let greeting = drain(&mut session);
    assert!(!greeting.contains("NOTIFY"), "{greeting}");
    exchange(&mut session, b"a LOGIN alice secret\r\n");
    assert_eq!(
        exchange(&mut session, b"1 NOTIFY NONE\r\n"),
        "1 BAD unknown command\r\n"
    );
}

/// RFC 5465 §5: "The server SHOULD omit notifying the client if the event is caused by this
/// client". The session's own APPEND, COPY, MOVE, CREATE, SUBSCRIBE, RENAME and DELETE in
/// mailboxes it watches send no STATUS or LIST (the tagged response already told it); another
/// session's changes in the same mailboxes still do.
#[test]
fn the_sessions_own_changes_are_left_out() {
    let store = store();
    let mut n = notifier(&store);
    let mut o = notifier(&store);
    let text = exchange(
        &mut n,
        b"1 NOTIFY SET (personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))\r\n",
    );
    assert_eq!(text, "1 OK NOTIFY completed\r\n");
    for command in [
        &b"2 APPEND Sent {12+}\r\nSubject: x\r\n\r\n"[..],
        b"3 CREATE Work/a\r\n",
        b"4 SUBSCRIBE Work/a\r\n",
        b"5 RENAME Work/a Work/b\r\n",
        b"6 UNSUBSCRIBE Work/b\r\n",
        b"7 DELETE Work/b\r\n",
        b"8 SELECT Sent\r\n",
        b"9 COPY 1 Trash\r\n",
        b"10 MOVE 1 Junk\r\n",
    ] {
        let text = exchange(&mut n, command);
        assert!(
            !text.contains("* STATUS") && !text.contains("* LIST"),
            "{}: {text}",
            String::from_utf8_lossy(command)
        );
        assert!(text.contains(" OK "), "{text}");
    }
    assert_eq!(exchange(&mut n, b"11 NOOP\r\n"), "11 OK NOOP completed\r\n");
    append(&mut o, "Trash");
    other(&mut o, b"o CREATE Work/c\r\n");
    assert_eq!(
        exchange(&mut n, b"12 NOOP\r\n"),
        "* STATUS \"Trash\" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY 4 UNSEEN 2)\r\n\
         * LIST (\\HasNoChildren) \"/\" \"Work/c\"\r\n12 OK NOOP completed\r\n"
    );
}

/// RFC 5465 §5.8: a session that fell further behind than the journal keeps gets `* OK
/// [NOTIFICATIONOVERFLOW]` and then behaves as after NOTIFY NONE, until it asks again.
#[test]
fn falling_behind_the_journal_ends_notifications_with_overflow() {
    let store = Store::with_change_log_limit(2);
    store
        .add_user(User::new("alice", "secret", ["alice@example.test"]))
        .expect("a new store has no users");
    let mut n = notifier(&store);
    let mut o = notifier(&store);
    exchange(&mut n, b"1 NOTIFY SET (personal (MessageNew MessageExpunge))\r\n");
    append(&mut o, "Sent");
    append(&mut o, "Sent");
    // Two entries fit the journal's limit.
    assert_eq!(
        exchange(&mut n, b"2 NOOP\r\n"),
        "* STATUS \"Sent\" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY 2 UNSEEN 2)\r\n2 OK NOOP completed\r\n"
    );
    for _ in 0..3 {
        append(&mut o, "Drafts");
    }
    assert_eq!(
        exchange(&mut n, b"3 NOOP\r\n"),
        "* OK [NOTIFICATIONOVERFLOW] notifications off\r\n3 OK NOOP completed\r\n"
    );
    append(&mut o, "Drafts");
    assert_eq!(exchange(&mut n, b"4 NOOP\r\n"), "4 OK NOOP completed\r\n");
    exchange(&mut n, b"5 NOTIFY SET (personal (MessageNew MessageExpunge))\r\n");
    append(&mut o, "Drafts");
    assert_eq!(
        exchange(&mut n, b"6 NOOP\r\n"),
        "* STATUS \"Drafts\" (MESSAGES 5 UIDNEXT 6 UIDVALIDITY 3 UNSEEN 5)\r\n6 OK NOOP completed\r\n"
    );
}

/// RENAME INBOX (RFC 9051 §6.3.6) moves INBOX's messages to a new mailbox and leaves INBOX
/// there, empty. NOTIFY reports it as RFC 5465 §5.4 says: an extended LIST of the new name
/// with `OLDNAME ("INBOX")` and nothing for the name INBOX ("a new INBOX is assumed to be
/// created"), then the messages: INBOX's STATUS (now empty, same UIDVALIDITY) and the new
/// mailbox's (its own UIDVALIDITY, §5.1: UIDVALIDITY changes are reported).
#[test]
fn rename_of_inbox_is_a_rename_list_and_two_statuses() {
    let store = store();
    let mut n = notifier(&store);
    let mut o = notifier(&store);
    append(&mut o, "INBOX");
    append(&mut o, "INBOX");
    let text = exchange(
        &mut n,
        b"1 NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))\r\n",
    );
    assert_eq!(text, "1 OK NOTIFY completed\r\n");
    other(&mut o, b"o RENAME INBOX Old\r\n");
    assert_eq!(
        exchange(&mut n, b"2 NOOP\r\n"),
        "* LIST (\\HasNoChildren) \"/\" \"Old\" (\"OLDNAME\" (\"INBOX\"))\r\n\
         * STATUS \"INBOX\" (MESSAGES 0 UIDNEXT 3 UIDVALIDITY 1 UNSEEN 0)\r\n\
         * STATUS \"Old\" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY 6 UNSEEN 2)\r\n\
         2 OK NOOP completed\r\n"
    );
    // Only name events asked for: just the LIST.
    exchange(&mut n, b"3 NOTIFY SET (personal (MailboxName))\r\n");
    append(&mut o, "INBOX");
    other(&mut o, b"o RENAME INBOX New/Inbox\r\n");
    assert_eq!(
        exchange(&mut n, b"4 NOOP\r\n"),
        "* LIST (\\HasChildren) \"/\" \"New\"\r\n\
         * LIST (\\HasNoChildren) \"/\" \"New/Inbox\" (\"OLDNAME\" (\"INBOX\"))\r\n\
         4 OK NOOP completed\r\n"
    );
}

/// RFC 5465 §3's own example asks MessageNew for `body.peek[header.fields (...)]`: a section
/// with a space inside is one fetch-att, and the FETCH for a new message carries it.
#[test]
fn messagenew_fetch_atts_take_sections() {
    let store = store();
    let mut n = notifier(&store);
    let mut o = notifier(&store);
    exchange(&mut n, b"s SELECT INBOX\r\n");
    let text = exchange(
        &mut n,
        b"1 NOTIFY SET (selected (MessageNew (uid body.peek[header.fields (subject)]) MessageExpunge))\r\n",
    );
    assert_eq!(text, "1 OK NOTIFY completed\r\n");
    append(&mut o, "INBOX");
    assert_eq!(
        exchange(&mut n, b"2 NOOP\r\n"),
        "* 1 EXISTS\r\n* 1 RECENT\r\n\
         * 1 FETCH (UID 1 BODY[HEADER.FIELDS (SUBJECT)] {14}\r\nSubject: x\r\n\r\n)\r\n\
         2 OK NOOP completed\r\n"
    );
}

/// RFC 5465 §5.2: "A FETCH response SHOULD NOT be generated for a new message created by the
/// client on this particular connection, for instance, as the result of an APPEND or COPY
/// command to the selected mailbox performed by the client itself." Its EXISTS still comes
/// (RFC 9051 §7.4.1), and another session's message in the same batch still gets its FETCH.
#[test]
fn messagenew_sends_no_fetch_for_the_sessions_own_messages() {
    let store = store();
    let mut n = notifier(&store);
    let mut o = notifier(&store);
    exchange(&mut n, b"s SELECT INBOX\r\n");
    let text = exchange(
        &mut n,
        b"1 NOTIFY SET (selected (MessageNew (UID) MessageExpunge))\r\n",
    );
    assert_eq!(text, "1 OK NOTIFY completed\r\n");
    assert_eq!(
        exchange(&mut n, b"2 APPEND INBOX {12+}\r\nSubject: x\r\n\r\n"),
        "* 1 EXISTS\r\n* 1 RECENT\r\n2 OK [APPENDUID 1 1] APPEND completed\r\n"
    );
    append(&mut o, "INBOX");
    assert_eq!(
        exchange(&mut n, b"3 COPY 1 INBOX\r\n"),
        "* 3 EXISTS\r\n* 3 RECENT\r\n* 2 FETCH (UID 2)\r\n\
         3 OK [COPYUID 1 1 3] COPY completed\r\n"
    );
    assert_eq!(exchange(&mut n, b"4 NOOP\r\n"), "4 OK NOOP completed\r\n");
}

/// The planted defect `notify-status-without-uidvalidity` drops UIDVALIDITY from the STATUS
/// of a watched mailbox, as Dovecot 2.3 does for a flag change.
#[test]
fn planted_defect_drops_uidvalidity() {
    let store = store();
    let mut n = notifier(&store);
    n.config.defects = crate::Defects::from(crate::Defect::NotifyStatusWithoutUidvalidity);
    let mut o = notifier(&store);
    exchange(&mut n, b"1 NOTIFY SET (personal (MessageNew MessageExpunge))\r\n");
    append(&mut o, "Sent");
    assert_eq!(
        exchange(&mut n, b"2 NOOP\r\n"),
        "* STATUS \"Sent\" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n2 OK NOOP completed\r\n"
    );
}
