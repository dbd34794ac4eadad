//! A layer, a plane and the slab of cubes above it: which of its samples and edges are
//! vertices, numbered row by row, and where each vertex is.

use rayon::prelude::*;

use super::bits::{each_bit, first_columns, next};
use super::classify::{Classify, Masks};
use super::edge::along;
use super::slab::{Grid, Slab, POINT, X, Y, Z};
use super::Rows;

/// Where a vertex goes in the output: `scale * p + offset` on each axis (x, y, z), `p` its
/// position in the volume's samples (a column, a row, a plane, counted from the volume's
/// first).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    pub scale: [f64; 3],
    pub offset: [f64; 3],
}

impl Placement {
    /// Positions in samples: `p` itself.
    #[cfg(test)]
    pub const SAMPLES: Placement = Placement {
        scale: [1.0; 3],
        offset: [0.0; 3],
    };

    #[inline]
    pub fn place(&self, p: [f64; 3]) -> [f32; 3] {
        std::array::from_fn(|a| (p[a] * self.scale[a] + self.offset[a]) as f32)
    }
}

/// The vertices of a layer (a plane and the slab above it), numbered row by row from
/// `base`: in each row its points, then its x edges, y edges and z edges, each kind in
/// column order.
pub struct Numbers {
    pub base: u64,
    words: usize,
    /// Each word of each kind: the bits of the samples or edges that are vertices.
    kinds: Vec<[u64; 4]>,
    /// Each word of each kind: the vertices of its kind before it in its row.
    before: Vec<[u32; 4]>,
    /// Each row: the number, from `base`, of its first vertex of each kind.
    row_start: Vec<[u32; 4]>,
    pub count: u64,
}

impl Numbers {
    /// The number of the vertex of `kind` at row `y`, column `x`.
    #[inline]
    pub fn number(&self, kind: usize, y: usize, x: usize) -> u64 {
        let w = y * self.words + x / 64;
        let below = self.kinds[w][kind] & ((1u64 << (x % 64)) - 1);
        debug_assert!(
            self.kinds[w][kind] >> (x % 64) & 1 == 1,
            "no vertex {kind} {y} {x}"
        );
        let within = self.row_start[y][kind] + self.before[w][kind] + below.count_ones();
        self.base + u64::from(within)
    }
}

/// What numbering a layer needs: its plane, the next (None for the last), and the slabs
/// below and above it.
pub struct Fill<'a> {
    pub grid: Grid,
    pub this: &'a Masks,
    pub next: Option<&'a Masks>,
    pub below: Option<&'a Slab>,
    pub above: Option<&'a Slab>,
}

impl Fill<'_> {
    /// The layer's numbers from `base`, rows spread over the cores, in `spare`'s buffers
    /// (those of a layer done with: every word is written, none need be zeroed).
    pub fn numbers(&self, base: u64, spare: Option<Numbers>) -> Numbers {
        let (words, height) = (self.grid.words, self.grid.height);
        let (mut kinds, mut before) =
            spare.map_or((Vec::new(), Vec::new()), |n| (n.kinds, n.before));
        kinds.resize(words * height, [0; 4]);
        before.resize(words * height, [0; 4]);
        let mut counts = vec![[0u32; 4]; height];
        if words > 0 {
            // The columns that have a cube (all but the last).
            let columns: Vec<u64> = (0..words)
                .map(|i| first_columns(self.grid.width - 1, i))
                .collect();
            kinds
                .par_chunks_mut(words)
                .zip(before.par_chunks_mut(words))
                .zip(counts.par_iter_mut())
                .enumerate()
                .with_min_len(16)
                .for_each_init(
                    || vec![0u64; 4 * words],
                    |scratch, (y, ((kinds, before), count))| {
                        *count = self.row(y, &columns, scratch, kinds, before);
                    },
                );
        }
        let mut row_start = Vec::with_capacity(height);
        let mut total = 0u64;
        for count in &counts {
            let mut start = [0u32; 4];
            let mut at = total as u32;
            for kind in 0..4 {
                start[kind] = at;
                at += count[kind];
            }
            row_start.push(start);
            total = u64::from(at);
        }
        Numbers {
            base,
            words,
            kinds,
            before,
            row_start,
            count: total,
        }
    }

    /// Words `i` of cube row `r` of `slab` that are clean, into `out`.
    fn clean(&self, slab: Option<&Slab>, r: isize, columns: &[u64], out: &mut [u64]) {
        let row = usize::try_from(r)
            .ok()
            .filter(|&r| r + 1 < self.grid.height);
        match (slab, row) {
            (Some(Slab { clean: None, .. }), Some(_)) => out.copy_from_slice(columns),
            (
                Some(Slab {
                    clean: Some(bits), ..
                }),
                Some(r),
            ) => {
                for ((o, &b), &c) in out.iter_mut().zip(bits.row(r)).zip(columns) {
                    *o = b & c;
                }
            }
            _ => out.fill(0),
        }
    }

    /// Row `y`'s vertices of each kind (word by word) and the counts before each word;
    /// returns the row's count of each kind. `columns`: the columns with a cube; `scratch`:
    /// room for four rows of words.
    #[inline]
    fn row(
        &self,
        y: usize,
        columns: &[u64],
        scratch: &mut [u64],
        kinds: &mut [[u64; 4]],
        before: &mut [[u32; 4]],
    ) -> [u32; 4] {
        let (grid, r) = (self.grid, y as isize);
        // The clean cubes of the slabs below and above, at cube rows r and r - 1.
        let (below, rest) = scratch.split_at_mut(grid.words);
        let (above, rest) = rest.split_at_mut(grid.words);
        let (below_1, above_1) = rest.split_at_mut(grid.words);
        self.clean(self.below, r, columns, below);
        self.clean(self.above, r, columns, above);
        self.clean(self.below, r - 1, columns, below_1);
        self.clean(self.above, r - 1, columns, above_1);
        let a = self.this.inside.row(y);
        let b = (y + 1 < grid.height).then(|| self.this.inside.row(y + 1));
        let h = self.next.map(|n| n.inside.row(y));
        let (mut last_u, mut last_t) = (0u64, 0u64);
        for i in 0..grid.words {
            // An x edge is in the cubes of rows r - 1 and r; a y edge in those of row r at
            // columns x - 1 and x; a z edge in the slab above's of rows r - 1 and r, at
            // columns x - 1 and x.
            let u = below[i] | above[i];
            let t = above_1[i] | above[i];
            let mut w = [0u64; 4];
            w[X] = (a[i] ^ next(a, i)) & (u | below_1[i] | above_1[i]);
            if let Some(b) = b {
                w[Y] = (a[i] ^ b[i]) & (u | u << 1 | last_u >> 63);
            }
            if let Some(h) = h {
                w[Z] = (a[i] ^ h[i]) & (t | t << 1 | last_t >> 63);
            }
            (last_u, last_t) = (u, t);
            kinds[i] = w;
        }
        // What the other cubes of the slabs use, kind by kind.
        let below_marks = self.below.and_then(|s| s.marks.as_ref()).map(|m| &m.upper);
        let above_marks = self.above.and_then(|s| s.marks.as_ref()).map(|m| &m.lower);
        for marks in [below_marks, above_marks].into_iter().flatten() {
            for (kind, bits) in marks.iter().enumerate() {
                for (w, &m) in kinds.iter_mut().zip(bits.row(y)) {
                    w[kind] |= m;
                }
            }
        }
        let mut count = [0u32; 4];
        for (w, before) in kinds.iter().zip(before.iter_mut()) {
            *before = count;
            for kind in 0..4 {
                count[kind] += w[kind].count_ones();
            }
        }
        count
    }
}

/// Where a layer's vertices are: its plane's index, its rows and the next plane's.
pub struct Positions<'a, R> {
    pub grid: Grid,
    pub iso: f64,
    pub plane: f64,
    pub placement: Placement,
    pub this: &'a R,
    pub next: Option<&'a R>,
}

impl<R> Positions<'_, R> {
    /// The placed positions of the vertices `numbers` numbers, in their order, rows spread
    /// over the cores: a list for each range of rows.
    pub fn of<T: Classify>(&self, numbers: &Numbers) -> Vec<Vec<[f32; 3]>>
    where
        R: Rows<T>,
    {
        const ROWS: usize = 32;
        let (height, words) = (self.grid.height, self.grid.words);
        (0..height.div_ceil(ROWS))
            .into_par_iter()
            .map(|chunk| {
                let mut out = Vec::new();
                let mut scratch = [Vec::new(), Vec::new(), Vec::new()];
                for y in chunk * ROWS..((chunk + 1) * ROWS).min(height) {
                    let row = &numbers.kinds[y * words..(y + 1) * words];
                    if row.iter().any(|w| w.iter().any(|&w| w != 0)) {
                        self.row(y, row, &mut scratch, &mut out);
                    }
                }
                out
            })
            .collect()
    }

    /// Row `y`'s vertices (`row`: its words of each kind), in their order.
    fn row<T: Classify>(
        &self,
        y: usize,
        row: &[[u64; 4]],
        [s0, s1, s2]: &mut [Vec<T>; 3],
        out: &mut Vec<[f32; 3]>,
    ) where
        R: Rows<T>,
    {
        let (iso, k, yf, place) = (self.iso, self.plane, y as f64, self.placement);
        let here = self.this.row(y, s0);
        let any = |kind: usize| row.iter().any(|w| w[kind] != 0);
        for (i, w) in row.iter().enumerate() {
            each_bit(w[POINT], i, |x| out.push(place.place([x as f64, yf, k])));
        }
        for (i, w) in row.iter().enumerate() {
            each_bit(w[X], i, |x| {
                let at = along(iso, x as f64, here[x].to_f64(), here[x + 1].to_f64());
                out.push(place.place([at, yf, k]));
            });
        }
        if any(Y) {
            let below = self.this.row(y + 1, s1);
            for (i, w) in row.iter().enumerate() {
                each_bit(w[Y], i, |x| {
                    let at = along(iso, yf, here[x].to_f64(), below[x].to_f64());
                    out.push(place.place([x as f64, at, k]));
                });
            }
        }
        if let Some(next) = self.next.filter(|_| any(Z)) {
            let above = next.row(y, s2);
            for (i, w) in row.iter().enumerate() {
                each_bit(w[Z], i, |x| {
                    let at = along(iso, k, here[x].to_f64(), above[x].to_f64());
                    out.push(place.place([x as f64, yf, at]));
                });
            }
        }
    }
}
