//! Placeholders in profile strings: `{name}` is replaced by a value, `{{` and `}}` stand for
//! literal braces. Templates are parsed once, when the profile is loaded, so an unknown name is
//! reported with its position before any client runs.

use std::collections::BTreeMap;

/// A parsed string: literal text and placeholders, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Placeholder(String),
}

/// What is wrong with a template, and where (a byte offset into the template's text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// Byte offset of the problem in the template text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// How a placeholder's value is inserted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// One string.
    Text(String),
    /// Several argv elements; allowed only where the placeholder is a whole argv element.
    List(Vec<String>),
}

impl Template {
    /// Parses `text`; `known` says whether a name exists.
    pub fn parse(text: &str, known: impl Fn(&str) -> bool) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text.char_indices().peekable();
        while let Some((at, c)) = rest.next() {
            match c {
                '{' if rest.peek().is_some_and(|(_, n)| *n == '{') => {
                    rest.next();
                    literal.push('{');
                }
                '}' if rest.peek().is_some_and(|(_, n)| *n == '}') => {
                    rest.next();
                    literal.push('}');
                }
                '{' => {
                    let name = placeholder_name(text, at)?;
                    if !known(name) {
                        return Err(TemplateError {
                            offset: at,
                            message: format!("unknown placeholder `{{{name}}}`"),
                        });
                    }
                    for _ in 0..=name.len() {
                        rest.next();
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Placeholder(name.to_owned()));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template { parts })
    }

    /// The placeholder names used, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Placeholder(name) => Some(name.as_str()),
            Part::Text(_) => None,
        })
    }

    /// The single placeholder this template consists of, if it is exactly one.
    pub fn alone(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Placeholder(name)] => Some(name),
            _ => None,
        }
    }

    /// The text with every placeholder replaced; `quote` is applied to each value (the
    /// identity, or shell quoting). A list value is joined with spaces (callers that splice
    /// lists check [`Template::alone`] first).
    pub fn render(&self, values: &BTreeMap<String, Value>, quote: impl Fn(&str) -> String) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Placeholder(name) => match values.get(name) {
                    Some(Value::Text(value)) => out.push_str(&quote(value)),
                    Some(Value::List(items)) => {
                        let quoted: Vec<String> = items.iter().map(|i| quote(i)).collect();
                        out.push_str(&quoted.join(" "));
                    }
                    None => {}
                },
            }
        }
        out
    }
}

/// The name of the placeholder starting at byte `at` (a `{`) of `text`.
fn placeholder_name(text: &str, at: usize) -> Result<&str, TemplateError> {
    let after = &text[at + 1..];
    let Some(end) = after.find('}') else {
        return Err(TemplateError {
            offset: at,
            message: "`{` opens a placeholder that is never closed (write `{{` for a literal brace)"
                .to_owned(),
        });
    };
    let name = &after[..end];
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(TemplateError {
            offset: at,
            message: format!(
                "`{{{name}}}` is not a placeholder: names are letters, digits and `_` (write `{{{{` for a literal brace)"
            ),
        });
    }
    Ok(name)
}

/// Quotes `value` for a POSIX shell (single quotes; a `'` becomes `'\''`).
pub fn shell_quote(value: &str) -> String {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        return value.to_owned();
    }
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> BTreeMap<String, Value> {
        BTreeMap::from([
            ("user".to_owned(), Value::Text("alice".into())),
            ("args".to_owned(), Value::List(vec!["-a".into(), "b c".into()])),
        ])
    }

    fn known(name: &str) -> bool {
        name == "user" || name == "args"
    }

    #[test]
    fn placeholders_and_escaped_braces_render() {
        let t = Template::parse("{{x}} {user}@h {args}", known).expect("valid");
        assert_eq!(t.render(&values(), str::to_owned), "{x} alice@h -a b c");
        assert_eq!(t.render(&values(), shell_quote), "{x} alice@h -a 'b c'");
        assert_eq!(t.names().collect::<Vec<_>>(), ["user", "args"]);
        assert_eq!(
            Template::parse("{args}", known).expect("valid").alone(),
            Some("args")
        );
        assert_eq!(Template::parse("x{args}", known).expect("valid").alone(), None);
    }

    #[test]
    fn unknown_and_unclosed_placeholders_are_errors_with_offsets() {
        let err = Template::parse("--u={usr}", known).expect_err("unknown");
        assert_eq!(err.offset, 4);
        assert!(err.message.contains("unknown placeholder `{usr}`"), "{err:?}");
        let err = Template::parse("ab{user", known).expect_err("unclosed");
        assert_eq!(err.offset, 2);
        let err = Template::parse("{a b}", known).expect_err("bad name");
        assert!(err.message.contains("not a placeholder"), "{err:?}");
    }

    #[test]
    fn shell_quoting_is_safe() {
        assert_eq!(shell_quote("/tmp/x.eml"), "/tmp/x.eml");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a;b"), "'a;b'");
    }
}
