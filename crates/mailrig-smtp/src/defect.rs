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

/// One named way for an SMTP session to be wrong. [`Defect::name`] is its stable name
/// (`mailrig serve --defect NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Defect {
    /// A leading dot is kept on DATA lines that start with one, so every stuffed line gets
    /// an extra dot (RFC 5321 §4.5.2: the receiver deletes the first dot of such a line).
    NoDotUnstuffing,
    /// A bare LF ends a line inside DATA, so `<LF>.<LF>` ends the message and the commands
    /// smuggled after it are executed (SMTP smuggling; RFC 5321 §4.1.1.4: only
    /// `<CRLF>.<CRLF>` ends the data, §2.3.8: bare LF is not a line ending).
    BareLfEndsData,
    /// Plaintext pipelined behind STARTTLS is kept and executed after the TLS handshake, as
    /// if it had come encrypted (CVE-2011-0411; RFC 3207 §4.2: the server must discard it).
    SmtpStartTlsInjection,
    /// STARTTLS is still listed in the EHLO reply once TLS is up (RFC 3207 §4.2: "MUST NOT
    /// return the STARTTLS extension in response to an EHLO command received after a TLS
    /// handshake has completed").
    SmtpStartTlsAfterTls,
    /// AUTH is offered and accepted in plaintext although the configuration asks for TLS
    /// first (RFC 4954 §4: no plaintext password mechanisms unless the session is protected).
    AuthBeforeTls,
    /// A second AUTH after a successful one succeeds again (RFC 4954 §4: "a server MUST
    /// reject any further AUTH commands with a 503 reply").
    SecondAuthAccepted,
    /// RCPT without a MAIL transaction gets `250` (RFC 5321 §4.1.4, §4.3.2: `503`, bad
    /// sequence of commands).
    RcptWithoutMail,
    /// DATA with no accepted recipient gets `354` (RFC 5321 §3.3: `503` or `554`).
    DataWithoutRcpt,
    /// RSET answers `250` but keeps the transaction, so the next MAIL is out of sequence
    /// (RFC 5321 §4.1.1.5: RSET aborts the current mail transaction).
    RsetKeepsTransaction,
    /// The advertised SIZE limit is not enforced: a `SIZE=` over it and longer messages are
    /// accepted (RFC 1870 §6: `552` when the declared or actual size exceeds the maximum).
    SizeNotEnforced,
    /// Every line of a multi-line reply has a space after the code, so each ends the reply
    /// and the rest are read as replies to later commands (RFC 5321 §4.2.1: `-` on every line
    /// but the last).
    MultilineWithoutContinuation,
    /// QUIT closes the connection without the `221` reply (RFC 5321 §4.1.1.10: "The receiver
    /// MUST send a "221 OK" reply").
    QuitWithout221,
    /// The EHLO reply leaves out PIPELINING although the session handles pipelined commands
    /// (RFC 2920 §2: the server announces the extension with the PIPELINING keyword).
    EhloWithoutPipelining,
    /// `BDAT n LAST` is answered like an ordinary chunk: the message is neither delivered nor
    /// ended (RFC 3030 §2: LAST ends the message, which the server then processes).
    BdatLastIgnored,
}

impl Defect {
    /// Every defect, in the order of the catalogue.
    pub const ALL: [Defect; 14] = [
        Defect::NoDotUnstuffing,
        Defect::BareLfEndsData,
        Defect::SmtpStartTlsInjection,
        Defect::SmtpStartTlsAfterTls,
        Defect::AuthBeforeTls,
        Defect::SecondAuthAccepted,
        Defect::RcptWithoutMail,
        Defect::DataWithoutRcpt,
        Defect::RsetKeepsTransaction,
        Defect::SizeNotEnforced,
        Defect::MultilineWithoutContinuation,
        Defect::QuitWithout221,
        Defect::EhloWithoutPipelining,
        Defect::BdatLastIgnored,
    ];

    /// The stable kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Defect::NoDotUnstuffing => "no-dot-unstuffing",
            Defect::BareLfEndsData => "bare-lf-ends-data",
            Defect::SmtpStartTlsInjection => "smtp-starttls-injection",
            Defect::SmtpStartTlsAfterTls => "smtp-starttls-after-tls",
            Defect::AuthBeforeTls => "auth-before-tls",
            Defect::SecondAuthAccepted => "second-auth-accepted",
            Defect::RcptWithoutMail => "rcpt-without-mail",
            Defect::DataWithoutRcpt => "data-without-rcpt",
            Defect::RsetKeepsTransaction => "rset-keeps-transaction",
            Defect::SizeNotEnforced => "size-not-enforced",
            Defect::MultilineWithoutContinuation => "multiline-without-continuation",
            Defect::QuitWithout221 => "quit-without-221",
            Defect::EhloWithoutPipelining => "ehlo-without-pipelining",
            Defect::BdatLastIgnored => "bdat-last-ignored",
        }
    }

    /// The defect with this name.
    pub fn from_name(name: &str) -> Option<Defect> {
        Defect::ALL.into_iter().find(|d| d.name() == name)
    }

    fn bit(self) -> u32 {
        1 << self as u32
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
/// use mailrig_smtp::{Config, Defect, Defects};
///
/// let config = Config {
///     defects: Defects::from(Defect::NoDotUnstuffing),
///     ..Config::default()
/// };
/// assert!(config.defects.has(Defect::NoDotUnstuffing));
/// assert!(Config::default().defects.is_empty());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Defects(u32);

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
        assert_eq!(Defect::from_name("No-Dot-Unstuffing"), None);
        assert!(Defect::ALL.len() <= 32);
    }

    #[test]
    fn sets_hold_what_was_inserted() {
        let set: Defects = [Defect::QuitWithout221, Defect::BareLfEndsData]
            .into_iter()
            .collect();
        assert!(set.has(Defect::QuitWithout221) && set.has(Defect::BareLfEndsData));
        assert!(!set.has(Defect::NoDotUnstuffing));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Defect::BareLfEndsData, Defect::QuitWithout221]
        );
        assert!(Defects::default().is_empty() && !set.is_empty());
    }
}
