//! The extension table: every IMAP extension a session can switch off, once, with the word
//! that names it (`mailrig serve --imap-disable WORD`, `Rig`), the capability it advertises
//! (RFC 9051 §7.2.2) and its switch in [`Config`]. The session's CAPABILITY list, the commands
//! it refuses as unknown, `serve` and `Rig` all read this table, so a new extension is one
//! row here plus its behaviour.

use crate::command::Verb;
use crate::config::Config;

/// One switchable extension.
#[derive(Debug)]
pub struct Extension {
    /// The word that names it on the command line, lower-case (`literal+`).
    pub name: &'static str,
    /// Other words accepted for it (`literal-plus`).
    pub aliases: &'static [&'static str],
    /// The capability listed while it is on.
    pub capability: &'static str,
    /// The RFC that defines it.
    pub rfc: u16,
    /// When the capability is listed.
    pub listed: Listed,
    /// The commands that exist only with it on; with it off they are unknown commands (`BAD`).
    pub commands: &'static [Verb],
    is_on: fn(&Config) -> bool,
    set: fn(&mut Config, bool),
}

/// When an extension's capability is listed (if it is on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listed {
    /// In every CAPABILITY list.
    Always,
    /// Only before login and while the connection is in plaintext (STARTTLS, RFC 9051
    /// §6.2.1).
    BeforeTls,
}

impl Extension {
    /// Whether `config` has it on.
    pub fn is_on(&self, config: &Config) -> bool {
        (self.is_on)(config)
    }

    /// Switches it on or off in `config`.
    pub fn set(&self, config: &mut Config, on: bool) {
        (self.set)(config, on);
    }

    /// The extension a command-line word names (its name or an alias, any case).
    pub fn by_name(word: &str) -> Option<&'static Extension> {
        EXTENSIONS.iter().find(|e| {
            e.name.eq_ignore_ascii_case(word) || e.aliases.iter().any(|a| a.eq_ignore_ascii_case(word))
        })
    }

    /// Every extension's name, comma-separated, for help texts and error messages.
    pub fn names() -> String {
        let names: Vec<&str> = EXTENSIONS.iter().map(|e| e.name).collect();
        names.join(", ")
    }
}

/// A table row for a switch at `$($field).+` of [`Config`].
macro_rules! extension {
    ($name:literal $(| $alias:literal)*, $capability:literal, $rfc:literal, $listed:ident,
     [$($verb:ident),*], $($field:ident).+) => {
        Extension {
            name: $name,
            aliases: &[$($alias),*],
            capability: $capability,
            rfc: $rfc,
            listed: Listed::$listed,
            commands: &[$(Verb::$verb),*],
            is_on: |config| config.$($field).+,
            set: |config, on| config.$($field).+ = on,
        }
    };
}

/// Every switchable extension, in the order CAPABILITY lists them.
pub static EXTENSIONS: [Extension; 30] = [
    // Without it, IMAP4rev2's LITERAL- is listed instead when IMAP4rev2 is offered.
    extension!(
        "literal+" | "literal-plus",
        "LITERAL+",
        7888,
        Always,
        [],
        extensions.literal_plus
    ),
    extension!("sasl-ir", "SASL-IR", 4959, Always, [], extensions.sasl_ir),
    extension!(
        "uidplus",
        "UIDPLUS",
        4315,
        Always,
        [UidExpunge],
        extensions.uidplus
    ),
    extension!(
        "unselect",
        "UNSELECT",
        3691,
        Always,
        [Unselect],
        extensions.unselect
    ),
    extension!("idle", "IDLE", 2177, Always, [Idle], extensions.idle),
    extension!("move", "MOVE", 6851, Always, [Move, UidMove], extensions.r#move),
    extension!("id", "ID", 2971, Always, [Id], extensions.id),
    extension!(
        "namespace",
        "NAMESPACE",
        2342,
        Always,
        [Namespace],
        extensions.namespace
    ),
    extension!("enable", "ENABLE", 5161, Always, [Enable], extensions.enable),
    extension!(
        "special-use",
        "SPECIAL-USE",
        6154,
        Always,
        [],
        extensions.special_use
    ),
    extension!("condstore", "CONDSTORE", 7162, Always, [], extensions.condstore),
    extension!("qresync", "QRESYNC", 7162, Always, [], extensions.qresync),
    // IMAP4rev2 answers SEARCH with ESEARCH whether or not this is on.
    extension!("esearch", "ESEARCH", 4731, Always, [], extensions.esearch),
    // IMAP4rev2 keeps LIST-EXTENDED's syntax whether or not this is on.
    extension!(
        "list-extended",
        "LIST-EXTENDED",
        5258,
        Always,
        [],
        extensions.list_extended
    ),
    extension!(
        "list-status",
        "LIST-STATUS",
        5819,
        Always,
        [],
        extensions.list_status
    ),
    // Listed with its value, `APPENDLIMIT=` and `Config::max_literal`.
    extension!(
        "appendlimit",
        "APPENDLIMIT",
        7889,
        Always,
        [],
        extensions.appendlimit
    ),
    // Not listed once compression is on (RFC 4978 §3).
    extension!(
        "compress" | "compress=deflate",
        "COMPRESS=DEFLATE",
        4978,
        Always,
        [Compress],
        extensions.compress
    ),
    extension!("sort", "SORT", 5256, Always, [Sort, UidSort], extensions.sort),
    // THREAD and UID THREAD are known while either algorithm is on (`Session::offers`).
    extension!(
        "thread=orderedsubject" | "thread-orderedsubject",
        "THREAD=ORDEREDSUBJECT",
        5256,
        Always,
        [],
        extensions.thread_orderedsubject
    ),
    extension!(
        "thread=references" | "thread-references",
        "THREAD=REFERENCES",
        5256,
        Always,
        [],
        extensions.thread_references
    ),
    // SORT's RETURN options; SORT itself is the `sort` row's.
    extension!("esort", "ESORT", 5267, Always, [], extensions.esort),
    // CANCELUPDATE is known while either CONTEXT is on (`Session::offers`).
    extension!(
        "context=search" | "context-search",
        "CONTEXT=SEARCH",
        5267,
        Always,
        [],
        extensions.context_search
    ),
    extension!(
        "context=sort" | "context-sort",
        "CONTEXT=SORT",
        5267,
        Always,
        [],
        extensions.context_sort
    ),
    // APPEND takes several messages; with it off, more than one is `BAD`.
    extension!(
        "multiappend",
        "MULTIAPPEND",
        3502,
        Always,
        [],
        extensions.multiappend
    ),
    // FETCH BINARY items and APPEND's `~{n}` are `BAD` when off.
    extension!("binary", "BINARY", 3516, Always, [], extensions.binary),
    // APPEND's CATENATE form is `BAD` when off.
    extension!("catenate", "CATENATE", 4469, Always, [], extensions.catenate),
    // Listed with its resources (`QUOTA=RES-STORAGE`, `QUOTA=RES-MESSAGE`); the limits in
    // `Config::quota` hold when it is off.
    extension!(
        "quota",
        "QUOTA",
        9208,
        Always,
        [GetQuota, GetQuotaRoot],
        extensions.quota
    ),
    // FETCH EMAILID/THREADID, STATUS MAILBOXID and SEARCH EMAILID/THREADID are `BAD` when
    // off, and CREATE and SELECT give no `MAILBOXID` code.
    extension!("objectid", "OBJECTID", 8474, Always, [], extensions.objectid),
    extension!("notify", "NOTIFY", 5465, Always, [Notify], extensions.notify),
    // STARTTLS stays a known command when off: it is refused as "not available".
    extension!("starttls", "STARTTLS", 9051, BeforeTls, [], starttls),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_find_their_row() {
        for extension in &EXTENSIONS {
            assert!(std::ptr::eq(
                Extension::by_name(extension.name).unwrap(),
                extension
            ));
            let upper = extension.name.to_ascii_uppercase();
            assert!(std::ptr::eq(Extension::by_name(&upper).unwrap(), extension));
            for alias in extension.aliases {
                assert!(std::ptr::eq(Extension::by_name(alias).unwrap(), extension));
            }
        }
        assert!(Extension::by_name("teleport").is_none());
    }

    /// The user's table in docs/imap.md has a row for each extension, and no other.
    #[test]
    fn docs_list_every_row() {
        let docs = include_str!("../../../docs/imap.md");
        let section = docs.split("## Extensions and switches").nth(1).unwrap();
        let rows: Vec<&str> = section
            .lines()
            .skip_while(|line| !line.starts_with("| name"))
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .filter_map(|line| line.split('`').nth(1))
            .collect();
        let names: Vec<&str> = EXTENSIONS.iter().map(|e| e.name).collect();
        let mut sorted = (rows.clone(), names.clone());
        sorted.0.sort_unstable();
        sorted.1.sort_unstable();
        assert_eq!(sorted.0, sorted.1, "docs/imap.md rows {rows:?}, table {names:?}");
    }

    #[test]
    fn each_row_switches_its_own_field_only() {
        for extension in &EXTENSIONS {
            let mut config = Config::default();
            assert!(extension.is_on(&config), "{} is on by default", extension.name);
            extension.set(&mut config, false);
            assert!(!extension.is_on(&config));
            for other in EXTENSIONS.iter().filter(|o| o.name != extension.name) {
                assert!(
                    other.is_on(&config),
                    "{} switched {} too",
                    extension.name,
                    other.name
                );
            }
            extension.set(&mut config, true);
            assert_eq!(config, Config::default());
        }
    }
}
