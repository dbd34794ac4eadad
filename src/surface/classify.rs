//! Which samples of a plane are inside the surface: PyMCubes's rule, a sample is inside when
//! its value is greater than the iso value, and one equal to it is outside. Each sample type
//! compares in its own arithmetic against a threshold that gives the same answer as the
//! comparison of the exact values (an integer against `floor(iso)`, a float against the
//! largest float not above `iso`), 64 samples to a word.

use rayon::prelude::*;

use super::bits::{first_columns, next, Bits};
use super::edge::{landings, snapped, Snapped};
use super::Rows;
use crate::pixel::Sample;

/// A sample type as marching cubes compares it with an iso value.
pub trait Classify: Sample + PartialOrd {
    /// Whether a sample can be NaN.
    const HAS_NAN: bool;
    /// The span of the type's values (infinite for floats).
    const RANGE: f64;
    /// Whether the sample is NaN.
    fn is_nan(self) -> bool;
    /// The comparison that tells, for every sample `v`, whether `v > iso`.
    fn threshold(iso: f64) -> Cut<Self>;
}

/// Which samples are inside, as a comparison in the samples' own type.
#[derive(Clone, Copy, Debug)]
pub enum Cut<T> {
    /// Every sample (the iso value is below the type's range).
    Every,
    /// No sample (it is at or above the type's range).
    No,
    /// The samples greater than this.
    Above(T),
}

impl<T: Copy + PartialOrd> Cut<T> {
    /// Whether `v` is inside.
    #[inline(always)]
    fn test(self, v: T) -> bool {
        match self {
            Cut::Every => true,
            Cut::No => false,
            Cut::Above(t) => v > t,
        }
    }
}

/// The threshold of an integer type of range `min..=max`: `v > iso` exactly when
/// `v > floor(iso)`.
fn integer_threshold<T>(iso: f64, min: f64, max: f64, of: impl Fn(f64) -> T) -> Cut<T> {
    match iso.floor() {
        f if f < min => Cut::Every,
        f if f >= max => Cut::No,
        f => Cut::Above(of(f)),
    }
}

macro_rules! integer_classify {
    ($t:ty) => {
        impl Classify for $t {
            const HAS_NAN: bool = false;
            const RANGE: f64 = <$t>::MAX as f64 - <$t>::MIN as f64;
            #[inline(always)]
            fn is_nan(self) -> bool {
                false
            }
            fn threshold(iso: f64) -> Cut<$t> {
                let (min, max) = (f64::from(<$t>::MIN), f64::from(<$t>::MAX));
                // Within the range, the whole number converts exactly.
                integer_threshold(iso, min, max, |v| v as $t)
            }
        }
    };
}

integer_classify!(u8);
integer_classify!(u16);
integer_classify!(i16);

impl Classify for f32 {
    const HAS_NAN: bool = true;
    const RANGE: f64 = f64::INFINITY;
    #[inline(always)]
    fn is_nan(self) -> bool {
        self.is_nan()
    }
    /// `v > iso` exactly when `v` is greater than the largest float not above `iso` (there
    /// is no float between the two).
    fn threshold(iso: f64) -> Cut<f32> {
        let nearest = iso as f32;
        Cut::Above(match f64::from(nearest) > iso {
            true => nearest.next_down(),
            false => nearest,
        })
    }
}

/// A plane classified: which samples are inside, which are NaN, and which of its edges'
/// vertices land on a sample.
pub struct Masks {
    /// Samples greater than the iso value (NaN is not).
    pub inside: Bits,
    /// NaN samples (None: there are none).
    pub nan: Option<Bits>,
    /// The x edges (along a row) and y edges (to the next row) the surface crosses whose
    /// vertex lands on one of their samples (None: there are none).
    pub landed: Option<[Snapped; 2]>,
}

impl Masks {
    /// Classifies the `width` x `height` samples of `rows` by `cut`, rows spread over the
    /// cores; with `iso`, finds where vertices land on samples (without, none can but at
    /// samples equal to the iso value, and there are none).
    pub fn new<T: Classify, R: Rows<T>>(
        rows: &R,
        width: usize,
        height: usize,
        cut: Cut<T>,
        iso: Option<f64>,
    ) -> Masks {
        let words = width.div_ceil(64);
        let mut inside = Bits::new(width, height);
        let mut nan = T::HAS_NAN.then(|| Bits::new(width, height));
        if words == 0 {
            return Masks {
                inside,
                nan: None,
                landed: None,
            };
        }
        let nan_rows: Vec<Option<&mut [u64]>> = match &mut nan {
            Some(b) => b.data_mut().chunks_mut(words).map(Some).collect(),
            None => (0..height).map(|_| None).collect(),
        };
        let any_nan = inside
            .data_mut()
            .par_chunks_mut(words)
            .zip(nan_rows)
            .enumerate()
            .with_min_len(8)
            .map_init(Vec::new, |scratch, (y, (inside, nan))| {
                let row = rows.row(y, scratch);
                classify_row(row, cut, inside, nan)
            })
            .reduce(|| false, |a, b| a | b);
        let landed = iso.and_then(|iso| landed(rows, &inside, width, height, iso));
        Masks {
            inside,
            nan: nan.filter(|_| any_nan),
            landed,
        }
    }
}

/// The x and y edges of a plane whose vertex lands on a sample, None if none does.
fn landed<T: Classify, R: Rows<T>>(
    rows: &R,
    inside: &Bits,
    width: usize,
    height: usize,
    iso: f64,
) -> Option<[Snapped; 2]> {
    let x = snapped(width, height, |y, first, second| {
        let a = inside.row(y);
        let mut scratch = Vec::new();
        let row = rows.row(y, &mut scratch);
        for i in 0..a.len() {
            let crossed = (a[i] ^ next(a, i)) & first_columns(width - 1, i);
            let [f, s] = landings(iso, crossed, i, |x| {
                (x as f64, row[x].to_f64(), row[x + 1].to_f64())
            });
            (first[i], second[i]) = (f, s);
        }
    });
    let y = snapped(width, height, |y, first, second| {
        if y + 1 >= height {
            first.fill(0);
            second.fill(0);
            return;
        }
        let (a, b) = (inside.row(y), inside.row(y + 1));
        let (mut s0, mut s1) = (Vec::new(), Vec::new());
        let (here, below) = (rows.row(y, &mut s0), rows.row(y + 1, &mut s1));
        for i in 0..a.len() {
            let [f, s] = landings(iso, a[i] ^ b[i], i, |x| {
                (y as f64, here[x].to_f64(), below[x].to_f64())
            });
            (first[i], second[i]) = (f, s);
        }
    });
    match (x, y) {
        (None, None) => None,
        (x, y) => {
            let none = || [Bits::new(width, height), Bits::new(width, height)];
            Some([x.unwrap_or_else(none), y.unwrap_or_else(none)])
        }
    }
}

/// One row's words of each mask; returns whether it has a NaN.
#[inline]
fn classify_row<T: Classify>(
    row: &[T],
    cut: Cut<T>,
    inside: &mut [u64],
    nan: Option<&mut [u64]>,
) -> bool {
    match cut {
        Cut::Above(t) => words(row, inside, |v| v > t),
        cut => words(row, inside, |v| cut.test(v)),
    }
    let mut any_nan = false;
    if let Some(nan) = nan {
        words(row, nan, |v| v.is_nan());
        any_nan = nan.iter().any(|&w| w != 0);
    }
    any_nan
}

/// Sets bit `x` of `out` to `test(row[x])`, 64 samples a word: the tests of eight samples
/// as eight bytes of 0 or 1 (vector compares), gathered into eight bits by a multiply.
#[inline(always)]
fn words<T: Copy>(row: &[T], out: &mut [u64], test: impl Fn(T) -> bool) {
    let mut chunks = row.chunks_exact(64);
    for (word, chunk) in out.iter_mut().zip(&mut chunks) {
        let mut bytes = [0u8; 64];
        for (b, &v) in bytes.iter_mut().zip(chunk) {
            *b = u8::from(test(v));
        }
        *word = bytes
            .chunks_exact(8)
            .enumerate()
            .fold(0, |word, (j, eight)| word | gather(eight) << (8 * j));
    }
    let rest = chunks.remainder();
    if let Some(last) = out.get_mut(row.len() / 64).filter(|_| !rest.is_empty()) {
        *last = rest
            .iter()
            .enumerate()
            .fold(0, |bits, (i, &v)| bits | u64::from(test(v)) << i);
    }
}

/// Eight bytes of 0 or 1 as eight bits, the first byte the lowest bit: the multiply moves
/// byte `k`'s bit to bit `56 + k`, with no carry into the top byte.
#[inline(always)]
fn gather(eight: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(eight);
    u64::from_le_bytes(b).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_bytes_gather_into_eight_bits() {
        for bits in 0..=255u64 {
            let bytes: Vec<u8> = (0..8).map(|k| (bits >> k & 1) as u8).collect();
            assert_eq!(gather(&bytes), bits);
        }
        let row: Vec<u16> = (0..150).map(|i| (i * 7 % 13) as u16).collect();
        let mut out = [0u64; 3];
        words(&row, &mut out, |v| v > 6);
        for (x, v) in row.iter().enumerate() {
            assert_eq!(out[x / 64] >> (x % 64) & 1 == 1, *v > 6, "{x}");
        }
    }

    /// The threshold's answer is the exact comparison's, for values around the iso value.
    #[test]
    fn thresholds_compare_as_the_exact_values() {
        let isos = [
            0.0, 0.5, -0.5, 9830.5, 9830.0, 255.0, 255.5, -32768.0, -32768.5, 1e-40, 0.1, 1e30,
            -1e300, 1e300,
        ];
        for iso in isos.into_iter().chain([f64::INFINITY, f64::NEG_INFINITY]) {
            let t = u16::threshold(iso);
            for v in [0u16, 1, 254, 255, 256, 9829, 9830, 9831, 65535] {
                assert_eq!(t.test(v), f64::from(v) > iso, "u16 {v} iso {iso}");
            }
            let t = i16::threshold(iso);
            for v in [i16::MIN, -1, 0, 1, i16::MAX] {
                assert_eq!(t.test(v), f64::from(v) > iso, "i16 {v} iso {iso}");
            }
            let t = u8::threshold(iso);
            for v in [0u8, 1, 127, 254, 255] {
                assert_eq!(t.test(v), f64::from(v) > iso, "u8 {v} iso {iso}");
            }
            let t = f32::threshold(iso);
            let near = iso as f32;
            let values = [
                near,
                near.next_up(),
                near.next_down(),
                0.0,
                -0.0,
                f32::MAX,
                f32::MIN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::NAN,
                1e-45,
            ];
            for v in values {
                assert_eq!(t.test(v), f64::from(v) > iso, "f32 {v} iso {iso}");
            }
        }
    }
}
