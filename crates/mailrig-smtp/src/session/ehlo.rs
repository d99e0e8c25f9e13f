//! HELO and EHLO: the client names itself, the server lists its extensions.
//!
//! Read first: RFC 5321 §4.1.1.1 (EHLO/HELO; both reset any transaction, as RSET does),
//! §4.1.4 (a second EHLO is allowed), §4.2.1 (multi-line replies: one keyword per line), and
//! the keyword of each extension: RFC 2920 `PIPELINING`, RFC 1870 §3 `SIZE [n]`, RFC 6152
//! `8BITMIME`, RFC 6531 `SMTPUTF8`, RFC 2034 `ENHANCEDSTATUSCODES`, RFC 3030 `CHUNKING`,
//! RFC 3461 `DSN`, RFC 3207 `STARTTLS` (never after TLS, §4.2), RFC 4954 `AUTH mech...`.

use super::{Greeting, Session};
use crate::defect::Defect;
use crate::extension::EXTENSIONS;
use crate::reply::Reply;

impl Session {
    /// `HELO domain` (`extended` false) or `EHLO domain`.
    pub(super) fn helo(&mut self, name: String, extended: bool) {
        self.transaction = None;
        self.greeting = Some(Greeting { name, extended });
        if !extended {
            return self.reply(Reply::plain(250, self.config.hostname.clone()));
        }
        let mut lines = vec![self.config.hostname.clone()];
        lines.extend(self.ehlo_keywords());
        self.reply(Reply::multiline(250, None, lines));
    }

    /// The extension lines of the EHLO reply, in the extension table's order; a keyword
    /// with parameters (`SIZE n`, `AUTH mech...`) or a condition gets them here.
    fn ehlo_keywords(&self) -> Vec<String> {
        let ext = &self.config.extensions;
        let mut out = Vec::new();
        for extension in EXTENSIONS.iter().filter(|e| e.is_on(ext)) {
            match extension.keyword {
                "PIPELINING" if self.config.defects.has(Defect::EhloWithoutPipelining) => {}
                "SIZE" => out.push(match self.config.max_message_size {
                    Some(max) => format!("SIZE {max}"),
                    None => "SIZE".to_owned(),
                }),
                "STARTTLS" if !self.offers_starttls() => {}
                "AUTH" if !self.offers_auth() => {}
                "AUTH" => {
                    let names: Vec<&str> = ext.auth.iter().map(|m| m.name()).collect();
                    out.push(format!("AUTH {}", names.join(" ")));
                }
                keyword => out.push(keyword.to_owned()),
            }
        }
        out
    }

    /// STARTTLS is listed: switched on, the driver can do TLS, and TLS is not up yet.
    pub(super) fn offers_starttls(&self) -> bool {
        let after_tls = self.config.defects.has(Defect::SmtpStartTlsAfterTls);
        self.config.extensions.starttls && self.config.tls_available && (!self.tls || after_tls)
    }

    /// AUTH is listed: some mechanism is on, and TLS is up unless not required.
    fn offers_auth(&self) -> bool {
        !self.config.extensions.auth.is_empty() && (self.tls || !self.auth_needs_tls())
    }

    /// AUTH waits for TLS: the configuration says so, unless [`Defect::AuthBeforeTls`].
    pub(super) fn auth_needs_tls(&self) -> bool {
        self.config.require_tls_for_auth && !self.config.defects.has(Defect::AuthBeforeTls)
    }
}
