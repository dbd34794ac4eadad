//! Splitting a build across machines: which input slices a shard reads and which outputs it
//! writes, so that the shards' outputs together are exactly one full build's.
//!
//! Level L slice k depends on input slices `k * 2^L .. (k + 1) * 2^L`. A range of input slices
//! that starts and ends on a multiple of `2^D` (D the number of levels; the end may also be
//! the stack's end) therefore covers whole subtrees of the pyramid: no output depends on two
//! shards, and every output on exactly one.

use std::ops::Range;

use crate::error::{Error, Result};
use crate::plan::Plan;

/// The alignment of shard boundaries: `2^levels`.
pub fn unit(plan: &Plan) -> usize {
    1usize << plan.levels.len().min(usize::BITS as usize - 1)
}

/// The input range `a..b` checked against the plan: within the stack and aligned to `u`
/// ([`unit`], or more), or an error (of the option `slices`) that names the aligned range
/// covering it.
pub fn check(plan: &Plan, u: usize, a: usize, b: Option<usize>) -> Result<Range<usize>> {
    let n = plan.slices;
    let b = b.unwrap_or(n);
    let invalid = |reason: String| Error::invalid("slices", format!("{a}..{b}"), reason);
    if a >= b {
        return Err(invalid("the range is empty".into()));
    }
    if b > n {
        return Err(invalid(format!("the stack has slices 0..{n}")));
    }
    let aligned = |x: usize| x.is_multiple_of(u) || x == n;
    if !aligned(a) || !aligned(b) {
        let lo = a / u * u;
        let hi = (b.div_ceil(u) * u).min(n);
        let why = match u == unit(plan) {
            true => format!("2^{} levels", plan.levels.len()),
            false => format!(
                "chunk depth {} x 2^{} levels",
                u / unit(plan),
                plan.levels.len()
            ),
        };
        return Err(invalid(format!(
            "not aligned to {u} slices ({why}): use {lo}..{hi}"
        )));
    }
    Ok(a..b)
}

/// The slices of level `level` that a shard of input range `r` writes.
pub fn level_range(r: &Range<usize>, level: usize, level_slices: usize) -> Range<usize> {
    let step = 1usize << level.min(usize::BITS as usize - 1);
    (r.start / step)..r.end.div_ceil(step).min(level_slices)
}

/// `shards` input ranges aligned to `u` covering the stack, as even as alignment allows
/// (fewer if the stack has fewer aligned groups than shards).
pub fn split(plan: &Plan, u: usize, shards: usize) -> Vec<Range<usize>> {
    let groups = plan.slices.div_ceil(u);
    let shards = shards.clamp(1, groups.max(1));
    (0..shards)
        .map(|s| {
            let (g0, g1) = (s * groups / shards, (s + 1) * groups / shards);
            (g0 * u).min(plan.slices)..(g1 * u).min(plan.slices)
        })
        .filter(|r| !r.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pixel::Depth;

    fn plan(n: usize) -> Plan {
        // 2048 px: 3 levels, unit 8.
        Plan::new(2048, 2048, Depth::U16, n, 500)
    }

    #[test]
    fn ranges_are_aligned_and_cover_the_stack() {
        let p = plan(100);
        let r = split(&p, 8, 3);
        assert_eq!(r, [0..32, 32..64, 64..100]);
        for x in &r {
            assert!(check(&p, 8, x.start, Some(x.end)).is_ok());
        }
        assert_eq!(split(&p, 8, 50).len(), 13);
    }

    #[test]
    fn misaligned_ranges_suggest_the_aligned_one() {
        let p = plan(100);
        let e = check(&p, 8, 10, Some(20)).unwrap_err().to_string();
        assert!(e.contains("use 8..24"), "{e}");
        assert!(check(&p, 8, 96, None).is_ok());
        assert!(check(&p, 8, 0, Some(101)).is_err());
    }

    #[test]
    fn level_ranges_partition_each_level() {
        let p = plan(100);
        for level in &p.levels {
            let mut next = 0;
            for r in split(&p, 8, 3) {
                let l = level_range(&r, level.level, level.slices);
                assert_eq!(l.start, next);
                next = l.end;
            }
            assert_eq!(next, level.slices);
        }
    }
}
