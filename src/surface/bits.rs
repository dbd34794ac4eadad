//! Planes of bits, one a sample, worked on 64 columns at a time: which samples are inside,
//! which edges the surface crosses, which of them carry a vertex and its number.

use rayon::prelude::*;

/// One bit a sample of a `width` x `height` plane, row by row: column `x` of a row is bit
/// `x % 64` of its word `x / 64`. Bits past the width are 0.
#[derive(Clone, Debug, Default)]
pub struct Bits {
    words: usize,
    data: Vec<u64>,
}

impl Bits {
    /// A plane of `width` x `height` zeros.
    pub fn new(width: usize, height: usize) -> Bits {
        let words = width.div_ceil(64);
        Bits {
            words,
            data: vec![0; words * height],
        }
    }

    /// A plane whose row `y` is `row(y, words)`, rows computed in parallel.
    pub fn from_rows(
        width: usize,
        height: usize,
        row: impl Fn(usize, &mut [u64]) + Sync + Send,
    ) -> Bits {
        let mut bits = Bits::new(width, height);
        if bits.words > 0 {
            bits.data
                .par_chunks_mut(bits.words)
                .enumerate()
                .with_min_len(16)
                .for_each(|(y, words)| row(y, words));
        }
        bits
    }

    /// Row `y`'s words.
    #[inline]
    pub fn row(&self, y: usize) -> &[u64] {
        &self.data[y * self.words..(y + 1) * self.words]
    }

    /// Whether column `x` of row `y` is set.
    #[inline]
    pub fn get(&self, y: usize, x: usize) -> bool {
        self.data[y * self.words + x / 64] >> (x % 64) & 1 == 1
    }

    /// Two planes whose rows `y` are `row(y, first, second)`, rows computed in parallel.
    pub fn pair_from_rows(
        width: usize,
        height: usize,
        row: impl Fn(usize, &mut [u64], &mut [u64]) + Sync + Send,
    ) -> [Bits; 2] {
        let [mut a, mut b] = [Bits::new(width, height), Bits::new(width, height)];
        let words = a.words;
        if words > 0 {
            a.data
                .par_chunks_mut(words)
                .zip(b.data.par_chunks_mut(words))
                .enumerate()
                .with_min_len(16)
                .for_each(|(y, (a, b))| row(y, a, b));
        }
        [a, b]
    }

    /// Sets column `x` of row `y`.
    #[inline]
    pub fn set(&mut self, y: usize, x: usize) {
        self.data[y * self.words + x / 64] |= 1 << (x % 64);
    }

    /// The set bits.
    pub fn count(&self) -> u64 {
        self.data.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// All rows' words, in order, to set.
    pub fn data_mut(&mut self) -> &mut [u64] {
        &mut self.data
    }
}

/// Word `i` of `row` seen one column on: bit `x` is column `x + 1`'s.
#[inline]
pub fn next(row: &[u64], i: usize) -> u64 {
    (row[i] >> 1) | row.get(i + 1).map_or(0, |w| w << 63)
}

/// Word `i` of a row whose columns `0..n` are set.
#[inline]
pub fn first_columns(n: usize, i: usize) -> u64 {
    let lo = i * 64;
    if n >= lo + 64 {
        !0
    } else if n <= lo {
        0
    } else {
        (1 << (n - lo)) - 1
    }
}

/// Calls `f` with the column of each set bit of word `i`, in order.
#[inline]
pub fn each_bit(mut word: u64, i: usize, mut f: impl FnMut(usize)) {
    while word != 0 {
        f(i * 64 + word.trailing_zeros() as usize);
        word &= word - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_cross_words() {
        let row = [1u64 << 63 | 1, 1];
        assert_eq!(next(&row, 0), 1 << 62 | 1 << 63);
        assert_eq!(next(&row, 1), 0);
        assert_eq!(first_columns(70, 0), !0);
        assert_eq!(first_columns(70, 1), 0b11_1111);
        assert_eq!(first_columns(64, 1), 0);
    }
}
