//! The deliberate defects of both protocols under one set of names, for starting servers
//! with a defect (`--defect NAME`) and for the kill table (docs/defects.md).
//!
//! [`Defect`] is an SMTP defect ([`mailrig_smtp::Defect`]) or an IMAP one
//! ([`mailrig_imap::Defect`]); [`ServerConfig::add_defect`] switches it on in the session
//! configuration of every listener of its protocol. Names are unique across the protocols.

use crate::server::ServerConfig;

/// A deliberate defect of mailrig's SMTP or IMAP sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Defect {
    /// A defect of the SMTP sessions (smtp, submission, smtps).
    Smtp(mailrig_smtp::Defect),
    /// A defect of the IMAP sessions (imap, imaps).
    Imap(mailrig_imap::Defect),
}

impl Defect {
    /// Every defect: the SMTP ones, then the IMAP ones, each in catalogue order.
    pub fn all() -> impl Iterator<Item = Defect> {
        let smtp = mailrig_smtp::Defect::ALL.into_iter().map(Defect::Smtp);
        smtp.chain(mailrig_imap::Defect::ALL.into_iter().map(Defect::Imap))
    }

    /// The stable kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Defect::Smtp(d) => d.name(),
            Defect::Imap(d) => d.name(),
        }
    }

    /// The defect with this name, of either protocol.
    pub fn from_name(name: &str) -> Option<Defect> {
        Defect::all().find(|d| d.name() == name)
    }

    /// `"smtp"` or `"imap"`.
    pub fn protocol(self) -> &'static str {
        match self {
            Defect::Smtp(_) => "smtp",
            Defect::Imap(_) => "imap",
        }
    }
}

impl std::fmt::Display for Defect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl ServerConfig {
    /// Switches `defect` on for every listener of its protocol. For testing a test suite
    /// only: the servers then break an RFC rule on purpose.
    pub fn add_defect(&mut self, defect: Defect) {
        match defect {
            Defect::Smtp(d) => self.smtp.config.defects.insert(d),
            Defect::Imap(d) => self.imap.config.defects.insert(d),
        }
    }
}

#[cfg(test)]
mod tests {
    use mailrig_store::Store;

    use super::*;

    #[test]
    fn names_are_unique_across_protocols() {
        let mut seen = std::collections::HashSet::new();
        for defect in Defect::all() {
            assert!(seen.insert(defect.name()), "{defect} twice");
            assert_eq!(Defect::from_name(defect.name()), Some(defect));
        }
        assert!(seen.len() >= 25, "the catalogue has {} defects", seen.len());
        assert_eq!(Defect::from_name("no-such-defect"), None);
    }

    #[test]
    fn add_defect_reaches_the_session_config_of_its_protocol() {
        let mut config = ServerConfig::loopback(Store::new());
        config.add_defect(Defect::from_name("no-dot-unstuffing").expect("an SMTP defect"));
        config.add_defect(Defect::from_name("flags-not-pushed").expect("an IMAP defect"));
        assert!(
            config
                .smtp
                .config
                .defects
                .has(mailrig_smtp::Defect::NoDotUnstuffing)
        );
        assert!(
            config
                .imap
                .config
                .defects
                .has(mailrig_imap::Defect::FlagsNotPushed)
        );
        assert_eq!(config.smtp.config.defects.iter().count(), 1);
        assert_eq!(config.imap.config.defects.iter().count(), 1);
    }
}
