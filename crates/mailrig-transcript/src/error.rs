//! `ParseError`: a malformed scenario, reported as `file:line:col` with the offending text;
//! `ParseErrors`: every such error of one file.

use std::fmt;

use crate::scenario::Pos;

/// A scenario file could not be parsed or is inconsistent.
///
/// `Display` renders it the way compilers do: the message, `file:line:col`, the offending line
/// with a caret under the problem, what was expected, and a hint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// The file name as given to the parser.
    pub file: String,
    /// Where the problem starts.
    pub pos: Pos,
    /// How many characters the caret underlines (at least 1).
    pub len: usize,
    /// The full text of the offending line.
    pub source_line: String,
    /// What is wrong, lowercase, without a trailing period.
    pub message: String,
    /// What the parser expected at that position.
    pub expected: Option<String>,
    /// How to fix it.
    pub hint: Option<String>,
}

impl ParseError {
    /// Starts an error at `pos` on `source_line`.
    pub(crate) fn new(file: &str, pos: Pos, source_line: &str, message: impl Into<String>) -> Self {
        ParseError {
            file: file.to_owned(),
            pos,
            len: 1,
            source_line: source_line.to_owned(),
            message: message.into(),
            expected: None,
            hint: None,
        }
    }

    /// Sets what was expected.
    pub(crate) fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    /// Sets the hint.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Sets the underlined length.
    pub(crate) fn len(mut self, len: usize) -> Self {
        self.len = len.max(1);
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = self.pos.line.to_string();
        let pad = " ".repeat(number.len());
        writeln!(f, "error: {}", self.message)?;
        writeln!(f, "{pad}--> {}:{}:{}", self.file, self.pos.line, self.pos.col)?;
        writeln!(f, "{pad} |")?;
        writeln!(f, "{number} | {}", self.source_line.replace('\t', " "))?;
        let indent = " ".repeat(self.pos.col.saturating_sub(1));
        let carets = "^".repeat(self.len);
        match &self.expected {
            Some(expected) => write!(f, "{pad} | {indent}{carets} expected {expected}")?,
            None => write!(f, "{pad} | {indent}{carets}")?,
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n{pad} = hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every error found in one scenario file, in file order; never empty.
///
/// The parser recovers after an error and goes on with the next line, so one run reports each
/// bad line of a file. `Display` renders each error, separated by blank lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseErrors {
    errors: Vec<ParseError>,
}

impl ParseErrors {
    /// Collects `errors`, sorted by position (errors at the same position keep their order).
    ///
    /// # Panics
    ///
    /// If `errors` is empty: a file without errors is a scenario.
    pub(crate) fn new(mut errors: Vec<ParseError>) -> Self {
        assert!(!errors.is_empty(), "ParseErrors needs at least one error");
        errors.sort_by_key(|e| (e.pos.line, e.pos.col));
        ParseErrors { errors }
    }

    /// The first error in file order.
    pub fn first(&self) -> &ParseError {
        &self.errors[0]
    }

    /// The first error in file order, by value.
    pub fn into_first(self) -> ParseError {
        self.errors
            .into_iter()
            .next()
            .expect("ParseErrors is never empty")
    }

    /// Every error, in file order.
    pub fn errors(&self) -> &[ParseError] {
        &self.errors
    }
}

impl From<ParseError> for ParseErrors {
    fn from(error: ParseError) -> Self {
        ParseErrors { errors: vec![error] }
    }
}

impl IntoIterator for ParseErrors {
    type Item = ParseError;
    type IntoIter = std::vec::IntoIter<ParseError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl<'a> IntoIterator for &'a ParseErrors {
    type Item = &'a ParseError;
    type IntoIter = std::slice::Iter<'a, ParseError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl fmt::Display for ParseErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseErrors {}

/// The closest candidate to `word` (by edit distance), if it is close enough to be a typo.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let old = row[j + 1];
            let next = (prev + cost).min(row[j] + 1).min(old + 1);
            prev = old;
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_finds_typos_only() {
        assert_eq!(closest("starttl", &["starttls", "close"]), Some("starttls"));
        assert_eq!(closest("zzz", &["starttls", "close"]), None);
        assert_eq!(closest("imapp", &["smtp", "imap", "imaps"]), Some("imap"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
