//! Untagged data responses (RFC 9051 §7.2–7.5): [`DataKind`], the name each carries on
//! [`Output::Response`](crate::Output::Response) so a fault rule can key on "the third
//! FETCH" without reading bytes, and `Data`, the typed response, encoded here in one place
//! (a FETCH's `msg-att` items by `fetch.rs`, straight into the response's buffer).
//!
//! Read first: RFC 9051 §7.2 (server and mailbox status: CAPABILITY, ENABLED, ID, NAMESPACE,
//! FLAGS, LIST, STATUS, ESEARCH), §7.3 (mailbox size: EXISTS), §7.4 (message status: EXPUNGE,
//! FETCH), RFC 3501 §7.2.5 (SEARCH), §7.3.2 (RECENT), §7.2.3 (LSUB), RFC 7162 §3.2.10
//! (VANISHED).

use std::io::Write;

use mailrig_store::{Message, SEPARATOR};

use crate::condstore;
use crate::defect::Defects;
use crate::fetch::{Item, fetch_response};
use crate::recent::Recent;
use crate::response;

/// Which data response an [`Output::Response`](crate::Output::Response) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataKind {
    /// `* CAPABILITY ...` (RFC 9051 §7.2.2).
    Capability,
    /// `* ENABLED ...` (RFC 5161 §3.2).
    Enabled,
    /// `* ID (...)` (RFC 2971 §3.2).
    Id,
    /// `* NAMESPACE ...` (RFC 2342 §5).
    Namespace,
    /// `* FLAGS (...)` (RFC 9051 §7.3.5).
    Flags,
    /// `* LIST ...` (RFC 9051 §7.3.1).
    List,
    /// `* LSUB ...` (RFC 3501 §7.2.3).
    Lsub,
    /// `* STATUS ...` (RFC 9051 §7.3.2).
    Status,
    /// `* SEARCH ...` (RFC 3501 §7.2.5).
    Search,
    /// `* ESEARCH ...` (RFC 9051 §7.3.4).
    Esearch,
    /// `* SORT ...` (RFC 5256 §4).
    Sort,
    /// `* THREAD ...` (RFC 5256 §4).
    Thread,
    /// `* n EXISTS` (RFC 9051 §7.4.1).
    Exists,
    /// `* n RECENT` (RFC 3501 §7.3.2).
    Recent,
    /// `* n EXPUNGE` (RFC 9051 §7.5.1).
    Expunge,
    /// `* VANISHED ...` (RFC 7162 §3.2.10).
    Vanished,
    /// `* n FETCH (...)` (RFC 9051 §7.5.2), asked for or unsolicited.
    Fetch,
    /// `* QUOTA root (...)` (RFC 9208 §5.1).
    Quota,
    /// `* QUOTAROOT mailbox root ...` (RFC 9208 §5.2).
    QuotaRoot,
    /// `* OK [code] text`, an untagged status response (RFC 9051 §7.1.1).
    Ok,
    /// `* NO [code] text` (RFC 9051 §7.1.2).
    No,
    /// `* BAD [code] text` (RFC 9051 §7.1.3).
    Bad,
    /// `* PREAUTH [code] text`, the greeting of a session already logged in (RFC 9051 §7.1.4).
    Preauth,
    /// `* BYE text` (RFC 9051 §7.1.5).
    Bye,
}

impl DataKind {
    /// The response's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            DataKind::Capability => "CAPABILITY",
            DataKind::Enabled => "ENABLED",
            DataKind::Id => "ID",
            DataKind::Namespace => "NAMESPACE",
            DataKind::Flags => "FLAGS",
            DataKind::List => "LIST",
            DataKind::Lsub => "LSUB",
            DataKind::Status => "STATUS",
            DataKind::Search => "SEARCH",
            DataKind::Esearch => "ESEARCH",
            DataKind::Sort => "SORT",
            DataKind::Thread => "THREAD",
            DataKind::Exists => "EXISTS",
            DataKind::Recent => "RECENT",
            DataKind::Expunge => "EXPUNGE",
            DataKind::Vanished => "VANISHED",
            DataKind::Fetch => "FETCH",
            DataKind::Quota => "QUOTA",
            DataKind::QuotaRoot => "QUOTAROOT",
            DataKind::Ok => "OK",
            DataKind::No => "NO",
            DataKind::Bad => "BAD",
            DataKind::Preauth => "PREAUTH",
            DataKind::Bye => "BYE",
        }
    }
}

/// One untagged data response, typed; [`Data::encode`] writes it.
#[derive(Debug)]
pub(crate) enum Data<'a> {
    /// `capability-data`: the capabilities, space-separated.
    Capability(&'a str),
    /// `enable-data`: the capabilities this ENABLE turned on.
    Enabled(&'a [&'a str]),
    /// `id-response`: mailrig's name.
    Id,
    /// `namespace-response`: one personal namespace with this hierarchy separator.
    Namespace(char),
    /// `"FLAGS" SP flag-list`, the list already written.
    Flags(&'a str),
    /// `mailbox-list` of LIST or (`lsub`) LSUB: attributes, separator, name, and with
    /// `childinfo` RFC 5258 §4's `mbox-list-extended` `("CHILDINFO" ("SUBSCRIBED"))`.
    List {
        lsub: bool,
        attributes: &'a [&'a str],
        name: &'a [u8],
        childinfo: bool,
    },
    /// A `mailbox-list` for a renamed mailbox (RFC 5465 §5.4): its new name, with RFC 5258's
    /// extended data item `"OLDNAME" SP "(" mailbox ")"`.
    Renamed {
        attributes: &'a [&'a str],
        name: &'a [u8],
        oldname: &'a [u8],
    },
    /// `"STATUS" SP mailbox SP "(" [status-att-list] ")"`: the numeric items, then
    /// `MAILBOXID (id)` if asked (RFC 8474 §4.3).
    Status {
        mailbox: &'a [u8],
        items: &'a [(&'a str, u64)],
        mailbox_id: Option<&'a str>,
    },
    /// `"SEARCH" *(SP nz-number) [SP "(" "MODSEQ" SP mod-sequence-value ")"]`.
    Search { found: &'a [u32], modseq: Option<u64> },
    /// `sort-data = "SORT" *(SP nz-number) [SP "(" "MODSEQ" SP mod-sequence-value ")"]`
    /// (RFC 5256 §4, RFC 7162 §3.1.5), in sort order.
    Sort { found: &'a [u32], modseq: Option<u64> },
    /// `thread-data = "THREAD" [SP 1*thread-list]`, the lists already written.
    Thread(&'a str),
    /// `esearch-response`: what RETURN asked for (each `None` is left out).
    Esearch(Esearch<'a>),
    /// `nz-number SP "EXISTS"`.
    Exists(usize),
    /// `nz-number SP "RECENT"`.
    Recent(usize),
    /// `nz-number SP "EXPUNGE"`.
    Expunge(usize),
    /// `"VANISHED" [SP "(EARLIER)"] SP known-uids`, the UIDs as ascending runs.
    Vanished { earlier: bool, runs: &'a [(u32, u32)] },
    /// An unsolicited flag change: `nz-number SP "FETCH" SP "(" "FLAGS" SP flag-list [SP
    /// "UID" SP uniqueid] [SP "MODSEQ" SP "(" mod-sequence-value ")"] ")"`, the list already
    /// written.
    FlagUpdate {
        seq: usize,
        uid: Option<u32>,
        flags: &'a str,
        modseq: Option<u64>,
    },
    /// `nz-number SP "FETCH" SP msg-att`: `items` of `message`, in order, once each.
    Fetch {
        seq: usize,
        message: &'a Message,
        items: &'a [Item],
        recent: Option<&'a Recent>,
        defects: Defects,
    },
    /// `quota-response = "QUOTA" SP quota-root-name SP quota-list`, `quota-resource =
    /// resource-name SP resource-usage SP resource-limit`.
    Quota {
        root: &'a str,
        resources: &'a [(&'a str, u64, u64)],
    },
    /// `quotaroot-response = "QUOTAROOT" SP mailbox *(SP quota-root-name)`.
    QuotaRoot { mailbox: &'a [u8], roots: &'a [&'a str] },
}

/// An ESEARCH response's contents (RFC 9051 §7.3.4, RFC 7162 §3.1.5 MODSEQ).
#[derive(Debug, Default)]
pub(crate) struct Esearch<'a> {
    pub(crate) tag: &'a str,
    pub(crate) uid: bool,
    pub(crate) min: Option<u32>,
    pub(crate) max: Option<u32>,
    pub(crate) all: Option<&'a [u32]>,
    pub(crate) count: Option<usize>,
    /// `ret-data-partial` (RFC 5267 §4.4): the range asked for and the results in it.
    pub(crate) partial: Option<((u32, u32), &'a [u32])>,
    pub(crate) modseq: Option<u64>,
    /// `ret-data-addto` and `ret-data-removefrom` (RFC 5267 §4.3), in the order to apply.
    pub(crate) updates: &'a [ResultUpdate],
}

/// One `context-position SP sequence-set` pair of an ADDTO or REMOVEFROM (RFC 5267 §4.3.2):
/// the results to insert at, or remove from, `position` (0: wherever mailbox order puts
/// them), in the requested order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResultUpdate {
    /// ADDTO (`true`) or REMOVEFROM.
    pub(crate) add: bool,
    pub(crate) position: u32,
    pub(crate) ids: Vec<u32>,
}

impl Data<'_> {
    /// Which response it is.
    pub(crate) fn kind(&self) -> DataKind {
        match self {
            Data::Capability(_) => DataKind::Capability,
            Data::Enabled(_) => DataKind::Enabled,
            Data::Id => DataKind::Id,
            Data::Namespace(_) => DataKind::Namespace,
            Data::Flags(_) => DataKind::Flags,
            Data::List { lsub: false, .. } | Data::Renamed { .. } => DataKind::List,
            Data::List { lsub: true, .. } => DataKind::Lsub,
            Data::Status { .. } => DataKind::Status,
            Data::Search { .. } => DataKind::Search,
            Data::Esearch(_) => DataKind::Esearch,
            Data::Sort { .. } => DataKind::Sort,
            Data::Thread(_) => DataKind::Thread,
            Data::Exists(_) => DataKind::Exists,
            Data::Recent(_) => DataKind::Recent,
            Data::Expunge(_) => DataKind::Expunge,
            Data::Vanished { .. } => DataKind::Vanished,
            Data::Fetch { .. } | Data::FlagUpdate { .. } => DataKind::Fetch,
            Data::Quota { .. } => DataKind::Quota,
            Data::QuotaRoot { .. } => DataKind::QuotaRoot,
        }
    }

    /// Appends the whole response, `* ` to CRLF, to `out`. Writing to a `Vec` cannot fail,
    /// so the `io::Result`s of `write!` are ignored.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Data::Capability(capabilities) => {
                let _ = write!(out, "* CAPABILITY {capabilities}");
            }
            Data::Enabled(names) => {
                out.extend_from_slice(b"* ENABLED");
                for name in names.iter() {
                    let _ = write!(out, " {name}");
                }
            }
            Data::Id => out.extend_from_slice(b"* ID (\"name\" \"mailrig\")"),
            Data::Namespace(separator) => {
                let _ = write!(out, "* NAMESPACE ((\"\" \"{separator}\")) NIL NIL");
            }
            Data::Flags(list) => {
                let _ = write!(out, "* FLAGS {list}");
            }
            Data::List {
                lsub,
                attributes,
                name,
                childinfo,
            } => {
                let verb = if *lsub { "LSUB" } else { "LIST" };
                let _ = write!(out, "* {verb} ({}) \"{SEPARATOR}\" ", attributes.join(" "));
                response::string(out, name);
                if *childinfo {
                    out.extend_from_slice(b" (\"CHILDINFO\" (\"SUBSCRIBED\"))");
                }
            }
            Data::Renamed {
                attributes,
                name,
                oldname,
            } => {
                let _ = write!(out, "* LIST ({}) \"{SEPARATOR}\" ", attributes.join(" "));
                response::string(out, name);
                out.extend_from_slice(b" (\"OLDNAME\" (");
                response::string(out, oldname);
                out.extend_from_slice(b"))");
            }
            Data::Status {
                mailbox,
                items,
                mailbox_id,
            } => {
                out.extend_from_slice(b"* STATUS ");
                response::string(out, mailbox);
                out.extend_from_slice(b" (");
                for (i, (item, value)) in items.iter().enumerate() {
                    let space = if i == 0 { "" } else { " " };
                    let _ = write!(out, "{space}{item} {value}");
                }
                if let Some(id) = mailbox_id {
                    let space = if items.is_empty() { "" } else { " " };
                    let _ = write!(out, "{space}MAILBOXID ({id})");
                }
                out.push(b')');
            }
            Data::Search { found, modseq } | Data::Sort { found, modseq } => {
                let name = if matches!(self, Data::Sort { .. }) {
                    "SORT"
                } else {
                    "SEARCH"
                };
                let _ = write!(out, "* {name}");
                for number in found.iter() {
                    let _ = write!(out, " {number}");
                }
                if let Some(modseq) = modseq {
                    let _ = write!(out, " (MODSEQ {modseq})");
                }
            }
            Data::Esearch(esearch) => esearch.encode(out),
            Data::Thread(lists) => {
                let space = if lists.is_empty() { "" } else { " " };
                let _ = write!(out, "* THREAD{space}{lists}");
            }
            Data::Quota { root, resources } => {
                out.extend_from_slice(b"* QUOTA ");
                response::string(out, root.as_bytes());
                out.extend_from_slice(b" (");
                for (i, (name, usage, limit)) in resources.iter().enumerate() {
                    let space = if i == 0 { "" } else { " " };
                    let _ = write!(out, "{space}{name} {usage} {limit}");
                }
                out.push(b')');
            }
            Data::QuotaRoot { mailbox, roots } => {
                out.extend_from_slice(b"* QUOTAROOT ");
                response::string(out, mailbox);
                for root in roots.iter() {
                    out.push(b' ');
                    response::string(out, root.as_bytes());
                }
            }
            Data::Exists(n) => {
                let _ = write!(out, "* {n} EXISTS");
            }
            Data::Recent(n) => {
                let _ = write!(out, "* {n} RECENT");
            }
            Data::Expunge(n) => {
                let _ = write!(out, "* {n} EXPUNGE");
            }
            Data::Vanished { earlier, runs } => {
                let earlier = if *earlier { "(EARLIER) " } else { "" };
                let _ = write!(out, "* VANISHED {earlier}{}", condstore::runs_text(runs));
            }
            Data::FlagUpdate {
                seq,
                uid,
                flags,
                modseq,
            } => {
                let _ = write!(out, "* {seq} FETCH (FLAGS {flags}");
                if let Some(uid) = uid {
                    let _ = write!(out, " UID {uid}");
                }
                if let Some(modseq) = modseq {
                    let _ = write!(out, " MODSEQ ({modseq})");
                }
                out.push(b')');
            }
            Data::Fetch {
                seq,
                message,
                items,
                recent,
                defects,
            } => {
                // fetch_response writes its own CRLF (a literal may end the line before it).
                return fetch_response(out, *seq, message, items, *recent, *defects);
            }
        }
        out.extend_from_slice(b"\r\n");
    }
}

impl Esearch<'_> {
    /// `esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)`.
    fn encode(&self, out: &mut Vec<u8>) {
        let _ = write!(out, "* ESEARCH (TAG \"{}\")", self.tag);
        if self.uid {
            out.extend_from_slice(b" UID");
        }
        if let Some(min) = self.min {
            let _ = write!(out, " MIN {min}");
        }
        if let Some(max) = self.max {
            let _ = write!(out, " MAX {max}");
        }
        if let Some(all) = self.all {
            let _ = write!(out, " ALL {}", condstore::runs_text(&condstore::runs_of(all)));
        }
        if let Some(count) = self.count {
            let _ = write!(out, " COUNT {count}");
        }
        if let Some(((m, n), found)) = self.partial {
            let found = if found.is_empty() {
                "NIL".to_owned()
            } else {
                condstore::runs_text(&condstore::runs_of(found))
            };
            let _ = write!(out, " PARTIAL ({m}:{n} {found})");
        }
        if let Some(modseq) = self.modseq {
            let _ = write!(out, " MODSEQ {modseq}");
        }
        // Neighbouring pairs of one kind share an item: `ADDTO (1 5 3 7)`.
        for (i, update) in self.updates.iter().enumerate() {
            let ids = condstore::runs_text(&condstore::runs_of(&update.ids));
            let first = i == 0 || self.updates[i - 1].add != update.add;
            let last = self.updates.get(i + 1).is_none_or(|next| next.add != update.add);
            if first {
                let name = if update.add { "ADDTO" } else { "REMOVEFROM" };
                let _ = write!(out, " {name} (");
            } else {
                out.push(b' ');
            }
            let _ = write!(out, "{} {ids}", update.position);
            if last {
                out.push(b')');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(data: Data<'_>) -> String {
        let mut out = Vec::new();
        data.encode(&mut out);
        String::from_utf8(out).expect("ASCII")
    }

    /// Known answers from RFC 9051 §7 and RFC 7162 §3.2.10.
    #[test]
    fn data_responses() {
        assert_eq!(encoded(Data::Exists(23)), "* 23 EXISTS\r\n");
        assert_eq!(encoded(Data::Expunge(44)), "* 44 EXPUNGE\r\n");
        assert_eq!(
            encoded(Data::Flags("(\\Answered \\Flagged \\Deleted \\Seen \\Draft)")),
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
        );
        let runs = [(405, 405), (407, 410), (425, 425)];
        let vanished = Data::Vanished {
            earlier: true,
            runs: &runs,
        };
        assert_eq!(vanished.kind(), DataKind::Vanished);
        assert_eq!(encoded(vanished), "* VANISHED (EARLIER) 405,407:410,425\r\n");
        let status = Data::Status {
            mailbox: b"blurdybloop",
            items: &[("MESSAGES", 231), ("UIDNEXT", 44292)],
            mailbox_id: None,
        };
        assert_eq!(
            encoded(status),
            "* STATUS \"blurdybloop\" (MESSAGES 231 UIDNEXT 44292)\r\n"
        );
        let status = Data::Status {
            mailbox: b"a",
            items: &[("MESSAGES", 2)],
            mailbox_id: Some("M7"),
        };
        assert_eq!(encoded(status), "* STATUS \"a\" (MESSAGES 2 MAILBOXID (M7))\r\n");
        let status = Data::Status {
            mailbox: b"a",
            items: &[],
            mailbox_id: Some("M7"),
        };
        assert_eq!(encoded(status), "* STATUS \"a\" (MAILBOXID (M7))\r\n");
        let list = Data::List {
            lsub: true,
            attributes: &["\\Noselect"],
            name: b"a",
            childinfo: false,
        };
        assert_eq!(list.kind(), DataKind::Lsub);
        assert_eq!(encoded(list), "* LSUB (\\Noselect) \"/\" \"a\"\r\n");
        // RFC 5258 §4: a parent listed for its subscribed children.
        let list = Data::List {
            lsub: false,
            attributes: &[],
            name: b"Foo",
            childinfo: true,
        };
        assert_eq!(
            encoded(list),
            "* LIST () \"/\" \"Foo\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
        );
        // RFC 5256 §4's examples.
        let sort = Data::Sort {
            found: &[5, 3, 4, 1, 2],
            modseq: None,
        };
        assert_eq!(sort.kind(), DataKind::Sort);
        assert_eq!(encoded(sort), "* SORT 5 3 4 1 2\r\n");
        let thread = Data::Thread("(2)(3 6 (4 23)(44 7 96))");
        assert_eq!(thread.kind(), DataKind::Thread);
        assert_eq!(encoded(thread), "* THREAD (2)(3 6 (4 23)(44 7 96))\r\n");
        assert_eq!(encoded(Data::Thread("")), "* THREAD\r\n");
        let esearch = Esearch {
            tag: "A285",
            uid: true,
            min: Some(7),
            all: Some(&[7, 8, 9, 12]),
            ..Esearch::default()
        };
        assert_eq!(
            encoded(Data::Esearch(esearch)),
            "* ESEARCH (TAG \"A285\") UID MIN 7 ALL 7:9,12\r\n"
        );
        // RFC 5267 §4.4 and §4.3.3's examples.
        let partial = Esearch {
            tag: "A04",
            uid: true,
            partial: Some(((24000, 24500), &[])),
            ..Esearch::default()
        };
        assert_eq!(
            encoded(Data::Esearch(partial)),
            "* ESEARCH (TAG \"A04\") UID PARTIAL (24000:24500 NIL)\r\n"
        );
        let partial = Esearch {
            tag: "A03",
            partial: Some(((1, 5), &[3, 4, 5, 9])),
            ..Esearch::default()
        };
        assert_eq!(
            encoded(Data::Esearch(partial)),
            "* ESEARCH (TAG \"A03\") PARTIAL (1:5 3:5,9)\r\n"
        );
        let update = |add, position, ids: &[u32]| ResultUpdate {
            add,
            position,
            ids: ids.to_vec(),
        };
        let updates = [update(true, 1, &[2733]), update(true, 1, &[2731, 2732])];
        let addto = Esearch {
            tag: "C01",
            uid: true,
            updates: &updates,
            ..Esearch::default()
        };
        assert_eq!(
            encoded(Data::Esearch(addto)),
            "* ESEARCH (TAG \"C01\") UID ADDTO (1 2733 1 2731:2732)\r\n"
        );
        let updates = [
            update(false, 0, &[32768]),
            update(true, 0, &[7, 8]),
            update(true, 2, &[9]),
        ];
        let both = Esearch {
            tag: "B01",
            updates: &updates,
            ..Esearch::default()
        };
        assert_eq!(
            encoded(Data::Esearch(both)),
            "* ESEARCH (TAG \"B01\") REMOVEFROM (0 32768) ADDTO (0 7:8 2 9)\r\n"
        );
    }
}
