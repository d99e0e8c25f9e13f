//! [`Config`]: the personality switches and limits of a session: [`Extensions`] (what is
//! advertised and accepted), [`Versions`] (IMAP4rev1, IMAP4rev2 or both) and mock OAuth
//! tokens, and the [`Storage`](crate::Storage) seam.

use std::collections::BTreeMap;

use crate::defect::Defects;
use crate::quota::Quota;
use crate::storage::StorageHook;

/// How a [`Session`](crate::Session) behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Offer STARTTLS (RFC 9051 §6.2.1) while the connection is in plaintext.
    pub starttls: bool,
    /// Refuse LOGIN and AUTHENTICATE before TLS and advertise `LOGINDISABLED`.
    pub login_disabled_before_tls: bool,
    /// Longest command line accepted, in bytes, not counting CRLF or literals.
    pub max_line: usize,
    /// Largest literal accepted, in bytes (`NO [TOOBIG]` above it).
    pub max_literal: usize,
    /// Start authenticated as this user, with a `* PREAUTH` greeting (RFC 9051 §7.1.4).
    /// The login is not checked against the store.
    pub preauth: Option<String>,
    /// The text of the greeting after `* OK [CAPABILITY ...]`.
    pub greeting: String,
    /// The connection started with a TLS handshake (IMAPS, RFC 8314): the session is secure
    /// from the greeting on, so STARTTLS is not offered and LOGIN is allowed.
    pub implicit_tls: bool,
    /// The extensions advertised in CAPABILITY and accepted.
    pub extensions: Extensions,
    /// Which protocol versions are offered (RFC 9051 Appendix E lists the differences).
    pub versions: Versions,
    /// Mock OAuth 2.0 bearer tokens for AUTHENTICATE XOAUTH2 and OAUTHBEARER, by login. A
    /// user without an entry is accepted with a token equal to their password.
    pub tokens: BTreeMap<String, String>,
    /// Deliberate RFC violations, for testing a test suite (see [`Defect`](crate::Defect));
    /// empty by default. Never set outside such tests.
    pub defects: Defects,
    /// Consulted before every store-changing or selecting operation, and may refuse it (see
    /// [`Storage`](crate::Storage)); allows everything by default.
    pub storage: StorageHook,
    /// Each user's quota (RFC 9208), over all their mailboxes: APPEND and COPY beyond it are
    /// `NO [OVERQUOTA]`. No limit by default.
    pub quota: Quota,
}

/// The IMAP extensions a session offers. One switched off is not listed in CAPABILITY and
/// is not accepted: its commands get `BAD` like unknown commands, its syntax is refused and
/// its response codes and attributes are left out. The switches win over IMAP4rev2 (which
/// includes most of these), so a deliberately incomplete IMAP4rev2 server can be faked.
///
/// The default turns everything on; [`Extensions::none()`] turns everything off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extensions {
    /// `IDLE` (RFC 2177).
    pub idle: bool,
    /// `UIDPLUS` (RFC 4315): `UID EXPUNGE` and the `APPENDUID`/`COPYUID` response codes.
    pub uidplus: bool,
    /// `MOVE` (RFC 6851): `MOVE` and `UID MOVE`.
    pub r#move: bool,
    /// `LITERAL+` (RFC 7888): non-synchronizing literals `{n+}` of any size. Without it,
    /// IMAP4rev2's `LITERAL-` (at most 4096 bytes) is offered if IMAP4rev2 is, and `{n+}` is
    /// refused with `BAD` otherwise.
    pub literal_plus: bool,
    /// `ENABLE` (RFC 5161), needed to switch to IMAP4rev2 when both versions are offered.
    pub enable: bool,
    /// `ID` (RFC 2971).
    pub id: bool,
    /// `NAMESPACE` (RFC 2342).
    pub namespace: bool,
    /// `SPECIAL-USE` (RFC 6154): `\Sent`, `\Trash`, ... attributes in LIST.
    pub special_use: bool,
    /// `UNSELECT` (RFC 3691).
    pub unselect: bool,
    /// `SASL-IR` (RFC 4959): an initial response on the AUTHENTICATE line.
    pub sasl_ir: bool,
    /// `CONDSTORE` (RFC 7162).
    pub condstore: bool,
    /// `QRESYNC` (RFC 7162).
    pub qresync: bool,
    /// `ESEARCH` (RFC 4731) in IMAP4rev1: `SEARCH RETURN (...)` answered with `* ESEARCH`.
    /// IMAP4rev2 always answers SEARCH with ESEARCH (RFC 9051 §6.4.4), whatever this says.
    pub esearch: bool,
    /// `LIST-EXTENDED` (RFC 5258) in IMAP4rev1: selection options (SUBSCRIBED, REMOTE,
    /// RECURSIVEMATCH, SPECIAL-USE), return options and several patterns; `\NonExistent` and
    /// `CHILDINFO`. IMAP4rev2 has this syntax whatever this says (RFC 9051 §6.3.9).
    pub list_extended: bool,
    /// `LIST-STATUS` (RFC 5819): `LIST ... RETURN (STATUS (...))`, in either version.
    pub list_status: bool,
    /// `APPENDLIMIT=n` (RFC 7889): [`Config::max_literal`] advertised, and the STATUS item
    /// `APPENDLIMIT`. The limit itself holds either way (`NO [TOOBIG]`).
    pub appendlimit: bool,
    /// `COMPRESS=DEFLATE` (RFC 4978): `COMPRESS DEFLATE`, after which the driver deflates
    /// both directions ([`Output::StartCompression`](crate::Output::StartCompression)).
    pub compress: bool,
    /// `SORT` (RFC 5256): `SORT` and `UID SORT`.
    pub sort: bool,
    /// `THREAD=ORDEREDSUBJECT` (RFC 5256 §3): THREAD by base subject. `THREAD` and `UID
    /// THREAD` exist while either threading algorithm is on.
    pub thread_orderedsubject: bool,
    /// `THREAD=REFERENCES` (RFC 5256 §3): THREAD by References and In-Reply-To.
    pub thread_references: bool,
    /// `ESORT` (RFC 5267 §3): `SORT RETURN (MIN MAX COUNT ALL)` answered with `* ESEARCH`.
    pub esort: bool,
    /// `CONTEXT=SEARCH` (RFC 5267 §4): SEARCH's RETURN options `PARTIAL m:n`, `UPDATE`
    /// (`ADDTO`/`REMOVEFROM` as the selected mailbox changes) and `CONTEXT`, and
    /// `CANCELUPDATE`.
    pub context_search: bool,
    /// `CONTEXT=SORT` (RFC 5267 §4): the same RETURN options for SORT.
    pub context_sort: bool,
    /// `MULTIAPPEND` (RFC 3502): several messages in one APPEND, stored all or none.
    pub multiappend: bool,
    /// `BINARY` (RFC 3516): FETCH `BINARY[...]`, `BINARY.PEEK[...]`, `BINARY.SIZE[...]` and
    /// `literal8` (`~{n}`) in APPEND.
    pub binary: bool,
    /// `CATENATE` (RFC 4469): `APPEND ... CATENATE (TEXT literal URL "/mailbox/;UID=n")`.
    pub catenate: bool,
    /// `QUOTA` (RFC 9208): GETQUOTA and GETQUOTAROOT. The limits in [`Config::quota`] hold
    /// either way.
    pub quota: bool,
    /// `OBJECTID` (RFC 8474): FETCH `EMAILID`/`THREADID`, STATUS `MAILBOXID`, the
    /// `MAILBOXID` response code on CREATE and SELECT, SEARCH `EMAILID`/`THREADID`.
    pub objectid: bool,
    /// `NOTIFY` (RFC 5465): events in other mailboxes as unsolicited STATUS and LIST.
    pub notify: bool,
}

/// Which IMAP versions a session speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Versions {
    /// IMAP4rev1 only (RFC 3501): `\Recent`, `* SEARCH`.
    Rev1,
    /// IMAP4rev2 only (RFC 9051), from the first command.
    Rev2,
    /// Both (`IMAP4rev1 IMAP4rev2` in CAPABILITY): IMAP4rev1 until the client sends
    /// `ENABLE IMAP4rev2` (RFC 9051 §6.3.1).
    #[default]
    Both,
}

impl Extensions {
    /// Every switch off.
    pub fn none() -> Extensions {
        Extensions {
            idle: false,
            uidplus: false,
            r#move: false,
            literal_plus: false,
            enable: false,
            id: false,
            namespace: false,
            special_use: false,
            unselect: false,
            sasl_ir: false,
            condstore: false,
            qresync: false,
            esearch: false,
            list_extended: false,
            list_status: false,
            appendlimit: false,
            compress: false,
            sort: false,
            thread_orderedsubject: false,
            thread_references: false,
            esort: false,
            context_search: false,
            context_sort: false,
            multiappend: false,
            binary: false,
            catenate: false,
            quota: false,
            objectid: false,
            notify: false,
        }
    }
}

impl Default for Extensions {
    fn default() -> Extensions {
        Extensions {
            idle: true,
            uidplus: true,
            r#move: true,
            literal_plus: true,
            enable: true,
            id: true,
            namespace: true,
            special_use: true,
            unselect: true,
            sasl_ir: true,
            condstore: true,
            qresync: true,
            esearch: true,
            list_extended: true,
            list_status: true,
            appendlimit: true,
            compress: true,
            sort: true,
            thread_orderedsubject: true,
            thread_references: true,
            esort: true,
            context_search: true,
            context_sort: true,
            multiappend: true,
            binary: true,
            catenate: true,
            quota: true,
            objectid: true,
            notify: true,
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            starttls: true,
            login_disabled_before_tls: false,
            max_line: 64 * 1024,
            max_literal: 32 * 1024 * 1024,
            preauth: None,
            greeting: "mailrig ready".to_owned(),
            implicit_tls: false,
            extensions: Extensions::default(),
            versions: Versions::default(),
            tokens: BTreeMap::new(),
            defects: Defects::none(),
            storage: StorageHook::default(),
            quota: Quota::default(),
        }
    }
}
