//! `--generalize`: volatile values in recorded lines become captures and holes.

use mailrig_transcript::scenario::{Family, Part, Side};

/// Per-recording state of the generalization.
#[derive(Debug, Default)]
pub(crate) struct Generalizer {}

impl Generalizer {
    /// One line's parts, generalized.
    pub(crate) fn line(
        &mut self,
        _session: usize,
        _family: Family,
        _side: Side,
        parts: Vec<Part>,
    ) -> Vec<Part> {
        parts
    }
}
