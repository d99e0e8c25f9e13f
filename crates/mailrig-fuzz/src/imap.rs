//! Byte-level rewrites of one IMAP server line that keep its meaning (RFC 9051 §9 grammar):
//! FETCH items in another order (§7.5.2), a string as a literal instead of quoted (§4.3),
//! CAPABILITY words in another order (§7.2.2), another case for the response keyword (§9:
//! atoms are case-insensitive). Each returns `None` when the line has nothing to rewrite, so
//! a mutation aimed at the wrong line is a no-op, never an illegal response.

/// The byte ranges of the top-level values of a parenthesized list starting at `open` (the
/// `(`), and the index of its `)`.
fn list_items(line: &[u8], open: usize) -> Option<(Vec<(usize, usize)>, usize)> {
    let mut items = Vec::new();
    let mut at = open + 1;
    loop {
        match line.get(at)? {
            b')' => return Some((items, at)),
            b' ' => at += 1,
            _ => {
                let end = value_end(line, at)?;
                items.push((at, end));
                at = end;
            }
        }
    }
}

/// Where the value starting at `at` ends: a quoted string, a literal with its data, a
/// parenthesized list, or an atom-like run (brackets included, as in `BODY[HEADER]<0>`).
fn value_end(line: &[u8], at: usize) -> Option<usize> {
    match line.get(at)? {
        b'"' => {
            let mut i = at + 1;
            loop {
                match line.get(i)? {
                    b'\\' => i += 2,
                    b'"' => return Some(i + 1),
                    _ => i += 1,
                }
            }
        }
        b'{' => {
            let close = at + line[at..].iter().position(|b| *b == b'}')?;
            let count: usize = std::str::from_utf8(&line[at + 1..close]).ok()?.parse().ok()?;
            let start = close + 3;
            (line.get(close + 1..start)? == b"\r\n" && start + count <= line.len()).then_some(start + count)
        }
        b'(' => list_items(line, at).map(|(_, close)| close + 1),
        _ => {
            let mut depth = 0usize;
            let mut i = at;
            while let Some(b) = line.get(i) {
                match b {
                    b'[' => depth += 1,
                    b']' => depth = depth.saturating_sub(1),
                    b' ' | b')' if depth == 0 => break,
                    _ => {}
                }
                i += 1;
            }
            Some(i)
        }
    }
}

/// The position of the `(` opening a `* N FETCH (...)` line's items.
fn fetch_open(line: &[u8]) -> Option<usize> {
    let rest = line.strip_prefix(b"* ")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let after = rest.get(digits..)?;
    (digits > 0 && after.len() >= 8 && after[..8].eq_ignore_ascii_case(b" FETCH (")).then_some(2 + digits + 7)
}

/// Whether the line is a `* LIST` or `* LSUB` response.
pub(crate) fn is_list(line: &[u8]) -> bool {
    line.len() > 7
        && (line[..7].eq_ignore_ascii_case(b"* LIST ") || line[..7].eq_ignore_ascii_case(b"* LSUB "))
}

/// The FETCH items (name and value pairs) of a FETCH line in the order `swaps` makes.
pub(crate) fn permute_fetch(line: &[u8], swaps: &[(u8, u8)]) -> Option<Vec<u8>> {
    let open = fetch_open(line)?;
    let (values, close) = list_items(line, open)?;
    if values.len() < 4 || values.len() % 2 != 0 {
        return None;
    }
    let mut pairs: Vec<(usize, usize)> = values.chunks(2).map(|p| (p[0].0, p[1].1)).collect();
    apply_swaps(&mut pairs, swaps);
    let mut out = line[..=open].to_vec();
    let joined: Vec<&[u8]> = pairs.iter().map(|(s, e)| &line[*s..*e]).collect();
    out.extend_from_slice(&joined.join(&b' '));
    out.extend_from_slice(&line[close..]);
    Some(out)
}

/// The words of a `* CAPABILITY` response or of a `[CAPABILITY ...]` code in the order
/// `swaps` makes.
pub(crate) fn permute_capability(line: &[u8], swaps: &[(u8, u8)]) -> Option<Vec<u8>> {
    let upper = line.to_ascii_uppercase();
    let (start, end) = if upper.starts_with(b"* CAPABILITY ") {
        (13, line.len())
    } else {
        let code = find(&upper, b"[CAPABILITY ")? + 12;
        (code, code + line[code..].iter().position(|b| *b == b']')?)
    };
    let mut words: Vec<&[u8]> = line[start..end].split(|b| *b == b' ').collect();
    if words.len() < 2 {
        return None;
    }
    apply_swaps(&mut words, swaps);
    let mut out = line[..start].to_vec();
    out.extend_from_slice(&words.join(&b' '));
    out.extend_from_slice(&line[end..]);
    Some(out)
}

/// The capability words of a line, if it carries a CAPABILITY response or code.
pub(crate) fn capability_words(line: &[u8]) -> Option<Vec<u8>> {
    let upper = line.to_ascii_uppercase();
    if upper.starts_with(b"* CAPABILITY ") {
        return Some(line[13..].to_vec());
    }
    let code = find(&upper, b"[CAPABILITY ")? + 12;
    let end = code + line[code..].iter().position(|b| *b == b']')?;
    Some(line[code..end].to_vec())
}

/// The line with one of its strings written as a literal: in a FETCH line the `nth` quoted
/// string (counting modulo how many there are, brackets skipped); in a LIST or LSUB line the
/// mailbox name (quoted or atom).
pub(crate) fn literal_string(line: &[u8], nth: usize) -> Option<Vec<u8>> {
    let (start, end) = if is_list(line) {
        list_mailbox(line)?
    } else {
        let open = fetch_open(line)?;
        let mut quoted = Vec::new();
        collect_quoted(line, open, &mut quoted)?;
        *quoted.get(nth % quoted.len().max(1))?
    };
    let token = &line[start..end];
    let content = if token.first() == Some(&b'"') {
        unquote(&token[1..token.len() - 1])
    } else if token.first() == Some(&b'{') || token.eq_ignore_ascii_case(b"NIL") {
        return None;
    } else {
        token.to_vec()
    };
    let mut out = line[..start].to_vec();
    out.extend_from_slice(format!("{{{}}}\r\n", content.len()).as_bytes());
    out.extend_from_slice(&content);
    out.extend_from_slice(&line[end..]);
    Some(out)
}

/// The mailbox of `* LIST (attrs) delim mailbox`: the third value after `* LIST `.
fn list_mailbox(line: &[u8]) -> Option<(usize, usize)> {
    let mut at = 7;
    for _ in 0..2 {
        at = value_end(line, at)?;
        (line.get(at) == Some(&b' ')).then_some(())?;
        at += 1;
    }
    Some((at, value_end(line, at)?))
}

/// Every quoted string inside the list at `open`, depth first.
fn collect_quoted(line: &[u8], open: usize, out: &mut Vec<(usize, usize)>) -> Option<()> {
    let (items, _) = list_items(line, open)?;
    for (start, end) in items {
        match line[start] {
            b'"' => out.push((start, end)),
            b'(' => collect_quoted(line, start, out)?,
            _ => {}
        }
    }
    Some(())
}

fn unquote(inner: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(inner.len());
    let mut escaped = false;
    for b in inner {
        if !escaped && *b == b'\\' {
            escaped = true;
            continue;
        }
        escaped = false;
        out.push(*b);
    }
    out
}

/// The line with the keyword after `* ` or `* N ` (the response's name or status word)
/// lower-cased, or in alternating case.
pub(crate) fn keyword_case(line: &[u8], alternate: bool) -> Option<Vec<u8>> {
    let rest = line.strip_prefix(b"* ")?;
    let mut start = 2;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0 {
        start += digits + 1;
    }
    let mut out = line.to_vec();
    recase_word(out.get_mut(start..)?, alternate);
    (out != line).then_some(out)
}

/// Lower-cases (or alternates the case of) the leading alphabetic word of `text`.
pub(crate) fn recase_word(text: &mut [u8], alternate: bool) {
    for (i, b) in text
        .iter_mut()
        .take_while(|b| b.is_ascii_alphabetic())
        .enumerate()
    {
        *b = if alternate && i % 2 == 0 {
            b.to_ascii_uppercase()
        } else {
            b.to_ascii_lowercase()
        };
    }
}

/// Applies transpositions, each index taken modulo the length.
pub(crate) fn apply_swaps<T>(items: &mut [T], swaps: &[(u8, u8)]) {
    let n = items.len();
    if n < 2 {
        return;
    }
    for (a, b) in swaps {
        items.swap(usize::from(*a) % n, usize::from(*b) % n);
    }
}

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The first literal announcement `{N}` followed by CRLF: the range of N's digits.
pub(crate) fn first_literal_count(line: &[u8]) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(open) = line[from..].iter().position(|b| *b == b'{').map(|p| p + from) {
        let digits = line[open + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        let close = open + 1 + digits;
        if digits > 0 && line.get(close..close + 3) == Some(b"}\r\n") {
            return Some((open + 1, close));
        }
        from = open + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const FETCH: &[u8] = b"* 1 FETCH (UID 1 FLAGS (\\Seen) BODY[] {5}\r\nhello)";

    #[test]
    fn fetch_items_are_permuted_as_pairs() {
        let out = permute_fetch(FETCH, &[(0, 2)]).expect("a fetch line");
        assert_eq!(out, b"* 1 FETCH (BODY[] {5}\r\nhello FLAGS (\\Seen) UID 1)");
        assert_eq!(permute_fetch(b"* 1 FETCH (UID 1)", &[(0, 1)]), None);
        assert_eq!(permute_fetch(b"* 2 EXISTS", &[(0, 1)]), None);
    }

    #[test]
    fn strings_become_literals() {
        let list = b"* LIST (\\HasNoChildren) \"/\" \"Sent Items\"";
        assert_eq!(
            literal_string(list, 0).expect("a list line"),
            b"* LIST (\\HasNoChildren) \"/\" {10}\r\nSent Items"
        );
        let atom = b"* LIST () \"/\" INBOX";
        assert_eq!(
            literal_string(atom, 3).expect("an atom"),
            b"* LIST () \"/\" {5}\r\nINBOX"
        );
        let env = b"* 1 FETCH (ENVELOPE (NIL \"a \\\"b\\\"\" NIL))";
        assert_eq!(
            literal_string(env, 0).expect("a quoted string"),
            b"* 1 FETCH (ENVELOPE (NIL {5}\r\na \"b\" NIL))"
        );
        assert_eq!(literal_string(FETCH, 0), None);
    }

    #[test]
    fn capabilities_are_permuted() {
        let greeting = b"* OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE] ready";
        assert_eq!(
            permute_capability(greeting, &[(0, 2)]).expect("a code"),
            b"* OK [CAPABILITY IDLE LITERAL+ IMAP4rev1] ready"
        );
        assert_eq!(capability_words(b"* CAPABILITY A B").expect("a response"), b"A B");
    }

    #[test]
    fn keywords_change_case() {
        assert_eq!(
            keyword_case(b"* 2 EXISTS", false).expect("a keyword"),
            b"* 2 exists"
        );
        assert_eq!(
            keyword_case(b"* OK [X] y", true).expect("a keyword"),
            b"* Ok [X] y"
        );
        assert_eq!(first_literal_count(FETCH), Some((39, 40)));
    }
}
