//! The extension table: every SMTP service extension a session can switch off, once, with
//! the word that names it (`mailrig serve --disable WORD`, `Rig`), the EHLO keyword it
//! advertises (RFC 5321 §4.1.1.1) and its switch in [`Extensions`]. The EHLO reply, `serve`
//! and `Rig` all read this table, so a new extension is one row here plus its behaviour.

use crate::config::{Extensions, Mechanism};

/// One switchable service extension.
#[derive(Debug)]
pub struct Extension {
    /// The word that names it on the command line, lower-case (`8bitmime`).
    pub name: &'static str,
    /// The EHLO keyword listed while it is on; some take parameters after it (`SIZE n`,
    /// `AUTH PLAIN LOGIN`).
    pub keyword: &'static str,
    /// The RFC that defines it.
    pub rfc: u16,
    is_on: fn(&Extensions) -> bool,
    set: fn(&mut Extensions, bool),
}

impl Extension {
    /// Whether `extensions` has it on.
    pub fn is_on(&self, extensions: &Extensions) -> bool {
        (self.is_on)(extensions)
    }

    /// Switches it on or off in `extensions` (AUTH: every mechanism, or none).
    pub fn set(&self, extensions: &mut Extensions, on: bool) {
        (self.set)(extensions, on);
    }

    /// The extension a command-line word names (its name or its keyword, any case).
    pub fn by_name(word: &str) -> Option<&'static Extension> {
        EXTENSIONS
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(word) || e.keyword.eq_ignore_ascii_case(word))
    }

    /// Every extension's name, comma-separated, for help texts and error messages.
    pub fn names() -> String {
        let names: Vec<&str> = EXTENSIONS.iter().map(|e| e.name).collect();
        names.join(", ")
    }
}

/// A table row for the boolean switch `Extensions::$field`.
macro_rules! extension {
    ($name:literal, $keyword:literal, $rfc:literal, $field:ident) => {
        Extension {
            name: $name,
            keyword: $keyword,
            rfc: $rfc,
            is_on: |e| e.$field,
            set: |e, on| e.$field = on,
        }
    };
}

/// Every switchable extension, in the order the EHLO reply lists them.
pub static EXTENSIONS: [Extension; 9] = [
    extension!("pipelining", "PIPELINING", 2920, pipelining),
    extension!("size", "SIZE", 1870, size),
    extension!("8bitmime", "8BITMIME", 6152, eight_bit_mime),
    extension!("smtputf8", "SMTPUTF8", 6531, smtputf8),
    extension!(
        "enhancedstatuscodes",
        "ENHANCEDSTATUSCODES",
        2034,
        enhanced_status_codes
    ),
    extension!("chunking", "CHUNKING", 3030, chunking),
    extension!("dsn", "DSN", 3461, dsn),
    extension!("starttls", "STARTTLS", 3207, starttls),
    Extension {
        name: "auth",
        keyword: "AUTH",
        rfc: 4954,
        is_on: |e| !e.auth.is_empty(),
        set: |e, on| e.auth = if on { Mechanism::ALL.to_vec() } else { Vec::new() },
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_row_switches_its_own_field_only() {
        for extension in &EXTENSIONS {
            assert!(std::ptr::eq(
                Extension::by_name(extension.name).unwrap(),
                extension
            ));
            assert!(std::ptr::eq(
                Extension::by_name(extension.keyword).unwrap(),
                extension
            ));
            let mut extensions = Extensions::default();
            extension.set(&mut extensions, false);
            assert!(!extension.is_on(&extensions));
            for other in EXTENSIONS.iter().filter(|o| o.name != extension.name) {
                assert!(
                    other.is_on(&extensions),
                    "{} switched {} too",
                    extension.name,
                    other.name
                );
            }
            extension.set(&mut extensions, true);
            assert_eq!(extensions, Extensions::default());
        }
        assert!(Extension::by_name("teleport").is_none());
    }
}
