//! IMAP server lines matched by meaning (`docs/scenario-format.md`, "Matching by meaning").
//!
//! [`response`] decodes a received response into a small value tree; `expected` compiles an
//! expected `S:` line into a structural pattern with the same grammar, holes and
//! back-references standing for tokens; `semantic` compares the two. [`crate::pattern::Pattern`]
//! ties them together and falls back to text matching whenever either side cannot be read
//! structurally, so a line that matched as text before still has a meaning to match.

pub(crate) mod expected;
pub mod response;
pub(crate) mod semantic;

#[cfg(test)]
mod tests;
