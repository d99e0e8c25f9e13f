//! `mailrig bench`: load generators and the numbers in `docs/performance.md`.
//!
//! `smtp.rs` loads an SMTP server, `imap.rs` an IMAP server; both start an in-process mailrig
//! unless given `--target`. This file holds what they share: the runtime, and reading resident
//! memory and the file-descriptor limit from `/proc`.

mod imap;
mod smtp;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Subcommand;

/// `mailrig bench` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Load an SMTP server: N sessions sending M messages of S bytes in total.
    Smtp(smtp::SmtpBench),
    /// Load an IMAP server: N sessions that SELECT INBOX, then run APPEND/FETCH/STORE/EXPUNGE; or hold
    /// idle authenticated connections and measure the server's memory.
    Imap(imap::ImapBench),
}

pub(crate) fn bench(command: BenchCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("runtime")?;
    match command {
        BenchCommand::Smtp(args) => runtime.block_on(smtp::smtp(args)),
        BenchCommand::Imap(args) => runtime.block_on(imap::imap(args)),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Resident memory of this process (`None`) or of `pid` and all its descendants, in KiB.
fn rss_kib(pid: Option<u32>) -> anyhow::Result<u64> {
    Ok(memory(pid)?.rss_kib)
}

/// Memory of a process tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Memory {
    /// Sum of `VmRSS` (pages shared between the processes count once per process).
    rss_kib: u64,
    /// Sum of `Pss` (shared pages divided among the processes sharing them); 0 if unreadable.
    pss_kib: u64,
    /// How many processes were summed.
    processes: usize,
}

/// Reads the memory of this process (`None`) or of `pid` and all its descendants (a
/// multi-process server such as Dovecot forks one process per connection or per group).
fn memory(pid: Option<u32>) -> anyhow::Result<Memory> {
    let pids = match pid {
        None => vec!["self".to_owned()],
        Some(root) => process_tree(root)?.iter().map(u32::to_string).collect(),
    };
    let mut total = Memory::default();
    for pid in pids {
        let path = format!("/proc/{pid}/status");
        let Ok(status) = std::fs::read_to_string(&path) else {
            continue; // exited meanwhile
        };
        total.rss_kib += status_kib(&status, "VmRSS").with_context(|| format!("no VmRSS in {path}"))?;
        let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        total.pss_kib += status_kib(&rollup, "Pss").unwrap_or(0);
        total.processes += 1;
    }
    if total.processes == 0 {
        bail!(
            "cannot read /proc/{}/status",
            pid.map_or("self".to_owned(), |p| p.to_string())
        );
    }
    Ok(total)
}

/// `root` and every process descended from it (by scanning `/proc/*/stat`).
fn process_tree(root: u32) -> anyhow::Result<Vec<u32>> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").context("cannot list /proc")? {
        let Ok(pid) = entry?.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Some(ppid) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| parent_pid(&stat))
        {
            parents.push((pid, ppid));
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(parents.iter().filter(|(_, p)| *p == parent).map(|(pid, _)| *pid));
        i += 1;
    }
    Ok(tree)
}

/// The parent PID from `/proc/PID/stat` text: `pid (comm) state ppid ...`, where `comm` may
/// itself contain spaces and parentheses.
fn parent_pid(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// A `Key:   1234 kB` value from `/proc/PID/status` or `smaps_rollup` text, in KiB.
fn status_kib(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Fails with advice unless this process may open `needed` file descriptors.
fn ensure_fd_limit(needed: u64) -> anyhow::Result<()> {
    let limits = std::fs::read_to_string("/proc/self/limits").context("cannot read /proc/self/limits")?;
    let Some((soft, hard)) = open_files_limit(&limits) else {
        return Ok(()); // unknown format: let the OS say no
    };
    if soft < needed {
        let advice = if hard >= needed {
            format!("raise it first, e.g. `ulimit -n {hard}`")
        } else {
            "the hard limit is too low too: use fewer connections, or `--target` with a \
             separate server (then only the client's sockets count here)"
                .to_owned()
        };
        bail!(
            "this run needs about {needed} file descriptors but the limit is {soft} (hard: {hard}); {advice}"
        );
    }
    Ok(())
}

/// The soft and hard `Max open files` from `/proc/self/limits` (`unlimited` = `u64::MAX`).
fn open_files_limit(limits: &str) -> Option<(u64, u64)> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut values = line["Max open files".len()..]
        .split_whitespace()
        .map(|v| match v {
            "unlimited" => Some(u64::MAX),
            v => v.parse().ok(),
        });
    Some((values.next()??, values.next()??))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_values_are_read_in_kib() {
        let status = "Name:\tmailrig\nVmPeak:\t  20000 kB\nVmRSS:\t   12345 kB\nRssAnon:\t 100 kB\n";
        assert_eq!(status_kib(status, "VmRSS"), Some(12345));
        assert_eq!(status_kib(status, "VmSwap"), None);
        let rollup =
            "55d0-7ffd ---p 00000000 00:00 0  [rollup]\nRss:  9000 kB\nPss:  4321 kB\nPss_Anon: 1 kB\n";
        assert_eq!(status_kib(rollup, "Pss"), Some(4321));
    }

    #[test]
    fn parent_pid_survives_odd_command_names() {
        assert_eq!(parent_pid("42 (imap) S 7 42 42 0 -1"), Some(7));
        assert_eq!(parent_pid("43 (dovecot/imap-login) S 9 1 1"), Some(9));
        assert_eq!(parent_pid("44 (a) b (c)) R 11 0"), Some(11));
        assert_eq!(parent_pid("garbage"), None);
    }

    #[test]
    fn open_files_limit_reads_soft_and_hard() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max processes             95000                95000                processes \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(open_files_limit(limits), Some((1024, 524_288)));
        let unlimited = "Max open files            unlimited            unlimited            files\n";
        assert_eq!(open_files_limit(unlimited), Some((u64::MAX, u64::MAX)));
        assert_eq!(open_files_limit("nothing here"), None);
    }
}
