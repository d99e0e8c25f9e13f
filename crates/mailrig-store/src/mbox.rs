//! Message files from other tools, parsed without I/O: mbox (mboxo and mboxrd, RFC 4155) and
//! maildir file-name flags (the `:2,` info suffix of the maildir specification).

use crate::{Flag, Flags, Keyword};

/// Splits an mbox file into messages (mboxo and mboxrd, RFC 4155).
///
/// A line starting with `From ` at the start of the file or after a blank line begins a
/// message (the `From ` line itself is dropped, and so is the blank line before the next
/// one). A quoted `>From ` line (`>>From `, ...) loses one `>`. Every line ends in CRLF in
/// the result, whether the file used LF or CRLF. Bytes before the first `From ` line are
/// ignored.
pub fn parse_mbox(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    let mut previous_blank = true;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if previous_blank && content.starts_with(b"From ") {
            messages.extend(current.take().map(finish_message));
            current = Some(Vec::new());
            previous_blank = false;
            continue;
        }
        previous_blank = content.is_empty();
        let Some(message) = current.as_mut() else {
            continue;
        };
        message.extend_from_slice(unquote(content));
        message.extend_from_slice(b"\r\n");
    }
    messages.extend(current.map(finish_message));
    messages
}

/// The flags in a maildir file name's info suffix: `1700000000.M1P2.host:2,FS` →
/// `\Flagged \Seen`. `S` is `\Seen`, `R` `\Answered`, `F` `\Flagged`, `T` `\Deleted`, `D`
/// `\Draft` and `P` (passed) `$Forwarded`; other letters (Dovecot's keyword letters `a`–`z`)
/// are ignored. `!2,` is accepted too, for file systems where `:` is not allowed. A name
/// without the suffix has no flags. Directories in front of the name are ignored.
pub fn maildir_flags(filename: &str) -> Flags {
    let name = filename.rsplit(['/', '\\']).next().unwrap_or(filename);
    let info = name
        .rfind(":2,")
        .or_else(|| name.rfind("!2,"))
        .map_or("", |at| &name[at + 3..]);
    info.chars()
        .filter_map(|letter| match letter {
            'S' => Some(Flag::Seen),
            'R' => Some(Flag::Answered),
            'F' => Some(Flag::Flagged),
            'T' => Some(Flag::Deleted),
            'D' => Some(Flag::Draft),
            'P' => Keyword::new("$Forwarded").ok().map(Flag::Keyword),
            _ => None,
        })
        .collect()
}

/// Turns bare LF into CRLF; CRLF stays.
pub(crate) fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32);
    let mut previous = 0u8;
    for &b in bytes {
        if b == b'\n' && previous != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        previous = b;
    }
    out
}

/// `>From ` → `From `, `>>From ` → `>From `, ...; other lines stay.
fn unquote(line: &[u8]) -> &[u8] {
    match line.iter().position(|b| *b != b'>') {
        Some(n) if n > 0 && line[n..].starts_with(b"From ") => &line[1..],
        _ => line,
    }
}

/// Drops the blank line that separates a message from the next `From ` line.
fn finish_message(mut message: Vec<u8>) -> Vec<u8> {
    if message.ends_with(b"\r\n\r\n") {
        message.truncate(message.len() - 2);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_splits_and_unescapes() {
        let mbox = b"From a@b Mon Jan  1 00:00:00 2024\r\nSubject: 1\r\n\r\n>From here\r\nbody\r\n\r\n\
            From c@d Mon Jan  1 00:00:00 2024\r\nSubject: 2\r\n\r\n>>From quoted twice\r\n";
        let messages = parse_mbox(mbox);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0], b"Subject: 1\r\n\r\nFrom here\r\nbody\r\n");
        assert_eq!(messages[1], b"Subject: 2\r\n\r\n>From quoted twice\r\n");
    }

    #[test]
    fn bare_lf_mbox_becomes_crlf() {
        let mbox = b"From a@b Mon Jan  1 00:00:00 2024\nSubject: 1\n\nline one\nFrom inside a paragraph\n\n\
            From c@d Mon Jan  1 00:00:00 2024\nSubject: 2\n\nbye\n";
        let messages = parse_mbox(mbox);
        assert_eq!(
            messages,
            [
                b"Subject: 1\r\n\r\nline one\r\nFrom inside a paragraph\r\n".to_vec(),
                b"Subject: 2\r\n\r\nbye\r\n".to_vec(),
            ]
        );
    }

    #[test]
    fn mbox_edge_cases() {
        assert!(parse_mbox(b"").is_empty());
        assert!(parse_mbox(b"no From line here\n").is_empty());
        assert_eq!(parse_mbox(b"junk\n\nFrom x\nA: b\n"), [b"A: b\r\n".to_vec()]);
        // A line that merely mentions From keeps its quoting.
        assert_eq!(
            parse_mbox(b"From x\n\n>Fromage\n"),
            [b"\r\n>Fromage\r\n".to_vec()]
        );
    }

    #[test]
    fn maildir_suffix_gives_flags() {
        assert_eq!(
            maildir_flags("cur/1700000000.M1P2.host,S=42:2,FRS").to_string(),
            "\\Seen \\Answered \\Flagged"
        );
        assert_eq!(
            maildir_flags("1.host!2,TDP").to_string(),
            "\\Deleted \\Draft $Forwarded"
        );
        assert_eq!(maildir_flags("1.host:2,ab").to_string(), "");
        assert!(maildir_flags("new/1700000000.M1P2.host").is_empty());
        assert!(maildir_flags("dir:2,S/plain.eml").is_empty());
    }

    #[test]
    fn crlf_only_fixes_bare_lf() {
        assert_eq!(crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
        assert_eq!(crlf(b"\n"), b"\r\n");
        assert_eq!(crlf(b"no newline"), b"no newline");
    }
}
