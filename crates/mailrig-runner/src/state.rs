//! The state each scenario can rely on, on any target: its own fresh mailbox `${mailbox}`,
//! created through IMAP before it runs and removed after it (with every `${mailbox}…` mailbox
//! the scenario left behind), and its fixture loaded into that mailbox through IMAP APPEND.
//!
//! A fixture (`docs/fixtures.md`) is mapped onto the run's accounts: its first user's mail
//! goes to the first account (`${user}`), its second user's to the second (`${user2}`). Its
//! INBOX becomes `${mailbox}` and any other mailbox `NAME` becomes `${mailbox}-NAME`, with `/`
//! replaced by the server's hierarchy delimiter. What IMAP cannot reproduce (a special-use
//! mailbox without CREATE-SPECIAL-USE, a date APPEND cannot carry, more users than accounts)
//! is a reason to skip; docs/runner.md lists the rules.

use std::path::Path;
use std::time::Duration;

use mailrig_store::fixture::{MessageSource, Seed};
use mailrig_store::{Flags, SpecialUse, Store, maildir_flags, parse_mbox};
use tokio_rustls::TlsConnector;

use crate::admin::{Admin, AdminError, parse_list, quote};
use crate::suite::Account;
use crate::target::Endpoint;

/// Why a scenario's state could not be prepared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unprepared {
    /// The state cannot be reproduced on this target: the scenario is skipped with this reason.
    #[error("{0}")]
    Skip(String),
    /// Preparing failed (a bad fixture, a refused command): a harness error.
    #[error("{0}")]
    Error(String),
}

/// What a fixture puts into one account, in loading order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountLoad {
    /// Mailboxes to create (fixture names, parents before children), with their special use
    /// and whether to subscribe them.
    pub mailboxes: Vec<(String, Option<SpecialUse>, bool)>,
    /// Messages to append, in fixture order.
    pub messages: Vec<LoadMessage>,
}

/// One message to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadMessage {
    /// The fixture's mailbox name.
    pub mailbox: String,
    /// The message, byte for byte.
    pub bytes: Vec<u8>,
    /// Its flags.
    pub flags: Flags,
    /// Its internal date, unix seconds.
    pub internal_date: i64,
}

/// Reads the fixture at `path` and plans loading it into `accounts` accounts of a server
/// advertising `imap_caps`: one [`AccountLoad`] per fixture user that has anything to load.
pub fn plan_fixture(
    path: &Path,
    accounts: usize,
    imap_caps: &[String],
) -> Result<Vec<AccountLoad>, Unprepared> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Unprepared::Error(format!("cannot read fixture {shown}: {e}")))?;
    let seed = Seed::from_toml(&text).map_err(|e| Unprepared::Error(format!("fixture {shown}: {e}")))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let load = |file: &str| std::fs::read(dir.join(file)).map_err(|e| e.to_string());
    // Applying it to an empty store checks it exactly as mailrig's own servers would.
    Store::new()
        .apply(&seed, load)
        .map_err(|e| Unprepared::Error(format!("fixture {shown}: {e}")))?;
    let plan = plan_seed(&seed, load, imap_caps)?;
    if plan.len() > accounts {
        return Err(Unprepared::Skip(format!(
            "the fixture fills the mailboxes of {} users but the target has {accounts} account(s) (give --user for each)",
            plan.len()
        )));
    }
    Ok(plan)
}

/// The plan for a checked seed (see [`plan_fixture`]).
pub fn plan_seed(
    seed: &Seed,
    mut load: impl FnMut(&str) -> Result<Vec<u8>, String>,
    imap_caps: &[String],
) -> Result<Vec<AccountLoad>, Unprepared> {
    let index = |login: &str| {
        seed.users
            .iter()
            .position(|u| u.login == login)
            .ok_or_else(|| Unprepared::Error(format!("fixture: unknown user {login:?}")))
    };
    let mut plan: Vec<AccountLoad> = Vec::new();
    for mailbox in &seed.mailboxes {
        check_name(&mailbox.name)?;
        if let Some(special_use) = mailbox.special_use
            && !imap_caps
                .iter()
                .any(|c| c.eq_ignore_ascii_case("CREATE-SPECIAL-USE"))
        {
            return Err(Unprepared::Skip(format!(
                "the fixture creates {:?} with special use {}, and the target does not advertise CREATE-SPECIAL-USE (RFC 6154 §3)",
                mailbox.name,
                special_use.as_str()
            )));
        }
        let account = slot(&mut plan, index(&mailbox.user)?);
        add_mailbox(account, &mailbox.name, mailbox.special_use, mailbox.subscribed);
    }
    for message in &seed.messages {
        check_name(&message.mailbox)?;
        let account = slot(&mut plan, index(&message.user)?);
        add_mailbox(account, &message.mailbox, None, true);
        for (bytes, flags) in bodies(&message.source, &message.flags, &mut load)? {
            if imap_date(message.internal_date).is_none() {
                return Err(Unprepared::Skip(format!(
                    "the fixture gives internal_date = {}, which an IMAP APPEND date-time cannot carry (years 1 to 9999)",
                    message.internal_date
                )));
            }
            account.messages.push(LoadMessage {
                mailbox: message.mailbox.clone(),
                bytes,
                flags,
                internal_date: message.internal_date,
            });
        }
    }
    Ok(plan)
}

/// The plan of the `i`-th fixture user, added if missing.
fn slot(plan: &mut Vec<AccountLoad>, i: usize) -> &mut AccountLoad {
    if plan.len() <= i {
        plan.resize_with(i + 1, AccountLoad::default);
    }
    &mut plan[i]
}

/// The messages of one `[[messages]]` entry with their flags (a maildir name adds some).
fn bodies(
    source: &MessageSource,
    flags: &Flags,
    load: &mut impl FnMut(&str) -> Result<Vec<u8>, String>,
) -> Result<Vec<(Vec<u8>, Flags)>, Unprepared> {
    let read = |load: &mut dyn FnMut(&str) -> Result<Vec<u8>, String>, file: &str| {
        load(file).map_err(|e| Unprepared::Error(format!("fixture: cannot read {file}: {e}")))
    };
    Ok(match source {
        MessageSource::Raw(raw) => vec![(raw.clone(), flags.clone())],
        MessageSource::File(file) => {
            let mut flags = flags.clone();
            flags.extend(maildir_flags(file).iter());
            vec![(read(load, file)?, flags)]
        }
        MessageSource::Mbox(file) => parse_mbox(&read(load, file)?)
            .into_iter()
            .map(|m| (m, flags.clone()))
            .collect(),
    })
}

/// Adds `name` and its missing parents to the account's mailboxes, unless it is INBOX (that
/// is `${mailbox}`, created anyway) or there already.
fn add_mailbox(account: &mut AccountLoad, name: &str, special_use: Option<SpecialUse>, subscribed: bool) {
    let levels: Vec<&str> = name.split('/').collect();
    for depth in 1..=levels.len() {
        let path = levels[..depth].join("/");
        if is_inbox(&path) || account.mailboxes.iter().any(|(n, _, _)| *n == path) {
            continue;
        }
        let last = depth == levels.len();
        let use_here = if last { special_use } else { None };
        account.mailboxes.push((path, use_here, last && subscribed));
    }
}

fn is_inbox(name: &str) -> bool {
    name.eq_ignore_ascii_case("INBOX")
}

/// Mailbox names must be ASCII: mailrig does not encode modified UTF-7 or negotiate UTF8=ACCEPT.
fn check_name(name: &str) -> Result<(), Unprepared> {
    if name.is_ascii() {
        return Ok(());
    }
    Err(Unprepared::Skip(format!(
        "the fixture's mailbox {name:?} is not ASCII; mailrig loads fixtures only into ASCII-named mailboxes"
    )))
}

/// The target's name for the fixture's mailbox `name`: INBOX is `mailbox`, `A/B` is
/// `mailbox-A` + delimiter + `B`, `INBOX/B` is `mailbox` + delimiter + `B`.
pub fn target_name(mailbox: &str, name: &str, delimiter: Option<char>) -> Result<String, Unprepared> {
    let mut levels = name.split('/');
    let first = levels.next().unwrap_or_default();
    let rest: Vec<&str> = levels.collect();
    let mut out = if is_inbox(first) {
        mailbox.to_owned()
    } else {
        format!("{mailbox}-{first}")
    };
    if rest.is_empty() && delimiter.is_none_or(|d| !first.contains(d)) {
        return Ok(out);
    }
    let Some(delimiter) = delimiter else {
        return Err(Unprepared::Skip(format!(
            "the fixture's mailbox {name:?} has levels, and the target's mailboxes have none (no hierarchy delimiter)"
        )));
    };
    if name.contains(delimiter) && delimiter != '/' {
        return Err(Unprepared::Skip(format!(
            "the fixture's mailbox {name:?} contains the target's hierarchy delimiter {delimiter:?}"
        )));
    }
    for level in rest {
        out.push(delimiter);
        out.push_str(level);
    }
    Ok(out)
}

/// An IMAP date-time (RFC 9051 §9 `date-time`, quoted) for unix seconds, in UTC; None
/// outside the years 1 to 9999 that its four-digit year can carry.
pub fn imap_date(seconds: i64) -> Option<String> {
    // 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z.
    const FIRST: i64 = -62_135_596_800;
    const END: i64 = 253_402_300_800;
    (FIRST..END)
        .contains(&seconds)
        .then(|| mailrig_imap::date_time(seconds))
}

/// Where and how to reach the IMAP server for preparing and cleaning up.
#[derive(Clone)]
pub struct Access<'a> {
    /// The IMAP endpoint (implicit TLS, or STARTTLS when offered).
    pub endpoint: &'a Endpoint,
    /// TLS trust.
    pub tls: &'a TlsConnector,
    /// How long to wait for each answer.
    pub limit: Duration,
}

impl std::fmt::Debug for Access<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Access({})", self.endpoint)
    }
}

/// Creates `mailbox` in the first account (and in each account the fixture fills) and loads
/// `plan`. On failure, whatever was created is still for [`clean_up`] to remove.
pub async fn prepare(
    access: &Access<'_>,
    accounts: &[Account],
    mailbox: &str,
    plan: &[AccountLoad],
) -> Result<(), Unprepared> {
    let empty = AccountLoad::default();
    for i in 0..plan.len().max(1) {
        let account = accounts.get(i).ok_or_else(|| {
            Unprepared::Skip("no account to prepare the mailbox in (give --user)".to_owned())
        })?;
        let load = plan.get(i).unwrap_or(&empty);
        prepare_account(access, account, mailbox, load).await?;
    }
    Ok(())
}

async fn prepare_account(
    access: &Access<'_>,
    account: &Account,
    mailbox: &str,
    load: &AccountLoad,
) -> Result<(), Unprepared> {
    let failed = |e: AdminError| Unprepared::Error(format!("preparing {mailbox} for {}: {e}", account.login));
    let mut admin = Admin::login(
        access.endpoint,
        access.tls,
        &account.login,
        &account.password,
        access.limit,
    )
    .await
    .map_err(failed)?;
    let result = load_into(&mut admin, mailbox, load).await;
    admin.logout().await;
    result.map_err(|e| match e {
        LoadError::Admin(e) => failed(e),
        LoadError::Unprepared(u) => u,
    })
}

enum LoadError {
    Admin(AdminError),
    Unprepared(Unprepared),
}

impl From<AdminError> for LoadError {
    fn from(e: AdminError) -> Self {
        LoadError::Admin(e)
    }
}

async fn load_into(admin: &mut Admin, mailbox: &str, load: &AccountLoad) -> Result<(), LoadError> {
    admin.run(&format!("CREATE {}", quote(mailbox))).await?;
    let delimiter = if load.mailboxes.iter().any(|(n, _, _)| n.contains('/')) {
        delimiter(admin).await?
    } else {
        None
    };
    let name = |n: &str| target_name(mailbox, n, delimiter).map_err(LoadError::Unprepared);
    for (fixture_name, special_use, subscribed) in &load.mailboxes {
        let target = quote(&name(fixture_name)?);
        match special_use {
            Some(u) => {
                admin
                    .run(&format!("CREATE {target} (USE ({}))", u.as_str()))
                    .await?
            }
            None => admin.run(&format!("CREATE {target}")).await?,
        };
        if *subscribed {
            admin.run(&format!("SUBSCRIBE {target}")).await?;
        }
    }
    for message in &load.messages {
        let target = quote(&name(&message.mailbox)?);
        let date = imap_date(message.internal_date).unwrap_or_default();
        let head = format!("APPEND {target} ({}) {date}", message.flags);
        admin.append(&head, &message.bytes).await?;
    }
    Ok(())
}

/// The hierarchy delimiter (`LIST "" ""`), None when the server has none.
async fn delimiter(admin: &mut Admin) -> Result<Option<char>, AdminError> {
    let responses = admin.run("LIST \"\" \"\"").await?;
    Ok(responses
        .iter()
        .find_map(|r| parse_list(r))
        .and_then(|l| l.delimiter))
}

/// Removes `mailbox` and every mailbox whose name continues it (`${mailbox}-x`,
/// `${mailbox}.x`, but not `${mailbox}7`, another scenario's) from the first `count`
/// accounts, children first, and unsubscribes them. Err lists what could not be removed.
pub async fn clean_up(
    access: &Access<'_>,
    accounts: &[Account],
    mailbox: &str,
    count: usize,
) -> Result<(), String> {
    let mut problems = Vec::new();
    for account in accounts.iter().take(count.max(1)) {
        if let Err(e) = clean_account(access, account, mailbox).await {
            problems.push(format!("{}: {e}", account.login));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("cleaning up {mailbox}: {}", problems.join("; ")))
    }
}

async fn clean_account(access: &Access<'_>, account: &Account, mailbox: &str) -> Result<(), String> {
    let mut admin = Admin::login(
        access.endpoint,
        access.tls,
        &account.login,
        &account.password,
        access.limit,
    )
    .await
    .map_err(|e| e.to_string())?;
    let result = remove_all(&mut admin, mailbox).await;
    admin.logout().await;
    result
}

async fn remove_all(admin: &mut Admin, mailbox: &str) -> Result<(), String> {
    let pattern = quote(&format!("{mailbox}*"));
    for name in deletion_order(mailbox, &listed(admin, "LIST", &pattern).await?) {
        // A parent that only exists through its children may refuse; the LIST below tells.
        drop(admin.run(&format!("DELETE {}", quote(&name))).await);
    }
    for name in deletion_order(mailbox, &listed(admin, "LSUB", &pattern).await?) {
        drop(admin.run(&format!("UNSUBSCRIBE {}", quote(&name))).await);
    }
    let left = deletion_order(mailbox, &listed(admin, "LIST", &pattern).await?);
    if left.is_empty() {
        Ok(())
    } else {
        Err(format!("still there: {}", left.join(", ")))
    }
}

async fn listed(admin: &mut Admin, command: &str, pattern: &str) -> Result<Vec<String>, String> {
    let responses = admin
        .run(&format!("{command} \"\" {pattern}"))
        .await
        .map_err(|e| e.to_string())?;
    Ok(responses
        .iter()
        .filter_map(|r| parse_list(r))
        .map(|l| l.name)
        .collect())
}

/// The names that belong to `mailbox` (itself, or it followed by anything but a digit),
/// longest first, so children go before their parents.
pub fn deletion_order(mailbox: &str, names: &[String]) -> Vec<String> {
    let mut mine: Vec<String> = names
        .iter()
        .filter(|n| {
            n.strip_prefix(mailbox)
                .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .cloned()
        .collect();
    mine.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    mine.dedup();
    mine
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn children_are_deleted_first_and_other_scenarios_mailboxes_never() {
        let found = names(&["m-1", "m-1-tree", "m-1-tree.child", "m-12", "m-1.x", "other"]);
        assert_eq!(
            deletion_order("m-1", &found),
            names(&["m-1-tree.child", "m-1-tree", "m-1.x", "m-1"])
        );
        assert!(deletion_order("m-1", &names(&["m-10", "m-19-x"])).is_empty());
    }

    #[test]
    fn fixture_names_map_under_the_scenario_mailbox() {
        let name = |n, d| target_name("mb", n, d);
        assert_eq!(name("INBOX", Some('.')), Ok("mb".into()));
        assert_eq!(name("inbox", None), Ok("mb".into()));
        assert_eq!(name("Archive", None), Ok("mb-Archive".into()));
        assert_eq!(name("Archive/2026", Some('.')), Ok("mb-Archive.2026".into()));
        assert_eq!(name("INBOX/sub", Some('/')), Ok("mb/sub".into()));
        assert!(matches!(name("Archive/2026", None), Err(Unprepared::Skip(_))));
        assert!(matches!(name("v1.2", Some('.')), Err(Unprepared::Skip(_))));
    }

    #[test]
    fn dates_in_imap_form() {
        assert_eq!(imap_date(0).as_deref(), Some("\" 1-Jan-1970 00:00:00 +0000\""));
        assert_eq!(
            imap_date(1_767_225_600).as_deref(),
            Some("\" 1-Jan-2026 00:00:00 +0000\"")
        );
        assert_eq!(
            imap_date(951_782_400 + 3_723).as_deref(),
            Some("\"29-Feb-2000 01:02:03 +0000\"")
        );
        assert_eq!(
            imap_date(-86_400).as_deref(),
            Some("\"31-Dec-1969 00:00:00 +0000\"")
        );
        assert!(imap_date(-62_135_596_800).is_some(), "the first second of year 1");
        assert_eq!(imap_date(-62_135_596_801), None, "the second before year 1");
        assert_eq!(imap_date(253_402_300_800), None, "year 10000");
    }

    fn seed(toml: &str) -> Seed {
        Seed::from_toml(toml).expect("valid fixture")
    }

    const USERS: &str =
        "[[users]]\nlogin = \"a\"\npassword = \"p\"\n[[users]]\nlogin = \"b\"\npassword = \"p\"\n";

    #[test]
    fn a_plan_keeps_order_creates_parents_and_maps_users_by_position() {
        let toml = format!(
            "{USERS}[[mailboxes]]\nuser = \"a\"\nname = \"Archive/2026\"\nsubscribed = false\n\
             [[messages]]\nuser = \"b\"\nraw = \"Subject: 1\\n\\nx\\n\"\nflags = [\"\\\\Seen\"]\ninternal_date = 60\n\
             [[messages]]\nuser = \"a\"\nmailbox = \"Sent\"\nfile = \"m:2,F\"\n"
        );
        let plan = plan_seed(&seed(&toml), |_| Ok(b"Subject: 2\r\n\r\ny\r\n".to_vec()), &[]).expect("a plan");
        assert_eq!(plan.len(), 2);
        let mailboxes: Vec<(&str, bool)> = plan[0]
            .mailboxes
            .iter()
            .map(|(n, _, s)| (n.as_str(), *s))
            .collect();
        assert_eq!(
            mailboxes,
            [("Archive", false), ("Archive/2026", false), ("Sent", true)]
        );
        assert_eq!(plan[0].messages[0].flags.to_string(), "\\Flagged");
        assert_eq!(plan[1].mailboxes, []);
        assert_eq!(plan[1].messages[0].bytes, b"Subject: 1\r\n\r\nx\r\n");
        assert_eq!(plan[1].messages[0].internal_date, 60);
        assert_eq!(plan[1].messages[0].flags.to_string(), "\\Seen");
    }

    #[test]
    fn what_imap_cannot_reproduce_is_a_skip() {
        let special =
            format!("{USERS}[[mailboxes]]\nuser = \"a\"\nname = \"Old\"\nspecial_use = \"\\\\Archive\"\n");
        let skipped = plan_seed(&seed(&special), |_| Ok(Vec::new()), &[]);
        assert!(
            matches!(&skipped, Err(Unprepared::Skip(r)) if r.contains("CREATE-SPECIAL-USE")),
            "{skipped:?}"
        );
        let advertised = ["CREATE-SPECIAL-USE".to_owned()];
        assert!(plan_seed(&seed(&special), |_| Ok(Vec::new()), &advertised).is_ok());
        let old = format!("{USERS}[[messages]]\nuser = \"a\"\nraw = \"x\"\ninternal_date = -62135596801\n");
        assert!(matches!(
            plan_seed(&seed(&old), |_| Ok(Vec::new()), &[]),
            Err(Unprepared::Skip(_))
        ));
        let utf8 = format!("{USERS}[[mailboxes]]\nuser = \"a\"\nname = \"Entwürfe\"\n");
        assert!(matches!(
            plan_seed(&seed(&utf8), |_| Ok(Vec::new()), &[]),
            Err(Unprepared::Skip(_))
        ));
    }
}
