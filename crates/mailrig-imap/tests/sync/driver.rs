//! Drives several sessions over one store through generated steps and checks every response
//! each session writes against the reference model (`model.rs`): the numbers in EXISTS,
//! EXPUNGE, VANISHED and FETCH, the UIDs, FETCH FLAGS and MODSEQ, SEARCH results, MODIFIED,
//! APPENDUID/COPYUID, that after NOOP or while IDLE a session has heard every change, and
//! (`announce.rs`) FLAGS/PERMANENTFLAGS before new keywords, `\Recent` and `RECENT`. One
//! session opens its mailbox with EXAMINE: its STORE, EXPUNGE and MOVE must fail and change
//! nothing.
//! Every byte also goes through imap-codec's response decoder (`codec.rs`).

use std::collections::{BTreeMap, BTreeSet};

use mailrig_imap::{Config, Defects, Output, Session};
use mailrig_store::{Store, User};

use crate::announce::Heard;
use crate::codec;
use crate::model::{Mailbox, Op, Told, Unchanged, version_told, without_recent};
use crate::reader::{FlagSet, Response, read_all, uid_set};

/// The mailboxes sessions select: INBOX and one more, so COPY and MOVE go somewhere watched.
pub(crate) const MAILBOXES: [&str; 2] = ["INBOX", "Other"];

/// Each selected session: its mailbox, how far it turned on RFC 7162, and whether it opens
/// the mailbox with EXAMINE (read-only).
pub(crate) const SESSIONS: [(usize, Level, bool); 5] = [
    (0, Level::Off, false),
    (0, Level::Condstore, false),
    (0, Level::Qresync, false),
    (1, Level::Off, false),
    (0, Level::Off, true),
];

/// An UNCHANGEDSINCE value above every mod-sequence a run reaches.
const HUGE: u64 = 1 << 40;

/// The flags steps use, by bit: system flags and keywords, which are new to the mailbox the
/// first time a STORE, APPEND or COPY brings them (so FLAGS must be announced again).
pub(crate) const FLAGS: [&str; 6] = ["\\Seen", "\\Deleted", "\\Flagged", "$Work", "$Later", "Junk"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Off,
    Condstore,
    Qresync,
}

/// The UNCHANGEDSINCE modifier of a generated STORE.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Since {
    None,
    /// 0: always fails (every mod-sequence is at least 1).
    Zero,
    /// The MODSEQ the client last heard for the message.
    Known,
    /// Far above any mod-sequence: always passes.
    Huge,
}

/// Which messages a step names: the message at `pick % count`, alone or with all after it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pick {
    pub(crate) at: usize,
    pub(crate) to_end: bool,
}

/// One generated step.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// APPEND from a session that has nothing selected (a delivery from outside).
    Append {
        mailbox: usize,
        flags: u8,
    },
    Store {
        s: usize,
        pick: Pick,
        uid: bool,
        op: Op,
        flags: u8,
        silent: bool,
        since: Since,
    },
    Expunge {
        s: usize,
        uid: Option<Pick>,
    },
    /// COPY or MOVE to the other mailbox, or (`same`) into the selected one.
    Transfer {
        s: usize,
        pick: Pick,
        uid: bool,
        moving: bool,
        same: bool,
    },
    Noop {
        s: usize,
    },
    Fetch {
        s: usize,
        uid: bool,
    },
    /// SEARCH with several keys (ANDed, RFC 9051 §6.4.4).
    Search {
        s: usize,
        keys: Vec<usize>,
        uid: bool,
    },
    Select {
        s: usize,
    },
    /// IDLE in `s` while the other steps run, then DONE.
    Idle {
        s: usize,
        during: Vec<Step>,
    },
}

/// One selected session and what its client has been told.
struct Client {
    session: Session,
    mailbox: usize,
    level: Level,
    told: Vec<Told>,
    /// The highest UID it was ever told exists (expunged ones count).
    high: u32,
    /// FLAGS, PERMANENTFLAGS and `\Recent` as it heard them.
    heard: Heard,
}

/// The sessions, the postman (nothing selected) and the model.
pub(crate) struct Run {
    clients: Vec<Client>,
    postman: Session,
    boxes: Vec<Mailbox>,
    tags: u32,
    /// Responses imap-codec decoded (to show the oracle ran).
    pub(crate) decoded: usize,
}

type Checked<T = ()> = Result<T, String>;

fn flag_set(bits: u8) -> FlagSet {
    FLAGS
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, f)| (*f).to_owned())
        .collect()
}

fn list(flags: &FlagSet) -> String {
    let names: Vec<&str> = flags.iter().map(String::as_str).collect();
    format!("({})", names.join(" "))
}

impl Run {
    /// Fresh store, sessions logged in, CONDSTORE/QRESYNC enabled, mailboxes selected.
    pub(crate) fn start(defects: Defects) -> Checked<Run> {
        let store = Store::new();
        store
            .add_user(User::new("alice", "secret", ["alice@example.test"]))
            .expect("a new store has no users");
        store
            .create_mailbox("alice", MAILBOXES[1])
            .expect("a new mailbox");
        let config = || Config {
            defects,
            ..Config::default()
        };
        let mut postman = Session::new(config(), store.clone());
        let mut run = Run {
            clients: Vec::new(),
            postman: Session::new(config(), store.clone()),
            boxes: vec![Mailbox::default(), Mailbox::default()],
            tags: 0,
            decoded: 0,
        };
        postman.handle_input(b"p LOGIN alice secret\r\n");
        run.decoded += codec::decode(&drain(&mut postman), true)?;
        run.postman = postman;
        for (mailbox, level, read_only) in SESSIONS {
            let mut session = Session::new(config(), store.clone());
            session.handle_input(b"a LOGIN alice secret\r\n");
            match level {
                Level::Off => {}
                Level::Condstore => session.handle_input(b"e ENABLE CONDSTORE\r\n"),
                Level::Qresync => session.handle_input(b"e ENABLE QRESYNC\r\n"),
            }
            run.decoded += codec::decode(&drain(&mut session), true)?;
            run.clients.push(Client {
                session,
                mailbox,
                level,
                told: Vec::new(),
                high: 0,
                heard: Heard::new(read_only),
            });
        }
        for s in 0..run.clients.len() {
            run.select(s)?;
        }
        Ok(run)
    }

    /// Runs `step`, checking everything it makes the servers say.
    pub(crate) fn step(&mut self, step: &Step) -> Checked {
        match step {
            Step::Append { mailbox, flags } => self.append(*mailbox, *flags),
            Step::Store { s, .. } => self.store(step).map(|()| *s).and_then(|s| self.catch_up(s)),
            Step::Expunge { s, uid } => self.expunge(*s, *uid).and_then(|()| self.catch_up(*s)),
            Step::Transfer {
                s,
                pick,
                uid,
                moving,
                same,
            } => self
                .transfer(*s, *pick, *uid, (*moving, *same))
                .and_then(|()| self.catch_up(*s)),
            Step::Noop { s } => {
                let lines = self.command(*s, "NOOP")?;
                self.check_lines(*s, &lines, false)?;
                self.catch_up(*s)?;
                self.in_sync(*s, "after NOOP")
            }
            Step::Fetch { s, uid } => self.fetch(*s, *uid).and_then(|()| self.catch_up(*s)),
            Step::Search { s, keys, uid } => self.search(*s, keys, *uid).and_then(|()| self.catch_up(*s)),
            Step::Select { s } => self.select(*s),
            Step::Idle { s, during } => self.idle(*s, during),
        }
    }

    /// Ends the run: every session NOOPs and must then know everything.
    pub(crate) fn finish(&mut self) -> Checked {
        for s in 0..self.clients.len() {
            self.step(&Step::Noop { s })?;
        }
        Ok(())
    }

    fn tag(&mut self) -> String {
        self.tags += 1;
        format!("t{}", self.tags)
    }

    /// Sends `tag command` to session `s`; returns its lines, which must end with the
    /// tagged OK.
    fn command(&mut self, s: usize, command: &str) -> Checked<Vec<Response>> {
        self.command_ending(s, command, "OK")
    }

    /// Sends `tag command` to session `s`; returns its lines, which must end with the
    /// tagged response with `expected` status.
    fn command_ending(&mut self, s: usize, command: &str, expected: &str) -> Checked<Vec<Response>> {
        let tag = self.tag();
        let session = &mut self.clients[s].session;
        session.handle_input(format!("{tag} {command}\r\n").as_bytes());
        trace(s, format!("C: {tag} {command}\r\n").as_bytes());
        let lines = self.read(s)?;
        match lines.last() {
            Some(Response::Tagged { tag: t, status, .. }) if *t == tag && status == expected => Ok(lines),
            _ => Err(format!(
                "session {s}: {command} did not end in {tag} {expected}: {lines:?}"
            )),
        }
    }

    /// Everything session `s` has written, decoded by imap-codec and read.
    fn read(&mut self, s: usize) -> Checked<Vec<Response>> {
        let bytes = drain(&mut self.clients[s].session);
        trace(s, &bytes);
        self.decoded += codec::decode(&bytes, false)?;
        read_all(&String::from_utf8_lossy(&bytes))
    }

    /// Applies the untagged lines to session `s`'s client, checking each against the model
    /// when it arrives. `sequence_command`: the command is FETCH, STORE or SEARCH by
    /// sequence number, during which no EXPUNGE (nor VANISHED) may be sent (RFC 9051 §7.5.1).
    fn check_lines(&mut self, s: usize, lines: &[Response], sequence_command: bool) -> Checked {
        for line in lines {
            self.check_line(s, line, sequence_command)
                .map_err(|e| format!("session {s}: {e}\n  in {lines:?}"))?;
        }
        Ok(())
    }

    fn check_line(&mut self, s: usize, line: &Response, sequence_command: bool) -> Checked {
        let client = &mut self.clients[s];
        let mailbox = &mut self.boxes[client.mailbox];
        match line {
            Response::Exists(n) => {
                let known = client.told.len();
                if *n < known {
                    return Err(format!("EXISTS {n} below the {known} messages it knew"));
                }
                // The new messages are the next ones in UID order, including any expunged
                // since (it hears of those expunges next).
                let last = client.high;
                let new: Vec<u32> = mailbox
                    .messages
                    .iter()
                    .map(|m| m.uid)
                    .filter(|&u| u > last)
                    .take(n - known)
                    .collect();
                if new.len() != n - known {
                    return Err(format!("EXISTS {n}: only {} new messages exist", new.len()));
                }
                client.high = new.last().copied().unwrap_or(client.high);
                client.told.extend(new.into_iter().map(Told::new));
                let uids: Vec<u32> = client.told.iter().map(|t| t.uid).collect();
                client.heard.claim(mailbox, &uids);
            }
            Response::Other(text) if text.starts_with("FLAGS ") => {
                client.heard.flags_line(text)?;
            }
            Response::Other(text) if text.ends_with(" RECENT") => {
                let n = text
                    .trim_end_matches(" RECENT")
                    .parse()
                    .map_err(|_| format!("bad {text}"))?;
                let uids: Vec<u32> = client.told.iter().map(|t| t.uid).collect();
                client.heard.recent_line(n, &uids)?;
            }
            Response::Code(code) if code.starts_with("PERMANENTFLAGS ") => {
                client.heard.permanent_code(&code["PERMANENTFLAGS ".len()..])?;
            }
            Response::Expunge(n) => {
                if sequence_command {
                    return Err(format!("EXPUNGE {n} while answering FETCH/STORE/SEARCH"));
                }
                if client.level == Level::Qresync {
                    return Err("EXPUNGE sent to a QRESYNC client (RFC 7162 §3.2.10)".into());
                }
                let Some(told) = client.told.get(n.wrapping_sub(1)) else {
                    return Err(format!("EXPUNGE {n} of {} messages", client.told.len()));
                };
                if mailbox.is_live(told.uid) {
                    return Err(format!("EXPUNGE {n} names UID {}, not expunged", told.uid));
                }
                client.told.remove(n - 1);
            }
            Response::Vanished { earlier, uids } => {
                if sequence_command || *earlier || client.level != Level::Qresync {
                    return Err(format!("VANISHED here is not allowed: {line:?}"));
                }
                for uid in uids {
                    let at = client.told.iter().position(|t| t.uid == *uid);
                    let at = at.ok_or(format!("VANISHED of unknown UID {uid}"))?;
                    if mailbox.is_live(*uid) {
                        return Err(format!("VANISHED names UID {uid}, not expunged"));
                    }
                    client.told.remove(at);
                }
            }
            Response::Fetch {
                seq,
                uid,
                flags,
                modseq,
            } => {
                let count = client.told.len();
                let told = client
                    .told
                    .get_mut(seq.wrapping_sub(1))
                    .ok_or(format!("FETCH {seq} of {count} messages"))?;
                if uid.is_some_and(|u| u != told.uid) {
                    return Err(format!("FETCH {seq} says UID {uid:?}, it is {}", told.uid));
                }
                let message = mailbox.find(told.uid).expect("told UIDs exist");
                // Under CONDSTORE a FETCH is placed in the message's history by its MODSEQ
                // (RFC 7162 §3.1): flags sent without one (a plain FETCH FLAGS) may be newer
                // than updates that follow with their MODSEQ, so they do not move the
                // client's place.
                let placed = client.level == Level::Off || modseq.is_some();
                let (index, unique) = match flags {
                    Some(flags) => {
                        client.heard.fetch_flags(told.uid, flags)?;
                        let flags = without_recent(flags);
                        let fits = |i| modseq.is_none_or(|m| mailbox.modseq_fits(told.uid, i, m).is_ok());
                        let found = version_told(message, told.version, &flags, fits)?;
                        told.flags = Some(flags);
                        found
                    }
                    None => (message.versions.len() - 1, true),
                };
                if placed {
                    told.version = Some(index);
                }
                if let Some(modseq) = *modseq {
                    if told.modseq.is_some_and(|was| was > modseq) {
                        return Err(format!("MODSEQ of UID {} went down to {modseq}", told.uid));
                    }
                    told.modseq = Some(modseq);
                    // Checked by `fits` either way; pinned only where no other version could
                    // carry it.
                    if unique {
                        mailbox.learn_modseq(told.uid, index, modseq)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// FETCHes what the client does not know yet, as a client does after EXISTS.
    fn catch_up(&mut self, s: usize) -> Checked {
        let client = &self.clients[s];
        let condstore = client.level > Level::Off;
        let unknown = |t: &Told| t.flags.is_none() || (condstore && t.modseq.is_none());
        let Some(first) = client.told.iter().position(unknown) else {
            return Ok(());
        };
        let items = if condstore {
            "UID FLAGS MODSEQ"
        } else {
            "UID FLAGS"
        };
        let asked: Vec<u32> = client.told[first..].iter().map(|t| t.uid).collect();
        let lines = self.command(s, &format!("FETCH {}:* ({items})", first + 1))?;
        self.check_lines(s, &lines, true)?;
        self.fetched_current(s, &asked)
    }

    /// After a FETCH of the flags of `asked` (the UIDs the client knew when it asked): the
    /// client has every live one's current flags.
    fn fetched_current(&self, s: usize, asked: &[u32]) -> Checked {
        let client = &self.clients[s];
        let mailbox = &self.boxes[client.mailbox];
        for told in client.told.iter().filter(|t| asked.contains(&t.uid)) {
            let Some(message) = mailbox.find(told.uid).filter(|m| !m.expunged) else {
                continue;
            };
            if told.flags.as_ref() != Some(&message.current().flags) {
                return Err(format!(
                    "session {s}: after FETCH, UID {} has {:?}, the model {:?}",
                    told.uid,
                    told.flags,
                    message.current().flags
                ));
            }
        }
        Ok(())
    }

    /// The client knows exactly the live messages, with their current flags (and MODSEQ).
    fn in_sync(&self, s: usize, when: &str) -> Checked {
        let client = &self.clients[s];
        let mailbox = &self.boxes[client.mailbox];
        let told: Vec<u32> = client.told.iter().map(|t| t.uid).collect();
        if told != mailbox.live() {
            return Err(format!(
                "session {s} {when}: knows UIDs {told:?}, the mailbox has {:?}",
                mailbox.live()
            ));
        }
        for told in &client.told {
            let current = mailbox.find(told.uid).expect("live").current();
            let modseq_wrong = client.level > Level::Off
                && current.modseq.is_some()
                && told.modseq.is_some()
                && told.modseq != current.modseq;
            if told.flags.as_ref().is_some_and(|f| *f != current.flags) || modseq_wrong {
                return Err(format!(
                    "session {s} {when}: UID {} known as {:?} MODSEQ {:?}, the model has {:?} \
                     MODSEQ {:?}",
                    told.uid, told.flags, told.modseq, current.flags, current.modseq
                ));
            }
        }
        Ok(())
    }

    fn select(&mut self, s: usize) -> Checked {
        let name = MAILBOXES[self.clients[s].mailbox];
        let verb = if self.clients[s].heard.read_only {
            "EXAMINE"
        } else {
            "SELECT"
        };
        let lines = self.command(s, &format!("{verb} {name}"))?;
        let client = &mut self.clients[s];
        let mailbox = &mut self.boxes[client.mailbox];
        let live = mailbox.live();
        // Whatever it hears from now on is at least the state at the SELECT.
        client.told = live
            .iter()
            .map(|&uid| Told {
                version: Some(mailbox.find(uid).expect("live").versions.len() - 1),
                ..Told::new(uid)
            })
            .collect();
        // Messages gone before the SELECT are never announced; later ones are above these.
        client.high = mailbox.messages.last().map_or(0, |m| m.uid);
        client.heard.reset();
        client.heard.claim(mailbox, &live);
        self.selected_lines(s, verb, &lines)?;
        let client = &self.clients[s];
        client.heard.covers(&self.boxes[client.mailbox])?;
        self.catch_up(s)?;
        self.in_sync(s, "after SELECT")
    }

    /// The untagged and tagged lines of SELECT or EXAMINE (RFC 9051 §6.3.2, §6.3.3).
    fn selected_lines(&mut self, s: usize, verb: &str, lines: &[Response]) -> Checked {
        let client = &mut self.clients[s];
        let mailbox = &mut self.boxes[client.mailbox];
        let live = mailbox.live();
        let highest_uid = mailbox.messages.last().map_or(0, |m| m.uid);
        for line in lines {
            let code = match line {
                Response::Exists(n) if *n != live.len() => {
                    return Err(format!("{verb}: {n} EXISTS, the model has {live:?}"));
                }
                Response::Other(text) if text.starts_with("FLAGS ") => {
                    client.heard.flags_line(text)?;
                    continue;
                }
                Response::Other(text) if text.ends_with(" RECENT") => {
                    let n = text.trim_end_matches(" RECENT");
                    let n = n.parse().map_err(|_| format!("bad {text}"))?;
                    client
                        .heard
                        .recent_line(n, &live)
                        .map_err(|e| format!("{verb}: {e}"))?;
                    continue;
                }
                Response::Code(code) => code,
                Response::Tagged { code, .. } => {
                    // RFC 9051 §6.3.3: EXAMINE's OK begins with [READ-ONLY].
                    let expected = if client.heard.read_only {
                        "READ-ONLY"
                    } else {
                        "READ-WRITE"
                    };
                    if code.as_deref() != Some(expected) {
                        return Err(format!("{verb} ended with code {code:?}"));
                    }
                    continue;
                }
                Response::Fetch { .. } | Response::Expunge(_) | Response::Vanished { .. } => {
                    return Err(format!("{verb} answered {line:?}"));
                }
                _ => continue,
            };
            let (word, value) = code.split_once(' ').unwrap_or((code, ""));
            match word {
                "UIDVALIDITY" => {
                    let value: u32 = value.parse().map_err(|_| format!("bad {code}"))?;
                    if *mailbox.uidvalidity.get_or_insert(value) != value {
                        return Err(format!("{verb}: UIDVALIDITY changed to {value}"));
                    }
                }
                "UIDNEXT" => {
                    let value: u32 = value.parse().map_err(|_| format!("bad {code}"))?;
                    if value <= highest_uid {
                        return Err(format!("{verb}: UIDNEXT {value}, UID {highest_uid} exists"));
                    }
                }
                "PERMANENTFLAGS" => client.heard.permanent_code(value)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn append(&mut self, mailbox: usize, bits: u8) -> Checked {
        let flags = flag_set(bits);
        let body = "Subject: model\r\n\r\nx\r\n";
        let tag = self.tag();
        let line = format!(
            "{tag} APPEND {} {} {{{}+}}\r\n{body}\r\n",
            MAILBOXES[mailbox],
            list(&flags),
            body.len()
        );
        self.postman.handle_input(line.as_bytes());
        let bytes = drain(&mut self.postman);
        self.decoded += codec::decode(&bytes, false)?;
        let lines = read_all(&String::from_utf8_lossy(&bytes))?;
        let Some(Response::Tagged {
            status,
            code: Some(code),
            ..
        }) = lines.last()
        else {
            return Err(format!("APPEND answered {lines:?}"));
        };
        let uid = code
            .strip_prefix("APPENDUID ")
            .and_then(|c| c.split_once(' '))
            .filter(|_| status == "OK")
            .ok_or(format!("APPEND answered {lines:?}"))?;
        let target = &mut self.boxes[mailbox];
        if target.uidvalidity.is_some_and(|v| v.to_string() != uid.0) {
            return Err(format!("APPENDUID {code}: wrong UIDVALIDITY"));
        }
        let uid = uid.1.parse().map_err(|_| format!("bad {code}"))?;
        let order = target.tick();
        target.append(uid, flags, order)
    }

    /// The sequence set text and UIDs (as the client knows them) `pick` names, or `None` if
    /// the session has no messages.
    fn named(&self, s: usize, pick: Pick, uid: bool) -> Option<(String, Vec<u32>)> {
        let told = &self.clients[s].told;
        if told.is_empty() {
            return None;
        }
        let at = pick.at % told.len();
        let uids: Vec<u32> = if pick.to_end {
            told[at..].iter().map(|t| t.uid).collect()
        } else {
            vec![told[at].uid]
        };
        let first = if uid { told[at].uid as usize } else { at + 1 };
        let set = if pick.to_end {
            format!("{first}:*")
        } else {
            first.to_string()
        };
        Some((set, uids))
    }

    fn store(&mut self, step: &Step) -> Checked {
        let Step::Store {
            s,
            pick,
            uid,
            op,
            flags,
            silent,
            since,
        } = *step
        else {
            unreachable!("a STORE step");
        };
        let Some((set, uids)) = self.named(s, pick, uid) else {
            return Ok(());
        };
        let client = &self.clients[s];
        if client.heard.read_only {
            // RFC 9051 §6.3.3: nothing may change in a mailbox opened with EXAMINE.
            let prefix = if uid { "UID " } else { "" };
            let command = format!(
                "{prefix}STORE {set} +FLAGS ({})",
                FLAGS[flags as usize % FLAGS.len()]
            );
            let lines = self.command_ending(s, &command, "NO")?;
            return self.check_lines(s, &lines, !uid);
        }
        let mailbox = &self.boxes[client.mailbox];
        let first = client.told[pick.at % client.told.len()].clone();
        let since = match since {
            Since::None => None,
            Since::Zero => Some(0),
            Since::Known => first.modseq,
            Since::Huge => Some(HUGE),
        };
        // Only conditions the known mod-sequences decide (else the step stores plainly).
        let decide = |value: u64| -> Option<BTreeMap<u32, Unchanged>> {
            let live = uids
                .iter()
                .filter_map(|&u| mailbox.find(u).filter(|m| !m.expunged));
            live.map(|m| {
                let decided = if value >= HUGE {
                    Some(Unchanged::Passes)
                } else {
                    mailbox.unchanged_since(m, value)
                };
                decided.map(|d| (m.uid, d))
            })
            .collect()
        };
        let (since, decisions) = match since.and_then(|v| Some((v, decide(v)?))) {
            Some((v, decisions)) => (Some(v), decisions),
            None => (None, BTreeMap::new()),
        };
        let given = flag_set(flags);
        let mailbox = &mut self.boxes[self.clients[s].mailbox];
        let modified = mailbox.store(&uids, op, &given, |m| {
            decisions.get(&m.uid).copied().unwrap_or(Unchanged::Passes)
        });
        let sign = match op {
            Op::Add => "+",
            Op::Remove => "-",
            Op::Replace => "",
        };
        let modifier = since.map_or(String::new(), |v| format!(" (UNCHANGEDSINCE {v})"));
        let suffix = if silent { ".SILENT" } else { "" };
        let prefix = if uid { "UID " } else { "" };
        let command = format!(
            "{prefix}STORE {set}{modifier} {sign}FLAGS{suffix} {}",
            list(&given)
        );
        if since.is_some() && self.clients[s].level == Level::Off {
            // UNCHANGEDSINCE is a CONDSTORE-enabling command (RFC 7162 §3.1).
            self.clients[s].level = Level::Condstore;
        }
        let before: Vec<u32> = self.clients[s].told.iter().map(|t| t.uid).collect();
        let lines = self.command(s, &command)?;
        self.check_lines(s, &lines, !uid)?;
        self.check_modified(s, &lines, &modified, uid)?;
        let told_flags = flags_told_in(&before, &lines);
        self.after_store(s, &told_flags, &uids, &modified, (op, &given, silent))
    }

    /// The tagged OK carries `[MODIFIED set]` exactly when the model excluded messages.
    fn check_modified(&self, s: usize, lines: &[Response], modified: &BTreeSet<u32>, uid: bool) -> Checked {
        let Some(Response::Tagged { code, .. }) = lines.last() else {
            unreachable!("command() checked the tagged line");
        };
        let told = &self.clients[s].told;
        let mut expected: Vec<u32> = modified
            .iter()
            .filter_map(|u| {
                let at = told.iter().position(|t| t.uid == *u)?;
                Some(if uid { *u } else { at as u32 + 1 })
            })
            .collect();
        expected.sort_unstable();
        let got = match code.as_deref().and_then(|c| c.strip_prefix("MODIFIED ")) {
            Some(set) => uid_set(set).ok_or(format!("bad MODIFIED {set}"))?,
            None => Vec::new(),
        };
        if got != expected {
            return Err(format!(
                "session {s}: STORE reported MODIFIED {got:?}, the model {expected:?}"
            ));
        }
        Ok(())
    }

    /// After STORE: without .SILENT the client was told each stored message's current flags;
    /// with it, the client works them out itself for the messages it was told nothing about.
    fn after_store(
        &mut self,
        s: usize,
        told_flags: &[u32],
        uids: &[u32],
        modified: &BTreeSet<u32>,
        (op, given, silent): (Op, &FlagSet, bool),
    ) -> Checked {
        let client = &mut self.clients[s];
        let mailbox = &self.boxes[client.mailbox];
        for told in &mut client.told {
            let Some(message) = mailbox.find(told.uid).filter(|m| !m.expunged) else {
                continue;
            };
            if !uids.contains(&told.uid) || modified.contains(&told.uid) {
                continue;
            }
            if silent {
                // A FETCH with FLAGS in a silent STORE's response is an update from elsewhere
                // (placed in the history by `check_lines`); it may be older than the
                // message's state when later updates wait behind an EXPUNGE that cannot be
                // sent during STORE (RFC 9051 §7.5.1).
                if !told_flags.contains(&told.uid)
                    && let Some(flags) = &told.flags
                {
                    let worked_out = op.apply(flags, given);
                    if worked_out == message.current().flags {
                        told.version = Some(message.versions.len() - 1);
                    }
                    told.flags = Some(worked_out);
                }
            } else if told.flags.as_ref() != Some(&message.current().flags) {
                return Err(format!(
                    "session {s}: after STORE, UID {} known as {:?}, the model has {:?}",
                    told.uid,
                    told.flags,
                    message.current().flags
                ));
            }
        }
        Ok(())
    }

    fn expunge(&mut self, s: usize, pick: Option<Pick>) -> Checked {
        let mailbox = self.clients[s].mailbox;
        let (command, within) = match pick {
            None => ("EXPUNGE".to_owned(), None),
            Some(pick) => {
                let Some((set, uids)) = self.named(s, pick, true) else {
                    return Ok(());
                };
                (format!("UID EXPUNGE {set}"), Some(uids))
            }
        };
        if self.clients[s].heard.read_only {
            let lines = self.command_ending(s, &command, "NO")?;
            return self.check_lines(s, &lines, false);
        }
        let gone = self.boxes[mailbox].expunge(within.as_deref());
        self.boxes[mailbox].tick();
        let lines = self.command(s, &command)?;
        self.check_lines(s, &lines, false)?;
        // RFC 9051 §6.4.3: an EXPUNGE response for each message removed.
        let told = &self.clients[s].told;
        if let Some(left) = gone.iter().find(|u| told.iter().any(|t| t.uid == **u)) {
            return Err(format!(
                "session {s}: {command} removed UID {left} without telling"
            ));
        }
        Ok(())
    }

    fn transfer(&mut self, s: usize, pick: Pick, uid: bool, (moving, same): (bool, bool)) -> Checked {
        let Some((set, uids)) = self.named(s, pick, uid) else {
            return Ok(());
        };
        let from = self.clients[s].mailbox;
        let to = if same { from } else { 1 - from };
        let verb = if moving { "MOVE" } else { "COPY" };
        let prefix = if uid { "UID " } else { "" };
        let command = format!("{prefix}{verb} {set} {}", MAILBOXES[to]);
        if moving && self.clients[s].heard.read_only {
            // RFC 6851 §3.3: MOVE expunges from the source, which EXAMINE forbids.
            let lines = self.command_ending(s, &command, "NO")?;
            return self.check_lines(s, &lines, false);
        }
        let lines = self.command(s, &command)?;
        let copyuid = lines.iter().find_map(|l| match l {
            Response::Code(c) | Response::Tagged { code: Some(c), .. } => c.strip_prefix("COPYUID "),
            _ => None,
        });
        let live: Vec<u32> = uids
            .into_iter()
            .filter(|u| self.boxes[from].is_live(*u))
            .collect();
        let (source, dest) = match copyuid {
            None => (Vec::new(), Vec::new()),
            Some(code) => {
                let parts: Vec<&str> = code.split(' ').collect();
                let [validity, source, dest] = parts[..] else {
                    return Err(format!("bad COPYUID {code}"));
                };
                if self.boxes[to]
                    .uidvalidity
                    .is_some_and(|v| v.to_string() != validity)
                {
                    return Err(format!("COPYUID {code}: not the destination's UIDVALIDITY"));
                }
                let bad = || format!("bad COPYUID {code}");
                (uid_set(source).ok_or_else(bad)?, uid_set(dest).ok_or_else(bad)?)
            }
        };
        if source != live || dest.len() != live.len() {
            return Err(format!("{verb} of {live:?}: COPYUID {source:?} -> {dest:?}"));
        }
        let order = self.boxes[to].tick();
        for (from_uid, to_uid) in source.iter().zip(&dest) {
            let flags = self.boxes[from]
                .find(*from_uid)
                .expect("live")
                .current()
                .flags
                .clone();
            self.boxes[to].append(*to_uid, flags, order)?;
        }
        if moving {
            self.boxes[from].tick();
            for message in &mut self.boxes[from].messages {
                message.expunged |= source.contains(&message.uid);
            }
        }
        self.check_lines(s, &lines, false)?;
        // Into the selected mailbox: the same response says the copies exist (RFC 9051
        // §7.4.1), so the client can use the COPYUID UIDs at once (issue 9 §1).
        let told = &self.clients[s].told;
        match dest.iter().find(|u| same && !told.iter().any(|t| t.uid == **u)) {
            Some(unheard) => Err(format!(
                "session {s}: {command} into the selected mailbox, no EXISTS for UID {unheard}"
            )),
            None => Ok(()),
        }
    }

    fn fetch(&mut self, s: usize, uid: bool) -> Checked {
        if self.clients[s].told.is_empty() {
            return Ok(());
        }
        // A CONDSTORE client asks for MODSEQ with the flags by UID (so it can order what
        // follows) and for the flags alone by sequence number: the server must then neither
        // roll the flags back with an older queued change nor lose the newer one.
        let items = if self.clients[s].level > Level::Off && uid {
            "(FLAGS MODSEQ)"
        } else {
            "(FLAGS)"
        };
        let prefix = if uid { "UID " } else { "" };
        let command = format!("{prefix}FETCH 1:* {items}");
        let asked: Vec<u32> = self.clients[s].told.iter().map(|t| t.uid).collect();
        let lines = self.command(s, &command)?;
        self.check_lines(s, &lines, !uid)?;
        self.fetched_current(s, &asked)
    }

    fn search(&mut self, s: usize, keys: &[usize], uid: bool) -> Checked {
        let keys: Vec<SearchKey> = keys.iter().map(|k| SEARCH_KEYS[k % SEARCH_KEYS.len()]).collect();
        let text: Vec<&str> = keys.iter().map(|k| k.0).collect();
        let text = text.join(" ");
        let prefix = if uid { "UID " } else { "" };
        let lines = self.command(s, &format!("{prefix}SEARCH {text}"))?;
        // The answer is about the messages as the client knew them when it was sent.
        let at = lines.iter().position(|l| matches!(l, Response::Search(_)));
        let at = at.ok_or(format!("session {s}: no * SEARCH in {lines:?}"))?;
        self.check_lines(s, &lines[..at], !uid)?;
        let Response::Search(found) = &lines[at] else {
            unreachable!("found above");
        };
        self.search_found(s, found, (&text, &keys), uid)?;
        self.check_lines(s, &lines[at..], !uid)
    }

    /// `found` holds exactly the live messages whose flags match every key, and maybe
    /// messages expunged elsewhere that the client has not heard of yet.
    fn search_found(
        &self,
        s: usize,
        found: &[u32],
        (text, keys): (&str, &[SearchKey]),
        uid: bool,
    ) -> Checked {
        let prefix = if uid { "UID " } else { "" };
        let client = &self.clients[s];
        let mailbox = &self.boxes[client.mailbox];
        let number = |i: usize, t: &Told| if uid { t.uid } else { i as u32 + 1 };
        for (i, told) in client.told.iter().enumerate() {
            let Some(message) = mailbox.find(told.uid).filter(|m| !m.expunged) else {
                continue; // expunged elsewhere, not yet told: either answer is right
            };
            let flags = &message.current().flags;
            let matches = keys.iter().all(|(_, flag, set)| flags.contains(*flag) == *set);
            if matches != found.contains(&number(i, told)) {
                return Err(format!(
                    "session {s}: {prefix}SEARCH {text} gave {found:?}; UID {} has {flags:?}",
                    told.uid,
                ));
            }
        }
        let known: Vec<u32> = client
            .told
            .iter()
            .enumerate()
            .map(|(i, t)| number(i, t))
            .collect();
        if let Some(stranger) = found.iter().find(|n| !known.contains(n)) {
            return Err(format!(
                "session {s}: SEARCH found {stranger}, unknown to the client"
            ));
        }
        Ok(())
    }

    fn idle(&mut self, s: usize, during: &[Step]) -> Checked {
        let tag = self.tag();
        self.clients[s]
            .session
            .handle_input(format!("{tag} IDLE\r\n").as_bytes());
        let lines = self.read(s)?;
        if !lines.contains(&Response::Continuation) {
            return Err(format!("session {s}: IDLE answered {lines:?}"));
        }
        self.check_lines(s, &lines, false)?;
        for step in during.iter().filter(|d| step_session(d) != Some(s)) {
            self.step(step)?;
            // RFC 9051 §6.3.13: changes are sent while the client IDLEs.
            let lines = self.read(s)?;
            self.check_lines(s, &lines, false)?;
            self.in_sync(s, "while IDLE")?;
        }
        self.clients[s].session.handle_input(b"DONE\r\n");
        let lines = self.read(s)?;
        match lines.last() {
            Some(Response::Tagged { tag: t, status, .. }) if *t == tag && status == "OK" => {}
            _ => return Err(format!("session {s}: DONE answered {lines:?}")),
        }
        self.check_lines(s, &lines, false)?;
        self.catch_up(s)?;
        self.in_sync(s, "after IDLE")
    }
}

/// A search key that tests one flag: its text, the flag, and whether the flag must be set.
type SearchKey = (&'static str, &'static str, bool);

/// The keys SEARCH steps combine (several keys are ANDed, RFC 9051 §6.4.4).
pub(crate) const SEARCH_KEYS: [SearchKey; 9] = [
    ("SEEN", "\\Seen", true),
    ("UNSEEN", "\\Seen", false),
    ("DELETED", "\\Deleted", true),
    ("FLAGGED", "\\Flagged", true),
    ("KEYWORD $Work", "$Work", true),
    ("NOT DELETED", "\\Deleted", false),
    ("UNFLAGGED", "\\Flagged", false),
    ("UNKEYWORD $Later", "$Later", false),
    ("KEYWORD Junk", "Junk", true),
];

/// The UIDs of the messages whose flags `lines` told, numbering them as the client did when
/// each line came (a UID STORE's response may expunge messages before a later FETCH).
fn flags_told_in(before: &[u32], lines: &[Response]) -> Vec<u32> {
    let mut numbering = before.to_vec();
    let mut told = Vec::new();
    for line in lines {
        match line {
            Response::Expunge(n) if (1..=numbering.len()).contains(n) => {
                numbering.remove(n - 1);
            }
            Response::Vanished { uids, .. } => numbering.retain(|u| !uids.contains(u)),
            Response::Fetch {
                seq,
                uid,
                flags: Some(_),
                ..
            } => told.extend(uid.or_else(|| numbering.get(seq.wrapping_sub(1)).copied())),
            _ => {}
        }
    }
    told
}

/// The selected session a step runs in (`None` for a delivery).
fn step_session(step: &Step) -> Option<usize> {
    match step {
        Step::Append { .. } => None,
        Step::Store { s, .. }
        | Step::Expunge { s, .. }
        | Step::Transfer { s, .. }
        | Step::Noop { s }
        | Step::Fetch { s, .. }
        | Step::Search { s, .. }
        | Step::Select { s }
        | Step::Idle { s, .. } => Some(*s),
    }
}

/// Every byte the session has to write now.
fn drain(session: &mut Session) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(output) = session.poll_output() {
        if let Output::Response { bytes, .. } = output {
            out.extend(bytes);
        }
    }
    out
}

/// With `SYNC_TRACE` set, prints what each session is sent and writes (for reading a failure).
fn trace(s: usize, bytes: &[u8]) {
    if std::env::var_os("SYNC_TRACE").is_some() {
        eprint!("[{s}] {}", String::from_utf8_lossy(bytes));
    }
}
