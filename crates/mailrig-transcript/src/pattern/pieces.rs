//! A line as a flat run of pieces (text bytes one by one, other parts whole), for the
//! structural readers of IMAP responses and SMTP replies, and back into a text [`Pattern`].

use crate::pattern::Pattern;
use crate::scenario::{Line, Part, Presence, Side};

/// A byte of the line's text, or one of its other parts (hole, back-reference, literal).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Piece<'a> {
    Byte(u8),
    Part(&'a Part),
}

/// The line's pieces; write splits (`${|}`) are dropped, since matching ignores them.
pub(crate) fn flatten(line: &Line) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    for part in &line.parts {
        match part {
            Part::Text(bytes) => pieces.extend(bytes.iter().map(|b| Piece::Byte(*b))),
            Part::Split => {}
            other => pieces.push(Piece::Part(other)),
        }
    }
    pieces
}

/// Pieces back into a text pattern without CRLF; `None` if a literal's file is not loaded.
pub(crate) fn text_pattern(pieces: &[Piece<'_>], exact_case: bool, normalize: bool) -> Option<Pattern> {
    let mut parts: Vec<Part> = Vec::new();
    for piece in pieces {
        match (piece, parts.last_mut()) {
            (Piece::Byte(b), Some(Part::Text(t))) => t.push(*b),
            (Piece::Byte(b), _) => parts.push(Part::Text(vec![*b])),
            (Piece::Part(p), _) => parts.push((*p).clone()),
        }
    }
    let line = Line {
        side: Side::Server,
        presence: Presence::Required,
        exact_case,
        parts,
        crlf: false,
    };
    Pattern::compile(&line, normalize).ok()
}
