//! Deliberate defects: test-only switches that make a session break one RFC rule each.
//!
//! They exist to show that a conformance suite catches real bugs: the shipped scenarios are
//! played against a server started with each defect, and every defect must make at least one
//! scenario fail (the kill table printed by `cargo test -p mailrig-server --test defects --
//! --nocapture`; the catalogue is docs/defects.md). A defect is a minimal deviation at the one
//! place where the session does the right thing, marked there with its variant
//! (`self.config.defects.has(Defect::...)`). [`Defects::none()`], the default, is a correct
//! session, and a branch on a small bit set is all the correct path pays.
//!
//! Never switch one on outside a test of the test suite itself.

/// One named way for an IMAP session to be wrong. [`Defect::name`] is its stable name
/// (`mailrig serve --defect NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Defect {
    /// Flag changes made by other sessions are never reported to this one, at NOOP or in IDLE
    /// (RFC 9051 §5.2, §7.5.2: the server sends an untagged FETCH when a message's flags
    /// change).
    FlagsNotPushed,
    /// Other sessions' expunges are reported while responding to FETCH, STORE and SEARCH,
    /// renumbering the messages under the client (RFC 9051 §7.5.1: "An EXPUNGE response MUST
    /// NOT be sent when responding to a FETCH, STORE, or SEARCH command").
    ExpungeDuringFetch,
    /// SELECT, EXAMINE and STATUS report UIDNEXT one too low, as it was before the last
    /// message arrived: it names an existing message (RFC 9051 §2.3.1.1: the next UID is
    /// greater than every UID in the mailbox).
    UidnextNotAdvanced,
    /// FETCH RFC822.SIZE counts line ends as one octet (the size of the message with LF line
    /// ends), so it differs from the octets BODY[] returns (RFC 9051 §2.3.4: the number of
    /// octets in the message as expressed in RFC 5322 format).
    WrongRfc822Size,
    /// Commands pipelined behind STARTTLS in plaintext are kept and executed after the TLS
    /// handshake (RFC 9051 §6.2.1: the server must discard them; CVE-2011-0411's relatives).
    ImapStartTlsInjection,
    /// CAPABILITY still lists STARTTLS after the TLS handshake (RFC 9051 §6.2.1: STARTTLS is
    /// only valid in plaintext, and the server must not advertise it once TLS is active).
    ImapStartTlsAfterTls,
    /// STORE succeeds in a mailbox opened with EXAMINE (RFC 9051 §6.3.3: EXAMINE selects
    /// read-only, so no permanent state may change).
    ExamineAllowsStore,
    /// Every read-write session marks every message it reports as `\Recent`, whichever
    /// session was told first, so one message is recent in two sessions (RFC 3501 §2.3.2:
    /// `\Recent` is for the first session notified about a message only).
    RecentToEverySession,
    /// An IDLEing session is sent nothing until DONE: new messages, flag changes and
    /// expunges wait for the end of IDLE (RFC 9051 §6.3.13, RFC 2177 §3: the server sends
    /// them as they happen).
    IdlePushesNothing,
    /// SEARCH uses only its first search key and ignores the rest (RFC 9051 §6.4.4: several
    /// keys are ANDed together).
    SearchFirstKeyOnly,
    /// Unsolicited FETCH responses for other sessions' flag changes leave out UID, even with
    /// CONDSTORE enabled (RFC 7162 §3.1: once CONDSTORE is enabled, "the server MUST
    /// automatically include both UID and mod-sequence data in all subsequent untagged FETCH
    /// responses").
    UnsolicitedFetchWithoutUid,
    /// COPYUID names the source mailbox's UIDVALIDITY instead of the destination's (RFC 4315
    /// §3: the UIDVALIDITY in COPYUID is the destination mailbox's).
    CopyuidSourceUidvalidity,
    /// No `+` continuation request is sent for a synchronizing literal; the server just waits
    /// for the octets (RFC 9051 §4.3, §7.5: the server sends `+` when ready for the literal).
    LiteralWithoutContinuation,
    /// MOVE copies the messages but leaves them in the source mailbox (RFC 6851 §3.3: MOVE
    /// expunges them from the source and sends the EXPUNGE responses).
    MoveWithoutExpunge,
    /// EXPUNGE and UID EXPUNGE remove every message they cover, not only those with
    /// `\Deleted` (RFC 9051 §6.4.3: only messages with the `\Deleted` flag set).
    ExpungeIgnoresDeleted,
    /// `STORE +FLAGS` replaces the flags, like `STORE FLAGS`: flags already set are lost
    /// (RFC 9051 §6.4.6: `+FLAGS` adds the flags given).
    PlusFlagsReplaces,
    /// The tagged OK to EXAMINE carries `[READ-WRITE]` (RFC 9051 §6.3.3: "The tagged OK
    /// response to EXAMINE MUST begin with the [READ-ONLY] response code").
    ExamineSaysReadWrite,
    /// Commands refused as protocol errors after parsing (unknown commands, bad arguments) get
    /// `NO` instead of `BAD`; lines the command reader cannot parse at all keep `BAD` (RFC 9051
    /// §7.1.5: BAD reports a protocol-level error in the client's command; NO is for a command
    /// that was understood and failed).
    BadAnsweredAsNo,
    /// A `+` continuation request is sent for non-synchronizing literals `{n+}` too (RFC 7888
    /// §3: the client sends them without waiting, so the server sends no continuation).
    LiteralPlusContinuation,
    /// DELETE of a mailbox with inferiors deletes the inferiors too (RFC 9051 §6.3.5: "The
    /// DELETE command MUST NOT remove inferior hierarchical names").
    DeleteRemovesInferiors,
    /// A `*` line that cancels AUTHENTICATE is answered with `NO` (RFC 9051 §6.2.2: "If the
    /// client wishes to cancel an authentication exchange, it issues a line consisting of a
    /// single "*". If the server receives such a response, ... it MUST reject the AUTHENTICATE
    /// command by sending a tagged BAD response").
    AuthenticateCancelAnsweredNo,
    /// AUTHENTICATE's initial response (SASL-IR) is ignored: the server sends an empty `+`
    /// continuation request and waits for the response again (RFC 4959 §3: with an initial
    /// response the exchange starts with it, and no empty challenge is sent).
    InitialResponseIgnored,
    /// `* ENABLED` echoes every name ENABLE was given, including ones the server does not
    /// know (RFC 5161 §3.2: the response lists the capabilities that were enabled; unknown
    /// ones are ignored).
    EnableListsUnknown,
    /// ID is answered with a tagged OK but no untagged `* ID` response (RFC 2971 §3.1: "the
    /// server MUST return an ID response", `NIL` if it has nothing to say).
    IdWithoutResponse,
    /// LOGIN in the authenticated state succeeds again and switches the user (RFC 9051 §3,
    /// §6.2: LOGIN is a not-authenticated-state command; in another state it gets NO or BAD).
    LoginTwiceAccepted,
    /// RENAME onto an existing mailbox replaces it, like rename(2) on a file system (RFC 9051
    /// §6.3.6: "It is an error to attempt to rename ... to a mailbox name that already
    /// exists").
    RenameOntoExisting,
    /// NAMESPACE names `.` as the personal namespace's hierarchy delimiter while LIST uses
    /// `/` (RFC 2342 §5, RFC 9051 §6.3.10: the delimiter of a namespace is the one used in
    /// it).
    NamespaceWrongDelimiter,
    /// Only the first command of each read is executed; the rest of what the client sent in
    /// the same read is thrown away (RFC 9051 §5.5: a client may send several commands
    /// without waiting, and each gets its responses).
    PipelinedCommandsDropped,
    /// Tags longer than 32 characters are cut to 32 in the tagged response, so the client
    /// cannot match it to its command (RFC 9051 §2.2.1: the tagged response carries the same
    /// tag as the command; §9: `tag = 1*<any ASTRING-CHAR except "+">`, no length limit).
    LongTagTruncated,
    /// CREATE of a name that ends with the hierarchy separator gets NO (RFC 9051 §6.3.4: the
    /// trailing separator declares that the client intends to create names below it, and the
    /// name is created without it).
    CreateTrailingSeparatorRefused,
    /// CREATE of a name whose superior mailboxes do not exist gets NO instead of creating them
    /// (RFC 9051 §6.3.4: "the server SHOULD create any superior hierarchical names that are
    /// needed for the CREATE command to be successfully completed").
    CreateNeedsSuperiors,
    /// LIST and LSUB treat `*` and `%` as wildcards only at the end of a pattern; elsewhere
    /// they are matched literally (RFC 9051 §6.3.9: wildcards may appear anywhere in the
    /// pattern).
    ListWildcardsAtEndOnly,
    /// RENAME INBOX gets BAD (RFC 9051 §6.3.6: "Renaming INBOX is permitted and does not
    /// result in a tagged BAD response"; a server may refuse it with NO).
    RenameInboxBad,
    /// DELETE also removes the mailbox's name from the subscriptions (RFC 9051 §6.3.7: "A
    /// server MUST NOT unilaterally remove an existing mailbox name from the subscription list
    /// even if a mailbox by that name no longer exists").
    DeleteUnsubscribes,
    /// CHECK with no mailbox selected is answered OK like NOOP (RFC 3501 §6.4.1: CHECK is a
    /// selected-state command; §3: in another state the server answers BAD or NO).
    CheckWithoutSelect,
    /// Other sessions are told of an expunge with the wrong message sequence number: one
    /// above the message's (RFC 9051 §7.4.1: the number is the message's sequence number at
    /// the moment the response is sent). Planted for the reference-model property tests.
    ExpungeNumberOffByOne,
    /// EXPUNGE and UID EXPUNGE answer OK but remove nothing, not even messages with
    /// `\Deleted` (RFC 9051 §6.4.3: every message with `\Deleted` is removed).
    ExpungeRemovesNothing,
    /// `STORE +FLAGS` removes the flags given and `-FLAGS` adds them (RFC 9051 §6.4.6:
    /// `+FLAGS` adds, `-FLAGS` removes).
    PlusMinusFlagsSwapped,
    /// STORE's `UNCHANGEDSINCE` modifier is accepted and ignored: every message is stored,
    /// and none is reported as `MODIFIED` (RFC 7162 §3.1.3: a message whose mod-sequence is
    /// greater than the value given is not changed, and is listed in `[MODIFIED]`).
    UnchangedSinceIgnored,
    /// A literal larger than `Config::max_literal` is asked for with `+` like any other,
    /// although `APPENDLIMIT=` advertises that limit (RFC 7889 §3: the server "MUST reject"
    /// a larger APPEND with `TOOBIG`).
    LiteralLimitIgnored,
    /// SORT (SUBJECT) compares whole subjects, `Re:`, `Fwd:` and list tags included, instead
    /// of base subjects (RFC 5256 §3: SUBJECT sorts by "base subject text", §2.1).
    SortBaseSubjectIgnored,
    /// THREAD leaves the siblings of each thread, and the threads, in mailbox order instead
    /// of sorting them by sent date (RFC 5256 §3: ORDEREDSUBJECT sorts threads and children
    /// by sent date; REFERENCES step 6 sorts each set of siblings by sent date).
    ThreadSiblingsUnsorted,
    /// `SORT RETURN (...)` reports the messages in ascending order, so MIN, MAX and ALL
    /// describe the set and not the sort (RFC 5267 §3.1: MIN and MAX are the lowest and
    /// highest sorted message, ALL is in sort order).
    EsortAllAscending,
    /// MULTIAPPEND stores the messages before a bad one, then fails the command (RFC 3502
    /// §6.3.11: "the server MUST NOT add any of the messages to the mailbox").
    MultiappendNotAtomic,
    /// FETCH BINARY returns the part as stored, still base64 or quoted-printable, like BODY
    /// (RFC 3516 §4.2: the content "after performing Content-Transfer-Decoding").
    BinaryNotDecoded,
    /// CATENATE takes the whole message a URL names, ignoring its `;SECTION=` (RFC 4469 §5,
    /// RFC 5092 §6: the URL names that section only).
    CatenateSectionIgnored,
    /// GETQUOTAROOT answers `* QUOTAROOT` without the `* QUOTA` of the roots it names (RFC
    /// 9208 §4.1.2: it returns "a QUOTA response for each" root).
    QuotaRootWithoutQuota,
    /// FETCH EMAILID gives `E` and the message's UID, so ids repeat across mailboxes and
    /// SEARCH EMAILID misses (RFC 8474 §5.1: an EMAILID names one message in the server).
    EmailIdFromUid,
    /// A search kept updated (`RETURN (UPDATE)`) reports messages that come to match with
    /// ADDTO but never sends REMOVEFROM for a message that stops matching (RFC 5267 §4.3:
    /// the server sends "REMOVEFROM" for messages that no longer match).
    ContextRemovefromMissing,
    /// A SORT kept updated gives each ADDTO a position one below the message's place in the
    /// sorted result (RFC 5267 §4.3.4: the position is where the message goes in the
    /// sorted list, counted from 1).
    ContextSortPositionOffByOne,
    /// NOTIFY's STATUS for a change in another mailbox leaves out UIDVALIDITY, as Dovecot 2.3
    /// does for a flag change (RFC 5465 §5.1: the STATUS carries at least MESSAGES, UIDNEXT
    /// and UIDVALIDITY).
    NotifyStatusWithoutUidvalidity,
}

impl Defect {
    /// Every defect, in the order of the catalogue.
    pub const ALL: [Defect; 51] = [
        Defect::FlagsNotPushed,
        Defect::ExpungeDuringFetch,
        Defect::UidnextNotAdvanced,
        Defect::WrongRfc822Size,
        Defect::ImapStartTlsInjection,
        Defect::ImapStartTlsAfterTls,
        Defect::ExamineAllowsStore,
        Defect::RecentToEverySession,
        Defect::IdlePushesNothing,
        Defect::SearchFirstKeyOnly,
        Defect::UnsolicitedFetchWithoutUid,
        Defect::CopyuidSourceUidvalidity,
        Defect::LiteralWithoutContinuation,
        Defect::MoveWithoutExpunge,
        Defect::ExpungeIgnoresDeleted,
        Defect::PlusFlagsReplaces,
        Defect::ExamineSaysReadWrite,
        Defect::BadAnsweredAsNo,
        Defect::LiteralPlusContinuation,
        Defect::DeleteRemovesInferiors,
        Defect::AuthenticateCancelAnsweredNo,
        Defect::InitialResponseIgnored,
        Defect::EnableListsUnknown,
        Defect::IdWithoutResponse,
        Defect::LoginTwiceAccepted,
        Defect::RenameOntoExisting,
        Defect::NamespaceWrongDelimiter,
        Defect::PipelinedCommandsDropped,
        Defect::LongTagTruncated,
        Defect::CreateTrailingSeparatorRefused,
        Defect::CreateNeedsSuperiors,
        Defect::ListWildcardsAtEndOnly,
        Defect::RenameInboxBad,
        Defect::DeleteUnsubscribes,
        Defect::CheckWithoutSelect,
        Defect::ExpungeNumberOffByOne,
        Defect::ExpungeRemovesNothing,
        Defect::PlusMinusFlagsSwapped,
        Defect::UnchangedSinceIgnored,
        Defect::LiteralLimitIgnored,
        Defect::SortBaseSubjectIgnored,
        Defect::ThreadSiblingsUnsorted,
        Defect::EsortAllAscending,
        Defect::MultiappendNotAtomic,
        Defect::BinaryNotDecoded,
        Defect::CatenateSectionIgnored,
        Defect::QuotaRootWithoutQuota,
        Defect::EmailIdFromUid,
        Defect::ContextRemovefromMissing,
        Defect::ContextSortPositionOffByOne,
        Defect::NotifyStatusWithoutUidvalidity,
    ];

    /// The stable kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Defect::FlagsNotPushed => "flags-not-pushed",
            Defect::ExpungeDuringFetch => "expunge-during-fetch",
            Defect::UidnextNotAdvanced => "uidnext-not-advanced",
            Defect::WrongRfc822Size => "wrong-rfc822-size",
            Defect::ImapStartTlsInjection => "imap-starttls-injection",
            Defect::ImapStartTlsAfterTls => "imap-starttls-after-tls",
            Defect::ExamineAllowsStore => "examine-allows-store",
            Defect::RecentToEverySession => "recent-to-every-session",
            Defect::IdlePushesNothing => "idle-pushes-nothing",
            Defect::SearchFirstKeyOnly => "search-first-key-only",
            Defect::UnsolicitedFetchWithoutUid => "unsolicited-fetch-without-uid",
            Defect::CopyuidSourceUidvalidity => "copyuid-source-uidvalidity",
            Defect::LiteralWithoutContinuation => "literal-without-continuation",
            Defect::MoveWithoutExpunge => "move-without-expunge",
            Defect::ExpungeIgnoresDeleted => "expunge-ignores-deleted",
            Defect::PlusFlagsReplaces => "plus-flags-replaces",
            Defect::ExamineSaysReadWrite => "examine-says-read-write",
            Defect::BadAnsweredAsNo => "bad-answered-as-no",
            Defect::LiteralPlusContinuation => "literal-plus-continuation",
            Defect::DeleteRemovesInferiors => "delete-removes-inferiors",
            Defect::AuthenticateCancelAnsweredNo => "authenticate-cancel-answered-no",
            Defect::InitialResponseIgnored => "initial-response-ignored",
            Defect::EnableListsUnknown => "enable-lists-unknown",
            Defect::IdWithoutResponse => "id-without-response",
            Defect::LoginTwiceAccepted => "login-twice-accepted",
            Defect::RenameOntoExisting => "rename-onto-existing",
            Defect::NamespaceWrongDelimiter => "namespace-wrong-delimiter",
            Defect::PipelinedCommandsDropped => "pipelined-commands-dropped",
            Defect::LongTagTruncated => "long-tag-truncated",
            Defect::CreateTrailingSeparatorRefused => "create-trailing-separator-refused",
            Defect::CreateNeedsSuperiors => "create-needs-superiors",
            Defect::ListWildcardsAtEndOnly => "list-wildcards-at-end-only",
            Defect::RenameInboxBad => "rename-inbox-bad",
            Defect::DeleteUnsubscribes => "delete-unsubscribes",
            Defect::CheckWithoutSelect => "check-without-select",
            Defect::ExpungeNumberOffByOne => "expunge-number-off-by-one",
            Defect::ExpungeRemovesNothing => "expunge-removes-nothing",
            Defect::PlusMinusFlagsSwapped => "plus-minus-flags-swapped",
            Defect::UnchangedSinceIgnored => "unchanged-since-ignored",
            Defect::LiteralLimitIgnored => "literal-limit-ignored",
            Defect::SortBaseSubjectIgnored => "sort-base-subject-ignored",
            Defect::ThreadSiblingsUnsorted => "thread-siblings-unsorted",
            Defect::EsortAllAscending => "esort-all-ascending",
            Defect::MultiappendNotAtomic => "multiappend-not-atomic",
            Defect::BinaryNotDecoded => "binary-not-decoded",
            Defect::CatenateSectionIgnored => "catenate-section-ignored",
            Defect::QuotaRootWithoutQuota => "quotaroot-without-quota",
            Defect::EmailIdFromUid => "emailid-from-uid",
            Defect::ContextRemovefromMissing => "context-removefrom-missing",
            Defect::ContextSortPositionOffByOne => "context-sort-position-off-by-one",
            Defect::NotifyStatusWithoutUidvalidity => "notify-status-without-uidvalidity",
        }
    }

    /// The defect with this name.
    pub fn from_name(name: &str) -> Option<Defect> {
        Defect::ALL.into_iter().find(|d| d.name() == name)
    }

    fn bit(self) -> u64 {
        1 << self as u64
    }
}

impl std::fmt::Display for Defect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of [`Defect`]s; empty by default.
///
/// ```
/// use mailrig_imap::{Config, Defect, Defects};
///
/// let config = Config {
///     defects: Defects::from(Defect::FlagsNotPushed),
///     ..Config::default()
/// };
/// assert!(config.defects.has(Defect::FlagsNotPushed));
/// assert!(Config::default().defects.is_empty());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Defects(u64);

impl Defects {
    /// No defect: a correct session.
    pub const fn none() -> Defects {
        Defects(0)
    }

    /// Whether `defect` is in the set.
    pub fn has(self, defect: Defect) -> bool {
        self.0 & defect.bit() != 0
    }

    /// Adds `defect`.
    pub fn insert(&mut self, defect: Defect) {
        self.0 |= defect.bit();
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The defects in the set, in catalogue order.
    pub fn iter(self) -> impl Iterator<Item = Defect> {
        Defect::ALL.into_iter().filter(move |d| self.has(*d))
    }
}

impl From<Defect> for Defects {
    fn from(defect: Defect) -> Defects {
        Defects(defect.bit())
    }
}

impl FromIterator<Defect> for Defects {
    fn from_iter<I: IntoIterator<Item = Defect>>(iter: I) -> Defects {
        let mut set = Defects::none();
        set.extend(iter);
        set
    }
}

impl Extend<Defect> for Defects {
    fn extend<I: IntoIterator<Item = Defect>>(&mut self, iter: I) {
        for defect in iter {
            self.insert(defect);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_kebab_case_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for (i, defect) in Defect::ALL.into_iter().enumerate() {
            let name = defect.name();
            assert!(seen.insert(name), "{name} twice");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{name}"
            );
            assert_eq!(Defect::from_name(name), Some(defect));
            // ALL is in declaration order, so every variant has its own bit.
            assert_eq!(defect as usize, i);
        }
        assert_eq!(Defect::from_name("Flags-Not-Pushed"), None);
        assert!(Defect::ALL.len() <= 64);
    }

    #[test]
    fn sets_hold_what_was_inserted() {
        let set: Defects = [Defect::PlusFlagsReplaces, Defect::ExpungeDuringFetch]
            .into_iter()
            .collect();
        assert!(set.has(Defect::PlusFlagsReplaces) && set.has(Defect::ExpungeDuringFetch));
        assert!(!set.has(Defect::FlagsNotPushed));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Defect::ExpungeDuringFetch, Defect::PlusFlagsReplaces]
        );
        assert!(Defects::default().is_empty() && !set.is_empty());
    }
}
