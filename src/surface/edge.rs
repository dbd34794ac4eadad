//! Where the surface crosses an edge of the sample grid: PyMCubes's linear interpolation
//! between the edge's two samples, in the box's own coordinates as PyMCubes computes them,
//! and whether the vertex lands exactly on one of the two samples. A vertex that lands on a
//! sample is that sample's, one vertex for every edge that lands there: where a sample
//! equals the iso value, beside an infinite sample, or where the interpolation rounds onto
//! the sample.

use rayon::prelude::*;

use super::bits::{each_bit, Bits};

/// Where along an edge from a sample of value `v0` to one of `v1` the surface crosses it,
/// from 0 (at `v0`) to 1: `(iso - v0) / (v1 - v0)`. An infinite end gives the limit (the
/// finite end; the middle if both are infinite), where the formula gives NaN.
#[inline]
pub fn crossing(iso: f64, v0: f64, v1: f64) -> f64 {
    let t = (iso - v0) / (v1 - v0);
    if t.is_finite() {
        return t;
    }
    match (v0.is_infinite(), v1.is_infinite()) {
        (true, false) => 1.0,
        (false, true) => 0.0,
        _ => 0.5,
    }
}

/// The vertex's coordinate along the edge's axis, its first sample at `lo` (the next at
/// `lo + 1`).
#[inline]
pub fn along(iso: f64, lo: f64, v0: f64, v1: f64) -> f64 {
    lo + crossing(iso, v0, v1)
}

/// Edges whose vertex lands on one of their samples: `[0]` on the first, `[1]` on the second,
/// each bit at the edge's first sample.
pub type Snapped = [Bits; 2];

/// The edges of a `width` x `height` plane whose vertex lands on a sample, None if none
/// does: `row(y, first, second)` sets row `y`'s words of both (edges landing on their first
/// sample, on their second). The rows are first looked at without keeping anything, rows
/// spread over the cores: the planes of bits are made only if some edge lands, which with
/// most iso values none does.
pub fn snapped(
    width: usize,
    height: usize,
    row: impl Fn(usize, &mut [u64], &mut [u64]) + Sync + Send,
) -> Option<Snapped> {
    let words = width.div_ceil(64);
    let any = (0..height)
        .into_par_iter()
        .with_min_len(16)
        .map_init(
            || (vec![0; words], vec![0; words]),
            |(first, second), y| {
                row(y, first, second);
                first.iter().chain(second.iter()).any(|&w| w != 0)
            },
        )
        .any(|landed| landed);
    any.then(|| Bits::pair_from_rows(width, height, row))
}

/// The edges of word `i` of `crossed` whose vertex lands on their first sample (`[0]`) or
/// their second (`[1]`); `ends(x)` gives the edge at column `x`: the coordinate of its first
/// sample along it, and the two values.
#[inline]
pub fn landings(
    iso: f64,
    crossed: u64,
    i: usize,
    ends: impl Fn(usize) -> (f64, f64, f64),
) -> [u64; 2] {
    let mut landed = [0u64; 2];
    each_bit(crossed, i, |x| {
        let (lo, v0, v1) = ends(x);
        let at = along(iso, lo, v0, v1);
        if at == lo {
            landed[0] |= 1 << (x % 64);
        } else if at == lo + 1.0 {
            landed[1] |= 1 << (x % 64);
        }
    });
    landed
}

/// Whether an edge's vertex can land on a sample other than one equal to the iso value for
/// samples spanning `range` (the type's; infinite for floats): only if the iso value is so
/// close to a whole number that `t` can be below the spacing of coordinates up to 2^32.
pub fn may_land(iso: f64, range: f64) -> bool {
    let off = (iso - iso.round()).abs();
    !range.is_finite() || off == 0.0 || off / range <= f64::EPSILON * 2f64.powi(33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vertices_land_on_samples_exactly() {
        // At the iso value, beside an infinite sample, and rounded onto the sample.
        assert_eq!(along(0.0, 3.0, 0.0, 1.0), 3.0);
        assert_eq!(along(0.0, 3.0, -1.0, 0.0), 4.0);
        assert_eq!(along(0.0, 3.0, -1.0, f64::INFINITY), 3.0);
        assert_eq!(along(0.0, 3.0, f64::INFINITY, -1.0), 4.0);
        assert_eq!(along(0.0, 3.0, f64::NEG_INFINITY, f64::INFINITY), 3.5);
        assert_eq!(along(0.0, 1.0, 1e-45, -1.0), 1.0);
        let landed = landings(0.0, 0b111, 0, |x| match x {
            0 => (0.0, 0.0, 1.0),
            1 => (1.0, -1.0, 0.0),
            _ => (2.0, -1.0, 1.0),
        });
        assert_eq!(landed, [0b001, 0b010]);
        assert!(!may_land(9830.5, 65535.0));
        assert!(may_land(9830.0, 65535.0));
        assert!(may_land(0.1, f64::INFINITY));
    }
}
