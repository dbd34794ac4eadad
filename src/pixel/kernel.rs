//! The reduce kernels: the only arithmetic in ctpyramid.
//!
//! CTHarvester's thumbnail module halves each slice of a pair over 2x2 blocks with
//! `(a+b+c+d+2)>>2`, then averages the two halves with `(p+q+1)>>1`. Doing both in one pass
//! over four input rows gives the same bits without an intermediate halved slice; doing them
//! in turn (the first slice halved into the output, the second averaged into it) lets the
//! first slice leave memory before the second is read. Signed
//! 16-bit samples follow the same formulas with a flooring shift; 32-bit floats
//! `((a+b)+(c+d))*0.25` and `(p+q)*0.5` (see [`Reduce`] for `f32`).

use rayon::prelude::*;

use super::plane::Plane;
use super::sample::Sample;

mod swar;

/// The averaging arithmetic of a [`Sample`] type: the kernels' side of a sample.
pub trait Reduce: Sample {
    /// [`reduce_pair_row`] for this type.
    fn reduce_pair_row(a0: &[Self], a1: &[Self], b0: &[Self], b1: &[Self], out: &mut [Self]);
    /// `halve_row` (the function of this module) for this type.
    fn halve_row(a0: &[Self], a1: &[Self], out: &mut [Self]);
    /// `average_row` (the function of this module) for this type.
    fn average_row(b0: &[Self], b1: &[Self], out: &mut [Self]);
}

/// Integer samples: CTHarvester's rounding, summed in a wider type.
trait Widen: Sample {
    /// The narrowest type that holds a sum of four samples plus 2: the kernels compute in
    /// it, so that the vectorized loops process as many lanes as possible (u16 for u8 data
    /// runs twice as many lanes as u32 would). Signed, its `>>` is arithmetic (flooring).
    type Acc: Copy
        + std::ops::Add<Output = Self::Acc>
        + std::ops::Shr<u32, Output = Self::Acc>
        + From<u8>;
    /// The sample in the accumulator type.
    fn acc(self) -> Self::Acc;
    /// Callers only pass values that fit, as averages of `Self` values do.
    fn from_acc(v: Self::Acc) -> Self;
}

macro_rules! widen {
    ($t:ty, $acc:ty) => {
        impl Widen for $t {
            type Acc = $acc;
            #[inline(always)]
            fn acc(self) -> $acc {
                <$acc>::from(self)
            }
            #[inline(always)]
            fn from_acc(v: $acc) -> Self {
                v as $t
            }
        }
    };
}

widen!(u8, u16);
widen!(u16, u32);
widen!(i16, i32);

impl Reduce for u8 {
    #[inline]
    fn reduce_pair_row(a0: &[u8], a1: &[u8], b0: &[u8], b1: &[u8], out: &mut [u8]) {
        pair_row_u8(a0, a1, b0, b1, out);
    }
    #[inline]
    fn halve_row(a0: &[u8], a1: &[u8], out: &mut [u8]) {
        swar::rows(
            [a0, a1],
            out,
            |[x0, x1], _| swar::quads(x0, x1),
            |[a0, a1], out| halve_row_int(a0, a1, out),
        );
    }
    #[inline]
    fn average_row(b0: &[u8], b1: &[u8], out: &mut [u8]) {
        swar::rows(
            [b0, b1],
            out,
            |[y0, y1], p| swar::average(p, swar::quads(y0, y1)),
            |[b0, b1], out| average_row_int(b0, b1, out),
        );
    }
}

macro_rules! reduce_int {
    ($t:ty) => {
        impl Reduce for $t {
            #[inline]
            fn reduce_pair_row(a0: &[$t], a1: &[$t], b0: &[$t], b1: &[$t], out: &mut [$t]) {
                pair_row(a0, a1, b0, b1, out);
            }
            #[inline]
            fn halve_row(a0: &[$t], a1: &[$t], out: &mut [$t]) {
                halve_row_int(a0, a1, out);
            }
            #[inline]
            fn average_row(b0: &[$t], b1: &[$t], out: &mut [$t]) {
                average_row_int(b0, b1, out);
            }
        }
    };
}

reduce_int!(u16);
reduce_int!(i16);

/// 32-bit float: `((a+b)+(c+d))*0.25` per 2x2 block (`a`, `b` the upper row's pair), then
/// `(p+q)*0.5` per pair of slices, in `f32`, in that order. Rust neither reassociates float
/// additions nor fuses a multiply with an add unless asked, so these are the bits a numpy
/// reference computes the same way; NaN and infinities propagate.
impl Reduce for f32 {
    #[inline]
    fn reduce_pair_row(a0: &[f32], a1: &[f32], b0: &[f32], b1: &[f32], out: &mut [f32]) {
        each_pair(a0, a1, b0, b1, out, |a0, a1, b0, b1| {
            (quad_f32(a0, a1) + quad_f32(b0, b1)) * 0.5
        });
    }
    #[inline]
    fn halve_row(a0: &[f32], a1: &[f32], out: &mut [f32]) {
        each_block(a0, a1, out, |a0, a1, _| quad_f32(a0, a1));
    }
    #[inline]
    fn average_row(b0: &[f32], b1: &[f32], out: &mut [f32]) {
        // `p + q` in the pair's order: `out` holds the first slice's half.
        each_block(b0, b1, out, |b0, b1, p| (p + quad_f32(b0, b1)) * 0.5);
    }
}

#[inline(always)]
fn quad_f32(r0: &[f32], r1: &[f32]) -> f32 {
    ((r0[0] + r0[1]) + (r1[0] + r1[1])) * 0.25
}

#[inline(always)]
fn quad<T: Widen>(r0: &[T], r1: &[T]) -> T::Acc {
    (r0[0].acc() + r0[1].acc() + r1[0].acc() + r1[1].acc() + T::Acc::from(2)) >> 2
}

/// One output row from two slices: rows `a0`,`a1` of the first slice and `b0`,`b1` of the
/// second, each at least `2 * out.len()` long (a trailing odd column is ignored).
#[inline]
pub fn reduce_pair_row<T: Reduce>(a0: &[T], a1: &[T], b0: &[T], b1: &[T], out: &mut [T]) {
    T::reduce_pair_row(a0, a1, b0, b1, out);
}

/// One output row from a lone slice (the odd last slice of a level, or the first of a pair
/// reduced in turn): halved, not averaged.
#[inline]
pub fn halve_row<T: Reduce>(a0: &[T], a1: &[T], out: &mut [T]) {
    T::halve_row(a0, a1, out);
}

/// The second step of a pair reduced in turn: `out` holds the first slice's halved row, and
/// becomes the average of it and rows `b0`, `b1` of the second slice halved; the same bits
/// as [`reduce_pair_row`].
#[inline]
pub fn average_row<T: Reduce>(b0: &[T], b1: &[T], out: &mut [T]) {
    T::average_row(b0, b1, out);
}

/// [`reduce_pair_row`] for integers written plainly, one output pixel at a time, which the
/// compiler vectorizes well for 16-bit samples (10 GiB/s of input on one core here) but not
/// for `u8`, whose pairs of bytes it cannot widen and add cheaply (3 GiB/s): see
/// [`pair_row_u8`].
#[inline]
fn pair_row<T: Widen>(a0: &[T], a1: &[T], b0: &[T], b1: &[T], out: &mut [T]) {
    each_pair(a0, a1, b0, b1, out, |a0, a1, b0, b1| {
        T::from_acc((quad(a0, a1) + quad(b0, b1) + T::Acc::from(1)) >> 1)
    });
}

/// Each output pixel of a pair of slices from `f` of its 2x2 blocks in both (`a0`, `a1`
/// rows of the first slice, `b0`, `b1` of the second), each block two samples of two rows.
/// Every row is cut to `2 * out.len()` first, so that the loop runs without bounds checks
/// and vectorizes (a trailing odd column is ignored).
#[inline(always)]
fn each_pair<T: Copy>(
    a0: &[T],
    a1: &[T],
    b0: &[T],
    b1: &[T],
    out: &mut [T],
    f: impl Fn(&[T], &[T], &[T], &[T]) -> T,
) {
    let n = out.len();
    let (a0, a1, b0, b1) = (&a0[..2 * n], &a1[..2 * n], &b0[..2 * n], &b1[..2 * n]);
    let quads = a0
        .chunks_exact(2)
        .zip(a1.chunks_exact(2))
        .zip(b0.chunks_exact(2).zip(b1.chunks_exact(2)));
    for (o, ((a0, a1), (b0, b1))) in out.iter_mut().zip(quads) {
        *o = f(a0, a1, b0, b1);
    }
}

/// [`each_pair`] for one slice: each output pixel from `f` of its 2x2 block and the
/// pixel's value so far.
#[inline(always)]
fn each_block<T: Copy>(a0: &[T], a1: &[T], out: &mut [T], f: impl Fn(&[T], &[T], T) -> T) {
    let n = out.len();
    let (a0, a1) = (&a0[..2 * n], &a1[..2 * n]);
    for (o, (a0, a1)) in out
        .iter_mut()
        .zip(a0.chunks_exact(2).zip(a1.chunks_exact(2)))
    {
        *o = f(a0, a1, *o);
    }
}

/// [`pair_row`] for 8-bit samples, eight input bytes of each row at a time in a `u64` seen as
/// four 16-bit lanes (SIMD within a register, [`swar`]), which the compiler turns into SSE2:
/// 2.5x the plain loop and more on one core (criterion: 8-15 GiB/s of input against 2.4-3.1),
/// the same bits.
fn pair_row_u8(a0: &[u8], a1: &[u8], b0: &[u8], b1: &[u8], out: &mut [u8]) {
    swar::rows(
        [a0, a1, b0, b1],
        out,
        |[x0, x1, y0, y1], _| swar::average(swar::quads(x0, x1), swar::quads(y0, y1)),
        |[a0, a1, b0, b1], out| pair_row(a0, a1, b0, b1, out),
    );
}

/// [`halve_row`] for integers.
#[inline]
fn halve_row_int<T: Widen>(a0: &[T], a1: &[T], out: &mut [T]) {
    each_block(a0, a1, out, |a0, a1, _| T::from_acc(quad(a0, a1)));
}

/// [`average_row`] for integers.
#[inline]
fn average_row_int<T: Widen>(b0: &[T], b1: &[T], out: &mut [T]) {
    each_block(b0, b1, out, |b0, b1, p| {
        T::from_acc((p.acc() + quad(b0, b1) + T::Acc::from(1)) >> 1)
    });
}

/// Rows scratch for one rayon task; stays empty (no allocation) on the zero-copy path.
#[derive(Default)]
struct Scratch<T> {
    rows: [Vec<T>; 4],
}

/// Fills `out` (rows of `width`) with slice `a` and `b` reduced (or `a` halved alone), output
/// rows spread over rayon's threads.
pub fn reduce_slices<T: Reduce>(a: &Plane<T>, b: Option<&Plane<T>>, out: &mut [T], width: usize) {
    each_row(out, width, |[s0, s1, s2, s3], y, row| {
        let a0 = a.row(2 * y, s0);
        let a1 = a.row(2 * y + 1, s1);
        match b {
            Some(b) => reduce_pair_row(a0, a1, b.row(2 * y, s2), b.row(2 * y + 1, s3), row),
            None => halve_row(a0, a1, row),
        }
    });
}

/// [`reduce_slices`] of a pair in turn: `a` halved into `out`, then `between` (which may drop
/// `a`'s pages), then `b` halved and averaged into it. The same bits, with one slice's pages
/// in memory at a time rather than two; the second pass over `out` costs little beside
/// reading the slices.
pub fn reduce_slices_in_turn<T: Reduce>(
    a: &Plane<T>,
    b: &Plane<T>,
    out: &mut [T],
    width: usize,
    between: impl FnOnce(),
) {
    each_row(out, width, |[s0, s1, ..], y, row| {
        halve_row(a.row(2 * y, s0), a.row(2 * y + 1, s1), row);
    });
    between();
    each_row(out, width, |[s0, s1, ..], y, row| {
        average_row(b.row(2 * y, s0), b.row(2 * y + 1, s1), row);
    });
}

/// Runs `f(scratch rows, y, output row y)` for every row of `out` on rayon's threads.
fn each_row<T: Sample>(
    out: &mut [T],
    width: usize,
    f: impl Fn(&mut [Vec<T>; 4], usize, &mut [T]) + Sync + Send,
) {
    // About 32 KiB of output per task: large enough to amortize scheduling, small enough to
    // balance rows over cores.
    let rows_per_task = (32 * 1024 / (width * std::mem::size_of::<T>()).max(1)).max(1);
    out.par_chunks_mut(width.max(1))
        .enumerate()
        .with_min_len(rows_per_task)
        .for_each_init(Scratch::<T>::default, |scratch, (y, row)| {
            f(&mut scratch.rows, y, row)
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// CTHarvester's two steps, written out the slow way: halve each slice, then average.
    fn naive_halve(s: &[i64], w: usize, h: usize) -> Vec<i64> {
        let (dw, dh) = (w / 2, h / 2);
        let mut out = vec![0; dw * dh];
        for y in 0..dh {
            for x in 0..dw {
                let at = |yy: usize, xx: usize| s[yy * w + xx];
                out[y * dw + x] = (at(2 * y, 2 * x)
                    + at(2 * y, 2 * x + 1)
                    + at(2 * y + 1, 2 * x)
                    + at(2 * y + 1, 2 * x + 1)
                    + 2)
                    >> 2;
            }
        }
        out
    }

    fn check<T: Reduce + std::fmt::Debug + PartialEq + Into<i64>>(
        a: &[T],
        b: Option<&[T]>,
        w: usize,
        h: usize,
    ) {
        let wide = |s: &[T]| s.iter().map(|&v| v.into()).collect::<Vec<i64>>();
        let ha = naive_halve(&wide(a), w, h);
        let expected: Vec<i64> = match b {
            Some(b) => {
                let hb = naive_halve(&wide(b), w, h);
                ha.iter().zip(&hb).map(|(p, q)| (p + q + 1) >> 1).collect()
            }
            None => ha,
        };
        let (dw, dh) = (w / 2, h / 2);
        let mut out = vec![T::default(); dw * dh];
        for y in 0..dh {
            let row = |s: &'_ [T], r: usize| s[r * w..(r + 1) * w].to_vec();
            let o = &mut out[y * dw..(y + 1) * dw];
            match b {
                Some(b) => reduce_pair_row(
                    &row(a, 2 * y),
                    &row(a, 2 * y + 1),
                    &row(b, 2 * y),
                    &row(b, 2 * y + 1),
                    o,
                ),
                None => halve_row(&row(a, 2 * y), &row(a, 2 * y + 1), o),
            }
        }
        assert_eq!(wide(&out), expected);
    }

    #[test]
    fn extremes_do_not_overflow() {
        let a = [u16::MAX; 16];
        let mut out = vec![0u16; 2];
        reduce_pair_row(&a[..4], &a[4..8], &a[8..12], &a[12..], &mut out);
        assert_eq!(out, [u16::MAX; 2]);
        let a = [u8::MAX; 4];
        let mut out = vec![0u8; 2];
        halve_row(&a, &a, &mut out);
        assert_eq!(out, [u8::MAX; 2]);
        // Two blocks of the 8-bit loop and a remainder, all at the top of the range.
        let a = [u8::MAX; 80];
        let mut out = vec![0u8; 40];
        reduce_pair_row(&a, &a, &a, &a, &mut out);
        assert_eq!(out, [u8::MAX; 40]);
    }

    #[test]
    fn signed_and_float_extremes() {
        // -32768 * 4 + 2 floors to -32768 after the shift; the pair of those stays there.
        let a = [i16::MIN; 16];
        let mut out = vec![0i16; 2];
        reduce_pair_row(&a[..4], &a[4..8], &a[8..12], &a[12..], &mut out);
        assert_eq!(out, [i16::MIN; 2]);
        // (-1 + 0 + 0 + 0 + 2) >> 2 = 0, (-3 + 2) >> 2 = -1 (floor, not toward zero).
        let mut out = [0i16; 1];
        halve_row(&[-1, 0], &[0, 0], &mut out);
        assert_eq!(out, [0]);
        halve_row(&[-1, -1], &[-1, 0], &mut out);
        assert_eq!(out, [-1]);
        let mut out = [0f32; 2];
        let inf = f32::INFINITY;
        halve_row(&[1.0, f32::NAN, inf, -inf], &[0.0, 0.0, 1.0, 1.0], &mut out);
        assert!(out[0].is_nan() && out[1].is_nan());
        halve_row(
            &[f32::MAX, f32::MAX, 1.0, 2.0],
            &[0.0, 0.0, 3.0, 4.0],
            &mut out,
        );
        assert_eq!(out, [inf, 2.5]);
    }

    #[test]
    fn rounding_matches_ctharvester() {
        // halves: (1+0+0+0+2)>>2 = 0 and (1+1+1+0+2)>>2 = 1; average (0+1+1)>>1 = 1.
        let mut out = [0u8; 1];
        reduce_pair_row(&[1, 0], &[0, 0], &[1, 1], &[1, 0], &mut out);
        assert_eq!(out, [1]);
        // Two roundings are not one 8-voxel mean: halves 2 and 3 give 3, (18+4)>>3 gives 2.
        reduce_pair_row(&[2, 2], &[1, 2], &[3, 3], &[3, 2], &mut out);
        assert_eq!(out, [3]);
    }

    fn slices<T: std::fmt::Debug>(
        max: impl Strategy<Value = T> + Clone,
    ) -> impl Strategy<Value = (usize, usize, Vec<T>, Vec<T>)> {
        (2usize..40, 2usize..12).prop_flat_map(move |(w, h)| {
            (
                Just(w),
                Just(h),
                proptest::collection::vec(max.clone(), w * h),
                proptest::collection::vec(max.clone(), w * h),
            )
        })
    }

    proptest! {
        #[test]
        fn pair_u16_matches_naive((w, h, a, b) in slices(any::<u16>())) {
            check(&a, Some(&b), w, h);
        }

        #[test]
        fn pair_u8_matches_naive((w, h, a, b) in slices(any::<u8>())) {
            check(&a, Some(&b), w, h);
        }

        /// Rows long enough for several of `pair_row_u8`'s blocks and a remainder.
        #[test]
        fn wide_pair_u8_matches_the_plain_loop(
            (w, a, b) in (2usize..300).prop_flat_map(|w| (
                Just(w),
                proptest::collection::vec(any::<u8>(), 2 * w),
                proptest::collection::vec(any::<u8>(), 2 * w),
            ))
        ) {
            let (a0, a1) = a.split_at(w);
            let (b0, b1) = b.split_at(w);
            let (mut fast, mut plain) = (vec![0u8; w / 2], vec![0u8; w / 2]);
            pair_row_u8(a0, a1, b0, b1, &mut fast);
            pair_row(a0, a1, b0, b1, &mut plain);
            prop_assert_eq!(fast, plain);
        }

        /// A pair in turn (the first slice halved, the second averaged in) gives the pair's
        /// bits, for every type, over rows long enough for several 8-bit blocks.
        #[test]
        fn in_turn_matches_the_pair(
            (w, a, b) in (2usize..300).prop_flat_map(|w| (
                Just(w),
                proptest::collection::vec(any::<u32>(), 2 * w),
                proptest::collection::vec(any::<u32>(), 2 * w),
            ))
        ) {
            fn both<T: Reduce + PartialEq + std::fmt::Debug>(
                w: usize,
                a: &[T],
                b: &[T],
                same: impl Fn(&[T], &[T]) -> bool,
            ) -> bool {
                let (a0, a1) = a.split_at(w);
                let (b0, b1) = b.split_at(w);
                let (mut pair, mut turn) = (vec![T::default(); w / 2], vec![T::default(); w / 2]);
                reduce_pair_row(a0, a1, b0, b1, &mut pair);
                halve_row(a0, a1, &mut turn);
                average_row(b0, b1, &mut turn);
                same(&pair, &turn)
            }
            let eq = |x: &[u8], y: &[u8]| x == y;
            prop_assert!(both(w, &a.iter().map(|&v| v as u8).collect::<Vec<_>>(), &b.iter().map(|&v| v as u8).collect::<Vec<_>>(), eq));
            let eq = |x: &[u16], y: &[u16]| x == y;
            prop_assert!(both(w, &a.iter().map(|&v| v as u16).collect::<Vec<_>>(), &b.iter().map(|&v| v as u16).collect::<Vec<_>>(), eq));
            let eq = |x: &[i16], y: &[i16]| x == y;
            prop_assert!(both(w, &a.iter().map(|&v| v as i16).collect::<Vec<_>>(), &b.iter().map(|&v| v as i16).collect::<Vec<_>>(), eq));
            let bits = |x: &[f32], y: &[f32]| x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()));
            prop_assert!(both(w, &a.iter().map(|&v| f32::from_bits(v)).collect::<Vec<_>>(), &b.iter().map(|&v| f32::from_bits(v)).collect::<Vec<_>>(), bits));
        }

        /// The 8-bit lone row's blocks against the plain loop.
        #[test]
        fn wide_lone_u8_matches_the_plain_loop(
            (w, a) in (2usize..300).prop_flat_map(|w| (
                Just(w),
                proptest::collection::vec(any::<u8>(), 2 * w),
            ))
        ) {
            let (a0, a1) = a.split_at(w);
            let (mut fast, mut plain) = (vec![0u8; w / 2], vec![0u8; w / 2]);
            halve_row(a0, a1, &mut fast);
            halve_row_int(a0, a1, &mut plain);
            prop_assert_eq!(fast, plain);
        }

        #[test]
        fn lone_matches_naive((w, h, a, _b) in slices(any::<u16>())) {
            check(&a, None, w, h);
        }

        /// Python's `>>` on negative numbers floors, as Rust's on signed integers does.
        #[test]
        fn pair_i16_matches_naive((w, h, a, b) in slices(any::<i16>())) {
            check(&a, Some(&b), w, h);
        }

        #[test]
        fn lone_u8_matches_naive((w, h, a, _b) in slices(any::<u8>())) {
            check(&a, None, w, h);
        }

        #[test]
        fn lone_i16_matches_naive((w, h, a, _b) in slices(any::<i16>())) {
            check(&a, None, w, h);
        }

        /// Every bit pattern, NaNs and infinities included: the same bits as the formula
        /// computed one pixel at a time in `f64`, rounded to `f32` after each operation.
        #[test]
        fn f32_matches_the_formula((w, h, a, b) in slices(any::<u32>())) {
            let a: Vec<f32> = a.into_iter().map(f32::from_bits).collect();
            let b: Vec<f32> = b.into_iter().map(f32::from_bits).collect();
            let (dw, dh) = (w / 2, h / 2);
            // Each step in f64 then rounded: exact for one addition or one multiplication
            // by a power of two, so the same as f32 arithmetic.
            let add = |x: f32, y: f32| (f64::from(x) + f64::from(y)) as f32;
            let mul = |x: f32, k: f64| (f64::from(x) * k) as f32;
            let block = |s: &[f32], y: usize, x: usize| {
                let at = |yy: usize, xx: usize| s[yy * w + xx];
                let top = add(at(2 * y, 2 * x), at(2 * y, 2 * x + 1));
                let bottom = add(at(2 * y + 1, 2 * x), at(2 * y + 1, 2 * x + 1));
                mul(add(top, bottom), 0.25)
            };
            for y in 0..dh {
                let row = |s: &[f32], r: usize| s[r * w..(r + 1) * w].to_vec();
                let mut pair = vec![0f32; dw];
                let mut lone = vec![0f32; dw];
                reduce_pair_row(&row(&a, 2 * y), &row(&a, 2 * y + 1), &row(&b, 2 * y), &row(&b, 2 * y + 1), &mut pair);
                halve_row(&row(&a, 2 * y), &row(&a, 2 * y + 1), &mut lone);
                for x in 0..dw {
                    let p = mul(add(block(&a, y, x), block(&b, y, x)), 0.5);
                    let same = |got: f32, want: f32| got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan());
                    prop_assert!(same(pair[x], p), "pair {x},{y}: {} vs {}", pair[x], p);
                    prop_assert!(same(lone[x], block(&a, y, x)), "lone {x},{y}");
                }
            }
        }
    }
}
