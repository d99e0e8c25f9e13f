//! The proptest strategies: cases whose mutations are drawn only from the lines each kind
//! applies to. A case is a `Vec` of mutations, so proptest shrinks it toward fewer
//! mutations, and each mutation toward the first eligible line, smaller offsets, shorter
//! garbage and fewer swaps: toward the canonical scenario.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::Union;

use crate::canonical::{Canonical, ServerLine};
use crate::case::Case;
use crate::imap;
use crate::mutation::{BadBytes, Extra, Mutation};

/// The most mutations one case carries.
pub const MAX_MUTATIONS: usize = 8;

/// Legal variations of `canonical`'s server side: a correct client behaves exactly as under
/// the canonical ([`crate::Expect::Same`]). Write boundaries, sleeps of up to 3 ms, keyword
/// case, strings as literals, FETCH item, CAPABILITY and EHLO keyword order, extra untagged
/// responses before tagged completions.
pub fn legal(canonical: &Canonical) -> impl Strategy<Value = Case> + use<> {
    let canonical = canonical.clone();
    vec(legal_mutation(&canonical), 0..=MAX_MUTATIONS).prop_map(move |m| Case::new(&canonical, m))
}

/// Hostile behaviour: one or two hostile mutations among legal ones; a correct client
/// survives ([`crate::Expect::Survive`]): malformed lines, wrong and huge literal counts, tags
/// never sent, early goodbyes, stalls, connections cut mid-line or reset, invalid UTF-8, NUL,
/// bare CR and LF, and responses injected after the STARTTLS go-ahead.
pub fn hostile(canonical: &Canonical) -> impl Strategy<Value = Case> + use<> {
    let canonical = canonical.clone();
    (
        vec(hostile_mutation(&canonical), 1..=2),
        vec(legal_mutation(&canonical), 0..=MAX_MUTATIONS - 2),
    )
        .prop_map(move |(mut bad, good)| {
            bad.extend(good);
            Case::new(&canonical, bad)
        })
}

/// One legal mutation of `canonical`.
pub fn legal_mutation(canonical: &Canonical) -> BoxedStrategy<Mutation> {
    let all = canonical.select(|_| true);
    let mut arms: Vec<(u32, BoxedStrategy<Mutation>)> = vec![
        (
            4,
            (select(all.clone()), 0..200usize)
                .prop_map(|(line, at)| Mutation::Split { line, at })
                .boxed(),
        ),
        (
            1,
            // Not inside a multi-line SMTP reply: a `@sleep` between its lines makes the
            // engine's server role stop sending (a mailrig bug this fuzzer found,
            // docs/fuzzing.md).
            (select(canonical.select(|l| !l.continues_reply)), 0..=3u8)
                .prop_map(|(line, ms)| Mutation::Sleep { line, ms })
                .boxed(),
        ),
    ];
    let recase = canonical.select(|l| l.imap && (l.tagged || l.flat.is_some()));
    push(&mut arms, 2, recase, |lines| {
        (select(lines), any::<bool>())
            .prop_map(|(line, alternate)| Mutation::KeywordCase { line, alternate })
            .boxed()
    });
    let literal = canonical.select(|l| flat_is(l, |b| imap::literal_string(b, 0).is_some()));
    push(&mut arms, 2, literal, |lines| {
        (select(lines), 0..4usize)
            .prop_map(|(line, nth)| Mutation::Literal { line, nth })
            .boxed()
    });
    let permute = canonical.select(|l| {
        l.ehlo_start
            || flat_is(l, |b| {
                imap::permute_fetch(b, &[]).is_some() || imap::permute_capability(b, &[]).is_some()
            })
    });
    push(&mut arms, 2, permute, |lines| {
        (select(lines), vec((0..8u8, 0..8u8), 1..=3))
            .prop_map(|(line, swaps)| Mutation::Permute { line, swaps })
            .boxed()
    });
    let extra = canonical
        .select(|l| l.tagged && !matches!(l.command.as_str(), "STARTTLS" | "LOGOUT" | "AUTHENTICATE"));
    push(&mut arms, 2, extra, |lines| {
        let extras = [Extra::Alert, Extra::Exists, Extra::Capability, Extra::FetchFlags];
        (select(lines), select(extras.to_vec()))
            .prop_map(|(line, extra)| Mutation::Extra { line, extra })
            .boxed()
    });
    Union::new_weighted(arms).boxed()
}

/// One hostile mutation of `canonical`.
pub fn hostile_mutation(canonical: &Canonical) -> BoxedStrategy<Mutation> {
    let all = canonical.select(|_| true);
    let flat = canonical.select(|l| l.flat.is_some());
    let mut arms: Vec<(u32, BoxedStrategy<Mutation>)> = vec![
        (
            2,
            select(all.clone())
                .prop_map(|line| Mutation::Bye { line })
                .boxed(),
        ),
        (
            1,
            select(all.clone())
                .prop_map(|line| Mutation::Stall { line })
                .boxed(),
        ),
        (1, select(all).prop_map(|line| Mutation::Reset { line }).boxed()),
    ];
    push(&mut arms, 2, flat.clone(), |lines| {
        (select(lines), garbage())
            .prop_map(|(line, bytes)| Mutation::Garbage { line, bytes })
            .boxed()
    });
    push(&mut arms, 2, flat.clone(), |lines| {
        (select(lines.clone()), 0..200usize)
            .prop_map(|(line, at)| Mutation::Cut { line, at })
            .boxed()
    });
    push(&mut arms, 2, flat, |lines| {
        let bad = [
            BadBytes::InvalidUtf8,
            BadBytes::Nul,
            BadBytes::BareCr,
            BadBytes::BareLf,
        ];
        (select(lines), 0..200usize, select(bad.to_vec()))
            .prop_map(|(line, at, bad)| Mutation::Bytes { line, at, bad })
            .boxed()
    });
    let literals = canonical.select(|l| flat_is(l, |b| imap::first_literal_count(b).is_some()));
    push(&mut arms, 2, literals.clone(), |lines| {
        (select(lines), prop_oneof![-8i8..=-1, 1i8..=8])
            .prop_map(|(line, delta)| Mutation::LiteralCount { line, delta })
            .boxed()
    });
    push(&mut arms, 1, literals, |lines| {
        select(lines)
            .prop_map(|line| Mutation::HugeLiteral { line })
            .boxed()
    });
    let tagged = canonical.select(|l| l.tagged);
    push(&mut arms, 1, tagged, |lines| {
        select(lines).prop_map(|line| Mutation::WrongTag { line }).boxed()
    });
    if canonical.lines().iter().any(|l| l.starttls_go_ahead) {
        arms.push((2, Just(Mutation::InjectAfterStartTls).boxed()));
    }
    Union::new_weighted(arms).boxed()
}

/// Malformed response bytes; shrinks toward shorter, simpler ones.
fn garbage() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"*".to_vec()),
        Just(b"* 1 FETCH (".to_vec()),
        Just(b"* 1 FETCH (BODY[] {".to_vec()),
        Just(b")))".to_vec()),
        Just(b"250".to_vec()),
        Just(b"2500 ok".to_vec()),
        vec(
            any::<u8>().prop_filter("no line ends", |b| *b != b'\r' && *b != b'\n'),
            0..40
        ),
    ]
}

fn push(
    arms: &mut Vec<(u32, BoxedStrategy<Mutation>)>,
    weight: u32,
    lines: Vec<usize>,
    arm: impl FnOnce(Vec<usize>) -> BoxedStrategy<Mutation>,
) {
    if !lines.is_empty() {
        arms.push((weight, arm(lines)));
    }
}

fn flat_is(line: &ServerLine, f: impl Fn(&[u8]) -> bool) -> bool {
    line.imap && line.flat.as_deref().is_some_and(f)
}
