//! `{{{` literals: inline blocks whose content runs to a line starting with `}}}`, and
//! `{{{file:PATH}}}` on one line.

use crate::error::ParseError;
use crate::scenario::{Literal, LiteralSource};

use super::Parser;

impl<'a> Parser<'a> {
    /// Parses `{{{...` at byte `at` of `raw`. Inline blocks consume lines up to `}}}`.
    pub(super) fn literal(
        &mut self,
        number: usize,
        raw: &'a str,
        at: usize,
    ) -> Result<(Literal, Resume<'a>), ParseError> {
        let col = raw[..at].chars().count() + 1;
        let after = &raw[at + 3..];
        let non_sync = after.starts_with('+');
        let after = after.strip_prefix('+').unwrap_or(after);
        if after.is_empty() {
            let mut content = Vec::new();
            while self.next < self.lines.len() {
                let line = self.lines[self.next];
                self.next += 1;
                if line.starts_with("}}}") {
                    let literal = Literal {
                        non_sync,
                        source: LiteralSource::Inline(content),
                    };
                    return Ok((
                        literal,
                        Resume::Closing {
                            number: self.next,
                            raw: line,
                        },
                    ));
                }
                content.push(line.to_owned());
            }
            return Err(self
                .error(number, col, "unterminated literal: no line starts with `}}}`")
                .len(3)
                .expected("the literal's content lines, then a line starting with `}}}`"));
        }
        if let Some(path_and_rest) = after.strip_prefix("file:") {
            let Some(end) = path_and_rest.find("}}}") else {
                return Err(self
                    .error(number, col, "unterminated file literal")
                    .len(3)
                    .expected("`{{{file:PATH}}}` on one line"));
            };
            let path = &path_and_rest[..end];
            if path.is_empty() {
                return Err(self
                    .error(number, col, "file literal with an empty path")
                    .len(3)
                    .expected("a path relative to the scenario file"));
            }
            let next = at + 3 + usize::from(non_sync) + "file:".len() + end + 3;
            let source = LiteralSource::File {
                path: path.to_owned(),
                data: None,
            };
            return Ok((Literal { non_sync, source }, Resume::SameLine(next)));
        }
        Err(self
            .error(number, col, "malformed literal")
            .len(3)
            .expected("end of line after `{{{` (content follows on the next lines) or `{{{file:PATH}}}`")
            .hint("a `+` right after `{{{` makes it a non-synchronizing literal (LITERAL+)"))
    }
}

/// Where parsing continues after a literal.
pub(super) enum Resume<'a> {
    /// After `{{{file:...}}}`, at this byte offset of the same line.
    SameLine(usize),
    /// After the `}}}` that starts this line.
    Closing { number: usize, raw: &'a str },
}
