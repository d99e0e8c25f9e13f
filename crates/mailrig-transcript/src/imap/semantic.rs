//! Matching a received response against an expected one by meaning: FETCH and STATUS items as
//! maps, flag lists, capabilities and search results as sets, strings by value, numbers as
//! numbers, and the human-readable text after the status word as text.

use crate::pattern::{Bindings, Match};
use crate::scenario::Class;

use super::expected::{BodyPattern, Group, ResponsePattern, TokenPattern, is_update};
use super::response::{Body, Response, Tag, Token, Value};

/// Upper bound on matching steps for one line, so hostile input cannot stall a match.
const STEP_BUDGET: usize = 100_000;

impl ResponsePattern {
    /// Matches `response` (decoded from `line`) against the pattern. `None` when the two have
    /// different shapes (tagged and untagged, status and data): the caller then compares text.
    pub(crate) fn matches(
        &self,
        response: &Response,
        line: &[u8],
        bindings: &Bindings,
    ) -> Option<Result<Match, usize>> {
        let mut m = Matcher {
            line,
            bindings,
            bound: Bindings::new(),
            budget: STEP_BUDGET,
            furthest: 0,
            exact_case: self.exact_case,
            extra_items: self.extra_items,
        };
        let ok = match (&self.tag, &response.tag) {
            (None, Tag::Untagged) => true,
            (Some(pattern), Tag::Tagged(tag)) => {
                let token = Token {
                    value: Value::Atom(tag.clone()),
                    span: 0..tag.len(),
                };
                m.token(pattern, &token)
            }
            _ => return None,
        };
        let ok = ok
            && match (&self.body, &response.body) {
                (BodyPattern::Data(group), Body::Data(tokens)) => m.group(group, tokens),
                (
                    BodyPattern::Status { status, code, text },
                    Body::Status {
                        status: Some(got),
                        code: got_code,
                        text: got_text,
                    },
                ) => {
                    m.token(status, got)
                        && match (code, got_code) {
                            (None, _) => true,
                            (Some(group), Some(got)) => m.group(group, &got.tokens),
                            (Some(_), None) => false,
                        }
                        && m.text(text, got_text.clone())
                }
                _ => return None,
            };
        Some(if ok {
            Ok(Match { bound: m.bound })
        } else {
            Err(m.furthest)
        })
    }
}

struct Matcher<'a> {
    line: &'a [u8],
    bindings: &'a Bindings,
    /// Captures bound so far by this line.
    bound: Bindings,
    budget: usize,
    /// How far into the line matching got, for the report's caret.
    furthest: usize,
    exact_case: bool,
    extra_items: bool,
}

impl Matcher<'_> {
    fn value(&self, name: &str) -> Option<&Vec<u8>> {
        self.bound.get(name).or_else(|| self.bindings.get(name))
    }

    fn spend(&mut self) -> bool {
        self.budget = self.budget.saturating_sub(1);
        self.budget > 0
    }

    /// Runs `f`; when it fails, undoes the captures it bound.
    fn attempt(&mut self, f: impl FnOnce(&mut Self) -> bool) -> bool {
        let saved = self.bound.clone();
        let ok = f(self);
        if !ok {
            self.bound = saved;
        }
        ok
    }

    fn group(&mut self, group: &Group, tokens: &[Token]) -> bool {
        match group {
            Group::Ordered(items) => self.ordered(items, tokens),
            Group::Set { head, items, others } => {
                tokens.len() >= head.len()
                    && self.ordered(head, &tokens[..head.len()])
                    && self.set(items, *others, &tokens[head.len()..])
            }
            Group::Map { pairs, others } => self.map(pairs, *others || self.extra_items, tokens),
            Group::Returns {
                head,
                pairs,
                updates,
                others,
            } => self.returns(head, pairs, updates, *others, tokens),
        }
    }

    /// An ESEARCH response: `head` in order; of the pairs after it, ADDTO and REMOVEFROM in
    /// order against `updates`, the others as a map.
    fn returns(
        &mut self,
        head: &[TokenPattern],
        pairs: &[(Vec<u8>, TokenPattern)],
        updates: &[TokenPattern],
        others: bool,
        tokens: &[Token],
    ) -> bool {
        if tokens.len() < head.len() || !self.ordered(head, &tokens[..head.len()]) {
            return false;
        }
        let rest = &tokens[head.len()..];
        if !rest.len().is_multiple_of(2) {
            return false;
        }
        let (mut got_updates, mut got_pairs) = (Vec::new(), Vec::new());
        for pair in rest.chunks(2) {
            let update = matches!(&pair[0].value, Value::Atom(name) if is_update(name));
            if update { &mut got_updates } else { &mut got_pairs }.extend_from_slice(pair);
        }
        self.ordered(updates, &got_updates) && self.map(pairs, others, &got_pairs)
    }

    /// In order; `${_}` takes any number of tokens (as few as it can).
    fn ordered(&mut self, items: &[TokenPattern], tokens: &[Token]) -> bool {
        if !self.spend() {
            return false;
        }
        match items.split_first() {
            None => tokens.is_empty(),
            Some((TokenPattern::Any, rest)) => {
                (0..=tokens.len()).any(|skip| self.attempt(|m| m.ordered(rest, &tokens[skip..])))
            }
            Some((item, rest)) => {
                let Some((token, tokens)) = tokens.split_first() else {
                    return false;
                };
                self.attempt(|m| m.token(item, token) && m.ordered(rest, tokens))
            }
        }
    }

    /// Every item matches a different token; without `others`, every token is matched.
    fn set(&mut self, items: &[TokenPattern], others: bool, tokens: &[Token]) -> bool {
        if items.len() > tokens.len() || (!others && items.len() != tokens.len()) {
            return false;
        }
        let mut used = vec![false; tokens.len()];
        self.assign(items.len(), &mut used, &mut |m, i, j| {
            m.token(&items[i], &tokens[j])
        })
    }

    /// Every named item is present with a matching value; without `others`, nothing else is.
    fn map(&mut self, pairs: &[(Vec<u8>, TokenPattern)], others: bool, tokens: &[Token]) -> bool {
        if !tokens.len().is_multiple_of(2) {
            return false;
        }
        let got: Vec<(&Token, &Token)> = tokens.chunks(2).map(|c| (&c[0], &c[1])).collect();
        if pairs.len() > got.len() || (!others && pairs.len() != got.len()) {
            return false;
        }
        let mut used = vec![false; got.len()];
        self.assign(pairs.len(), &mut used, &mut |m, i, j| {
            let (name, value) = got[j];
            matches!(&name.value, Value::Atom(n) if n.eq_ignore_ascii_case(&pairs[i].0))
                && m.token(&pairs[i].1, value)
        })
    }

    /// Assigns each of `count` expected items a different received item (backtracking, since
    /// captures bound by one choice constrain the next).
    fn assign(
        &mut self,
        count: usize,
        used: &mut Vec<bool>,
        fits: &mut dyn FnMut(&mut Self, usize, usize) -> bool,
    ) -> bool {
        let i = used.iter().filter(|u| **u).count();
        if i == count {
            return true;
        }
        for j in 0..used.len() {
            if used[j] || !self.spend() {
                continue;
            }
            let saved = self.bound.clone();
            if fits(self, i, j) {
                used[j] = true;
                if self.assign(count, used, fits) {
                    return true;
                }
                used[j] = false;
            }
            self.bound = saved;
        }
        false
    }

    /// Matches one token. The caret offset moves to the end of a token that matched, or to
    /// the start of one that did not (just inside it, for a list).
    fn token(&mut self, pattern: &TokenPattern, token: &Token) -> bool {
        let ok = self.token_inner(pattern, token);
        let at = match (ok, &token.value) {
            (true, _) => token.span.end,
            (false, Value::List(_)) if matches!(pattern, TokenPattern::List(_)) => token.span.start + 1,
            (false, _) => token.span.start,
        };
        self.furthest = self.furthest.max(at);
        ok
    }

    fn token_inner(&mut self, pattern: &TokenPattern, token: &Token) -> bool {
        let fold = !self.exact_case;
        match (pattern, &token.value) {
            (TokenPattern::Any, _) => true,
            (TokenPattern::Atom(a), Value::Atom(b)) => same(a, b, fold),
            // An atom and a string are the same astring (RFC 9051 §4.3, §9 `astring`), but a
            // flag is never a string.
            (TokenPattern::Atom(a), Value::String(b)) => !a.starts_with(b"\\") && same(a, b, fold),
            (TokenPattern::Number(a), Value::Number(b)) => a == b,
            (TokenPattern::Str(a), Value::String(b) | Value::Atom(b)) => a == b,
            (TokenPattern::Str(a), Value::Number(b)) => *a == b.to_string().into_bytes(),
            (TokenPattern::Nil, Value::Nil) => true,
            (TokenPattern::List(group), Value::List(items)) => self.group(group, items),
            (TokenPattern::Hole { name, class }, value) => {
                if let Some(name) = name
                    && let Some(bound) = self.value(name).cloned()
                {
                    return self.is_bound_value(&bound, token);
                }
                if *class == Class::String {
                    // A string by value, whatever its encoding: CR, LF and empty included.
                    let (Value::String(bytes) | Value::Atom(bytes)) = value else {
                        return false;
                    };
                    if let Some(name) = name {
                        self.bound.insert(name.clone(), bytes.clone());
                    }
                    return true;
                }
                let admitted = match value {
                    Value::Number(_) => true,
                    Value::List(_) => false,
                    _ => !class.is_numeric(),
                };
                let Some(bytes) = value.bytes().filter(|_| admitted) else {
                    return false;
                };
                if bytes.is_empty() || !bytes.iter().all(|b| class.admits(*b)) {
                    return false;
                }
                if let Some(name) = name {
                    self.bound.insert(name.clone(), bytes.into_owned());
                }
                true
            }
            (TokenPattern::Ref(name), _) => {
                let Some(bound) = self.value(name).cloned() else {
                    return false;
                };
                self.is_bound_value(&bound, token)
            }
            (TokenPattern::Mixed(pattern), value) => {
                let Some(bytes) = value.bytes() else {
                    return false;
                };
                let mut scope = self.bindings.clone();
                scope.extend(self.bound.clone());
                match pattern.matches(&bytes, &scope) {
                    Ok(m) => {
                        self.bound.extend(m.bound);
                        true
                    }
                    Err(_) => false,
                }
            }
            _ => false,
        }
    }

    /// A bound value stands for one token: a number equal to it, or a token whose value or
    /// whose bytes on the wire are exactly it.
    fn is_bound_value(&self, bound: &[u8], token: &Token) -> bool {
        match &token.value {
            Value::Number(n) => {
                std::str::from_utf8(bound)
                    .ok()
                    .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|d| d.parse::<u64>().ok())
                    == Some(*n)
            }
            value => {
                value.bytes().is_some_and(|b| *b == *bound)
                    || self.line.get(token.span.clone()) == Some(bound)
            }
        }
    }

    /// The text after the status word or code, matched as text.
    fn text(&mut self, pattern: &crate::pattern::Pattern, range: std::ops::Range<usize>) -> bool {
        let mut scope = self.bindings.clone();
        scope.extend(self.bound.clone());
        match pattern.matches(&self.line[range.clone()], &scope) {
            Ok(m) => {
                self.bound.extend(m.bound);
                true
            }
            Err(at) => {
                self.furthest = self.furthest.max(range.start + at);
                false
            }
        }
    }
}

fn same(a: &[u8], b: &[u8], fold: bool) -> bool {
    if fold { a.eq_ignore_ascii_case(b) } else { a == b }
}
