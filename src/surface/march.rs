//! Marching cubes over a volume given one plane (slice) at a time, in order: PyMCubes's
//! triangles, with every vertex made once and numbered before any triangle uses it, so that
//! vertices and triangles leave for the file as they are made and memory holds three planes
//! of bits whatever the size of the volume.
//!
//! A vertex lies on an edge of the sample grid that the surface crosses (one end inside, the
//! other not): within a plane along a row (x) or a column (y), or between two planes (z).
//! Where the edge's outside end equals the iso value the vertex is that sample itself, and
//! every edge meeting there shares it: such a sample is a vertex of its own (a *point*).
//! A vertex exists if a triangle uses it, two of whose corners are not at one point. It
//! belongs to a *layer*: a plane (its points, x and y edges) and the slab of cubes above it
//! (its z edges). Whether a vertex of plane `k` is used depends on the cubes on both sides,
//! so when plane `j` comes, layer `j - 1` is numbered and its vertices made, then the
//! triangles of slab `j - 2`, all of whose vertices now have numbers.
//!
//! Which edges are used is found 64 columns at a time from the planes' bits for the cubes
//! with no corner at the iso value nor NaN (*clean* cubes: every edge the surface crosses is
//! a vertex inside it), and triangle by triangle for the others. A cube with a NaN corner
//! makes no triangle (PyMCubes takes NaN as inside and writes NaN vertices).

use std::collections::VecDeque;

use rayon::prelude::*;

use super::bits::{each_bit, first_columns, next, Bits};
use super::classify::{Classify, Cut, Masks};
use super::edge::{along, landings, may_land, Snapped};
use super::tables::TRIANGLES;
use super::Rows;
use crate::error::{Error, Result};

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
    fn place(&self, p: [f64; 3]) -> [f32; 3] {
        std::array::from_fn(|a| (p[a] * self.scale[a] + self.offset[a]) as f32)
    }
}

/// Where vertices and triangles go as they are made.
pub trait MeshSink {
    /// The next vertices, numbered on from those given before (from 0).
    fn vertices(&mut self, positions: &[[f32; 3]]) -> Result<()>;
    /// The next triangles, as vertex numbers, in the order of their corners that keeps the
    /// surface facing out (from the inside, above the iso value, to the outside). `window`
    /// has the position of every vertex they use.
    fn triangles(&mut self, triangles: &[[u32; 3]], window: &Window) -> Result<()>;
}

/// The positions of the vertices from number `first` on.
pub struct Window<'a> {
    first: u64,
    positions: &'a [[f32; 3]],
}

impl Window<'_> {
    /// The position of vertex `i`, one the triangles given with this window use.
    #[inline]
    pub fn position(&self, i: u32) -> [f32; 3] {
        self.positions[(u64::from(i) - self.first) as usize]
    }
}

/// What the surface was made of, counted as it goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Planes given.
    pub planes: usize,
    pub vertices: u64,
    pub triangles: u64,
    /// Triangles with two corners at one vertex (two edges meeting at a sample equal to the
    /// iso value), left out.
    pub degenerate: u64,
    /// Samples above the iso value, and samples that are not NaN.
    pub inside: u64,
    pub samples: u64,
    /// NaN samples.
    pub nan: u64,
}

/// The kinds of vertex of a layer, in the order a row numbers them.
const POINT: usize = 0;
const X: usize = 1;
const Y: usize = 2;
const Z: usize = 3;

/// The plane's size.
#[derive(Clone, Copy)]
struct Grid {
    width: usize,
    height: usize,
    words: usize,
}

impl Grid {
    /// Word `i` of cube row `r` of a slab: the cubes that exist and that `which` marks
    /// (None: all of them); 0 without a slab.
    #[inline]
    fn cubes(&self, slab: Option<&Option<Bits>>, r: isize, i: usize) -> u64 {
        let Some(which) = slab else { return 0 };
        if r < 0 || r as usize + 1 >= self.height {
            return 0;
        }
        let columns = first_columns(self.width - 1, i);
        match which {
            Some(bits) => bits.row(r as usize)[i] & columns,
            None => columns,
        }
    }
}

/// The vertices of a layer (a plane and the slab above it), numbered row by row from
/// `base`: in each row its points, then its x edges, y edges and z edges, each kind in
/// column order.
struct Numbers {
    base: u64,
    words: usize,
    /// Each word of each kind: the bits of the samples or edges that are vertices.
    kinds: Vec<[u64; 4]>,
    /// Each word of each kind: the vertices of its kind before it in its row.
    before: Vec<[u32; 4]>,
    /// Each row: the number, from `base`, of its first vertex of each kind.
    row_start: Vec<[u32; 4]>,
    count: u64,
}

impl Numbers {
    /// The number of the vertex of `kind` at row `y`, column `x`.
    #[inline]
    fn number(&self, kind: usize, y: usize, x: usize) -> u64 {
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

/// A plane classified, and its layer's numbers once they are made.
struct Layer {
    masks: Masks,
    numbers: Option<Numbers>,
}

/// What the cubes of a slab that are not clean use: of its lower plane and its upper plane
/// (points, x edges, y edges; z edges: the lower's), each a plane of bits at the sample an
/// edge starts at.
struct Marks {
    lower: [Bits; 4],
    upper: [Bits; 4],
}

/// The slab between two planes.
struct Slab {
    /// Cubes without a NaN corner (None: all).
    valid: Option<Bits>,
    /// Cubes without a NaN corner nor one at the iso value (None: all).
    clean: Option<Bits>,
    /// What its other valid cubes use (None: there are none).
    marks: Option<Marks>,
    /// Its z edges whose vertex lands on a sample (None: none does).
    z: Option<Snapped>,
}

/// Marching cubes over planes of `T` given one after another ([`Marcher::push`], then
/// [`Marcher::finish`]).
pub struct Marcher<T: Classify> {
    grid: Grid,
    iso: f64,
    cut: Cut<T>,
    /// The iso value, if a vertex can land on a sample other than one equal to it.
    landing: Option<f64>,
    placement: Placement,
    /// The last two planes: the one before the last has its numbers, the last not yet.
    layers: VecDeque<Layer>,
    /// The slab between them.
    slabs: VecDeque<Slab>,
    /// The number the next vertex gets.
    next_vertex: u64,
    /// The positions of vertices from `window_first` on: those the next triangles use.
    window: Vec<[f32; 3]>,
    window_first: u64,
    /// The numbers of the last layer done with: their buffers serve the next.
    spare: Option<Numbers>,
    pub tally: Tally,
}

impl<T: Classify> Marcher<T> {
    /// Marching cubes at `iso` over planes of `width` x `height`, placed by `placement`.
    pub fn new(width: usize, height: usize, iso: f64, placement: Placement) -> Marcher<T> {
        Marcher {
            grid: Grid {
                width,
                height,
                words: width.div_ceil(64),
            },
            iso,
            cut: T::threshold(iso),
            landing: Some(iso).filter(|&iso| may_land(iso, T::RANGE)),
            placement,
            layers: VecDeque::new(),
            slabs: VecDeque::new(),
            next_vertex: 0,
            window: Vec::new(),
            window_first: 0,
            spare: None,
            tally: Tally::default(),
        }
    }

    /// The next plane, `current`; `previous` is the plane given before it (None for the
    /// first). Vertices and triangles made go to `sink`.
    pub fn push<R: Rows<T>>(
        &mut self,
        previous: Option<&R>,
        current: &R,
        sink: &mut dyn MeshSink,
    ) -> Result<()> {
        let (width, height) = (self.grid.width, self.grid.height);
        let masks = Masks::new(current, width, height, self.cut, self.landing);
        self.count(&masks);
        if let Some(lower) = self.layers.back() {
            let Some(previous) = previous else {
                return Err(Error::Internal(
                    "a plane pushed without the one before".into(),
                ));
            };
            let k = (self.tally.planes - 1) as f64;
            let z = self.landing.and_then(|iso| {
                z_landed(
                    self.grid,
                    (&lower.masks, previous),
                    (&masks, current),
                    iso,
                    k,
                )
            });
            let pair = Pair {
                grid: self.grid,
                lo: &lower.masks,
                hi: &masks,
                z: z.as_ref(),
            };
            let (valid, clean) = (pair.cubes_without(false), pair.cubes_without(true));
            let marks = clean.as_ref().map(|_| pair.used_by_unclean(&valid, &clean));
            let slab = Slab {
                valid,
                clean,
                marks,
                z,
            };
            self.number_layer(previous, Some((&masks, current, &slab)), sink)?;
            self.slabs.push_back(slab);
        }
        if self.layers.len() == 2 {
            self.slab_triangles(sink)?;
        }
        self.layers.push_back(Layer {
            masks,
            numbers: None,
        });
        self.tally.planes += 1;
        Ok(())
    }

    /// No plane after the last one pushed, `last`: its layer is numbered and the last
    /// slab's triangles are made.
    pub fn finish<R: Rows<T>>(&mut self, last: &R, sink: &mut dyn MeshSink) -> Result<()> {
        if self.layers.back().is_some_and(|l| l.numbers.is_none()) {
            self.number_layer(last, None, sink)?;
        }
        if self.layers.len() == 2 {
            self.slab_triangles(sink)?;
        }
        Ok(())
    }

    /// Counts a plane's samples for the tally.
    fn count(&mut self, masks: &Masks) {
        let nan = masks.nan.as_ref().map_or(0, Bits::count);
        let t = &mut self.tally;
        t.inside += masks.inside.count();
        t.nan += nan;
        t.samples += (self.grid.width * self.grid.height) as u64 - nan;
    }

    /// Numbers the layer of the last plane pushed (`rows`; `above`: the next plane, its
    /// rows and the slab between, None for the last plane), makes its vertices and sends
    /// them to `sink`.
    fn number_layer<R: Rows<T>>(
        &mut self,
        rows: &R,
        above: Option<(&Masks, &R, &Slab)>,
        sink: &mut dyn MeshSink,
    ) -> Result<()> {
        let n = self.layers.len();
        let fill = Fill {
            grid: self.grid,
            this: &self.layers[n - 1].masks,
            next: above.map(|a| a.0),
            below: (n == 2).then(|| &self.slabs[self.slabs.len() - 1]),
            above: above.map(|a| a.2),
        };
        let numbers = fill.numbers(self.next_vertex, self.spare.take());
        let end = numbers.base + numbers.count;
        if end > u64::from(u32::MAX) {
            return Err(Error::invalid(
                "iso",
                self.iso,
                "the surface has more than 4294967295 vertices, more than 32-bit indices \
                 number: mesh a box or a level at a time",
            ));
        }
        let at = Positions {
            grid: self.grid,
            iso: self.iso,
            plane: (self.tally.planes - 1) as f64,
            placement: self.placement,
            this: rows,
            next: above.map(|a| a.1),
        };
        let start = self.window.len();
        for chunk in at.of(&numbers) {
            self.window.extend_from_slice(&chunk);
        }
        sink.vertices(&self.window[start..])?;
        self.next_vertex = end;
        self.tally.vertices = end;
        self.layers[n - 1].numbers = Some(numbers);
        Ok(())
    }

    /// The triangles of the slab between the two planes held, sent to `sink`; the lower
    /// plane and the slab are then done with.
    fn slab_triangles(&mut self, sink: &mut dyn MeshSink) -> Result<()> {
        let (Some(lo), Some(hi), Some(slab)) =
            (self.layers.front(), self.layers.get(1), self.slabs.front())
        else {
            return Err(Error::Internal("a slab without its planes".into()));
        };
        let (Some(lo_n), Some(hi_n)) = (&lo.numbers, &hi.numbers) else {
            return Err(Error::Internal("a slab's planes not numbered".into()));
        };
        let pair = Pair {
            grid: self.grid,
            lo: &lo.masks,
            hi: &hi.masks,
            z: slab.z.as_ref(),
        };
        let layers = [lo_n, hi_n];
        let grid = self.grid;
        let chunks = pair.each_cube_row(|y, mixed, out: &mut (Vec<[u32; 3]>, u64)| {
            let cubes = |i: usize| mixed[i] & grid.cubes(Some(&slab.valid), y as isize, i);
            out.1 += pair.triangles(y, cubes, |[p, q, r]| {
                // PyMCubes's corners in the other order: its axes (z, y, x) are ours
                // (x, y, z) mirrored, and the reversed order keeps the triangle facing
                // out as it does.
                let number = |v: Vertex| layers[v.upper as usize].number(v.kind, v.y, v.x) as u32;
                out.0.push([number(p), number(r), number(q)]);
            });
        });
        let window = Window {
            first: self.window_first,
            positions: &self.window,
        };
        for (triangles, degenerate) in &chunks {
            sink.triangles(triangles, &window)?;
            self.tally.triangles += triangles.len() as u64;
            self.tally.degenerate += degenerate;
        }
        // The upper layer's vertices are the first the next slab uses.
        let keep_from = hi_n.base;
        let drop = (keep_from - self.window_first) as usize;
        self.window.drain(..drop);
        self.window_first = keep_from;
        self.spare = self.layers.pop_front().and_then(|l| l.numbers);
        self.slabs.pop_front();
        Ok(())
    }
}

/// What numbering a layer needs: its plane, the next (None for the last), and the slabs
/// below and above it.
struct Fill<'a> {
    grid: Grid,
    this: &'a Masks,
    next: Option<&'a Masks>,
    below: Option<&'a Slab>,
    above: Option<&'a Slab>,
}

impl Fill<'_> {
    /// The layer's numbers from `base`, rows spread over the cores, in `spare`'s buffers
    /// (those of a layer done with: every word is written, none need be zeroed).
    fn numbers(&self, base: u64, spare: Option<Numbers>) -> Numbers {
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
struct Positions<'a, R> {
    grid: Grid,
    iso: f64,
    plane: f64,
    placement: Placement,
    this: &'a R,
    next: Option<&'a R>,
}

impl<R> Positions<'_, R> {
    /// The placed positions of the vertices `numbers` numbers, in their order, rows spread
    /// over the cores: a list for each range of rows.
    fn of<T: Classify>(&self, numbers: &Numbers) -> Vec<Vec<[f32; 3]>>
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

/// A vertex as where it is: in the lower or the upper layer of a slab, its kind, and the
/// sample it is at or its edge starts at.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Vertex {
    upper: bool,
    kind: usize,
    y: usize,
    x: usize,
}

/// Two planes classified, and the slab of cubes between them.
struct Pair<'a> {
    grid: Grid,
    lo: &'a Masks,
    hi: &'a Masks,
    /// The slab's z edges whose vertex lands on a sample.
    z: Option<&'a Snapped>,
}

/// The z edges between planes `lo` and `hi` (each with its rows) the surface crosses whose
/// vertex lands on a sample, `k` the lower plane's coordinate; None if none does.
fn z_landed<T: Classify, R: Rows<T>>(
    grid: Grid,
    (lo, lo_rows): (&Masks, &R),
    (hi, hi_rows): (&Masks, &R),
    iso: f64,
    k: f64,
) -> Option<Snapped> {
    let landed = Bits::pair_from_rows(grid.width, grid.height, |y, first, second| {
        let (a, b) = (lo.inside.row(y), hi.inside.row(y));
        let (mut s0, mut s1) = (Vec::new(), Vec::new());
        let (here, above) = (lo_rows.row(y, &mut s0), hi_rows.row(y, &mut s1));
        for i in 0..a.len() {
            let [f, s] = landings(iso, a[i] ^ b[i], i, |x| {
                (k, here[x].to_f64(), above[x].to_f64())
            });
            (first[i], second[i]) = (f, s);
        }
    });
    landed.iter().any(|b| b.count() > 0).then_some(landed)
}

impl Pair<'_> {
    /// The cubes with no NaN corner (`clean`: nor an edge whose vertex lands on a sample);
    /// None: all.
    fn cubes_without(&self, clean: bool) -> Option<Bits> {
        let nan: Vec<&Bits> = [self.lo, self.hi]
            .iter()
            .filter_map(|m| m.nan.as_ref())
            .collect();
        let plane = |m: &'_ Masks, kind: usize| -> Option<Bits> {
            let [first, second] = &m.landed.as_ref()?[kind];
            Some(Bits::or(first, second))
        };
        let landed = |kind: usize| -> Vec<Bits> {
            [self.lo, self.hi]
                .iter()
                .filter_map(|m| plane(m, kind))
                .collect()
        };
        let (x, y) = if clean {
            (landed(0), landed(1))
        } else {
            (Vec::new(), Vec::new())
        };
        let z: Option<Bits> = self.z.filter(|_| clean).map(|[f, s]| Bits::or(f, s));
        if nan.is_empty() && x.is_empty() && y.is_empty() && z.is_none() {
            return None;
        }
        let grid = self.grid;
        let (x, y, z): (Vec<&Bits>, Vec<&Bits>, Vec<&Bits>) =
            (x.iter().collect(), y.iter().collect(), z.iter().collect());
        let row_or =
            |bits: &[&Bits], y: usize, i: usize| bits.iter().fold(0, |w, b| w | b.row(y)[i]);
        Some(Bits::from_rows(grid.width, grid.height, |r, out| {
            if r + 1 >= grid.height {
                return;
            }
            // Per column: what rules out the cube starting there, and what rules out the
            // cube before it (the column's samples are its second corners).
            let (mut here, mut second): (Vec<u64>, Vec<u64>) = (Vec::new(), Vec::new());
            for i in 0..grid.words {
                let corners = row_or(&nan, r, i) | row_or(&nan, r + 1, i);
                // A cube's x edges start in its first column; its y and z edges in both.
                let starts = row_or(&x, r, i) | row_or(&x, r + 1, i);
                let both = row_or(&y, r, i) | row_or(&z, r, i) | row_or(&z, r + 1, i);
                here.push(corners | both | starts);
                second.push(corners | both);
            }
            for (i, word) in out.iter_mut().enumerate() {
                *word = !(here[i] | next(&second, i));
            }
        }))
    }

    /// What the valid cubes that are not clean (an edge landing on a sample) use: the
    /// vertices of their triangles, but those with two corners at one point.
    fn used_by_unclean(&self, valid: &Option<Bits>, clean: &Option<Bits>) -> Marks {
        let (grid, (w, h)) = (self.grid, (self.grid.width, self.grid.height));
        let chunks = self.each_cube_row(|y, mixed, out: &mut Vec<Vertex>| {
            let r = y as isize;
            let cubes = |i: usize| {
                mixed[i] & grid.cubes(Some(valid), r, i) & !grid.cubes(Some(clean), r, i)
            };
            self.triangles(y, cubes, |t| out.extend(t));
        });
        let zeros = || std::array::from_fn(|_| Bits::new(w, h));
        let mut marks = Marks {
            lower: zeros(),
            upper: zeros(),
        };
        for v in chunks.iter().flatten() {
            let plane = if v.upper {
                &mut marks.upper
            } else {
                &mut marks.lower
            };
            plane[v.kind].set(v.y, v.x);
        }
        marks
    }

    /// Calls `f` with each cube row `y` and the words of its cubes whose corners are not
    /// all inside nor all outside, rows spread over the cores, each range of rows with an
    /// output of its own; the outputs in row order.
    fn each_cube_row<O: Default + Send>(&self, f: impl Fn(usize, &[u64], &mut O) + Sync) -> Vec<O> {
        const ROWS: usize = 16;
        let rows = self.grid.height.saturating_sub(1);
        (0..rows.div_ceil(ROWS))
            .into_par_iter()
            .map(|chunk| {
                let mut out = O::default();
                let mut mixed = vec![0; self.grid.words];
                for y in chunk * ROWS..((chunk + 1) * ROWS).min(rows) {
                    self.mixed(y, &mut mixed);
                    f(y, &mixed, &mut out);
                }
                out
            })
            .collect()
    }

    /// The cubes of row `y` whose eight corners are not all inside nor all outside.
    fn mixed(&self, y: usize, out: &mut [u64]) {
        let (lo, hi) = (&self.lo.inside, &self.hi.inside);
        let (a, b, c, d) = (lo.row(y), lo.row(y + 1), hi.row(y), hi.row(y + 1));
        let differ = |i: usize| (a[i] ^ b[i]) | (a[i] ^ c[i]) | (a[i] ^ d[i]);
        // A cube is mixed where its corners at column x differ among themselves, or those
        // at x + 1 do, or the first row's two do.
        for (i, word) in out.iter_mut().enumerate() {
            let here = differ(i);
            let on = (here >> 1)
                | if i + 1 < a.len() {
                    differ(i + 1) << 63
                } else {
                    0
                };
            *word = here | on | (a[i] ^ next(a, i));
        }
    }

    /// Calls `f` with the vertices of each triangle of the cubes of row `y` that `cubes`
    /// marks (word by word), in PyMCubes's order; returns how many triangles it left out
    /// for having two corners at one point.
    #[inline]
    fn triangles(
        &self,
        y: usize,
        cubes: impl Fn(usize) -> u64,
        mut f: impl FnMut([Vertex; 3]),
    ) -> u64 {
        let (lo, hi) = (&self.lo.inside, &self.hi.inside);
        let rows = [lo.row(y), hi.row(y), hi.row(y + 1), lo.row(y + 1)];
        let mut degenerate = 0;
        for i in 0..self.grid.words {
            each_bit(cubes(i), i, |x| {
                let bit = |row: &[u64], x: usize| (row[x / 64] >> (x % 64) & 1) as usize;
                // PyMCubes's corners 0..3 (its axes are z, y, x) are column x of the rows
                // (lo, y), (hi, y), (hi, y + 1), (lo, y + 1); corners 4..7 column x + 1.
                // A case's bit is set for a corner outside.
                let case = (0..8).fold(0, |case, m| case | (1 - bit(rows[m % 4], x + m / 4)) << m);
                for edges in TRIANGLES[case] {
                    let [p, q, r] = edges.map(|e| self.edge_vertex(e, y, x));
                    if p == q || q == r || r == p {
                        degenerate += 1;
                    } else {
                        f([p, q, r]);
                    }
                }
            });
        }
        degenerate
    }

    /// The vertex on edge `e` (PyMCubes's numbers) of the cube at row `y`, column `x`.
    #[inline]
    fn edge_vertex(&self, e: u8, y: usize, x: usize) -> Vertex {
        let (lo, hi) = ((self.lo, false), (self.hi, true));
        match e {
            0 => self.z_edge(y, x),
            2 => self.z_edge(y + 1, x),
            4 => self.z_edge(y, x + 1),
            6 => self.z_edge(y + 1, x + 1),
            3 => edge(lo, Y, y, x),
            7 => edge(lo, Y, y, x + 1),
            1 => edge(hi, Y, y, x),
            5 => edge(hi, Y, y, x + 1),
            8 => edge(lo, X, y, x),
            11 => edge(lo, X, y + 1, x),
            9 => edge(hi, X, y, x),
            _ => edge(hi, X, y + 1, x),
        }
    }

    /// The vertex on the z edge at row `y`, column `x`: the lower layer's, or the sample at
    /// either end it lands on.
    #[inline]
    fn z_edge(&self, y: usize, x: usize) -> Vertex {
        match landed(self.z, y, x) {
            Some(0) => Vertex {
                upper: false,
                kind: POINT,
                y,
                x,
            },
            Some(_) => Vertex {
                upper: true,
                kind: POINT,
                y,
                x,
            },
            None => Vertex {
                upper: false,
                kind: Z,
                y,
                x,
            },
        }
    }
}

/// Which end the edge starting at row `y`, column `x` of `landed` lands on, if it does.
#[inline]
fn landed(landed: Option<&Snapped>, y: usize, x: usize) -> Option<usize> {
    let [first, second] = landed?;
    match (first.get(y, x), second.get(y, x)) {
        (true, _) => Some(0),
        (_, true) => Some(1),
        _ => None,
    }
}

/// The vertex on the edge of `kind` (X or Y) of a plane (`.1`: the upper of a pair)
/// starting at row `y`, column `x`: the sample at the end it lands on, else the edge's own.
#[inline]
fn edge((masks, upper): (&Masks, bool), kind: usize, y: usize, x: usize) -> Vertex {
    let (y1, x1) = if kind == X { (y, x + 1) } else { (y + 1, x) };
    match landed(masks.landed.as_ref().map(|l| &l[kind - X]), y, x) {
        Some(0) => Vertex {
            upper,
            kind: POINT,
            y,
            x,
        },
        Some(_) => Vertex {
            upper,
            kind: POINT,
            y: y1,
            x: x1,
        },
        None => Vertex { upper, kind, y, x },
    }
}

#[cfg(test)]
mod tests {
    use super::super::edge::crossing;
    use super::super::tables::{CORNERS, EDGES};
    use super::super::Samples;
    use super::*;
    use proptest::prelude::*;

    /// A mesh collected whole: vertices, and triangles as positions.
    #[derive(Default)]
    struct Collect {
        vertices: Vec<[f32; 3]>,
        triangles: Vec<[u32; 3]>,
        seen: Vec<[[f32; 3]; 3]>,
    }

    impl MeshSink for Collect {
        fn vertices(&mut self, positions: &[[f32; 3]]) -> Result<()> {
            self.vertices.extend_from_slice(positions);
            Ok(())
        }
        fn triangles(&mut self, triangles: &[[u32; 3]], window: &Window) -> Result<()> {
            self.triangles.extend_from_slice(triangles);
            // Positions as the window has them, when the triangles come.
            self.seen
                .extend(triangles.iter().map(|t| t.map(|i| window.position(i))));
            Ok(())
        }
    }

    fn march<T: Classify>(volume: &[Vec<T>], width: usize, height: usize, iso: f64) -> Collect {
        let mut sink = Collect::default();
        let mut marcher = Marcher::<T>::new(width, height, iso, Placement::SAMPLES);
        let planes: Vec<Samples<T>> = volume
            .iter()
            .map(|s| Samples { samples: s, width })
            .collect();
        for (k, plane) in planes.iter().enumerate() {
            let previous = k.checked_sub(1).map(|p| &planes[p]);
            marcher.push(previous, plane, &mut sink).unwrap();
        }
        marcher.finish(planes.last().unwrap(), &mut sink).unwrap();
        assert_eq!(marcher.tally.triangles as usize, sink.triangles.len());
        sink
    }

    /// Marching cubes cube by cube, as PyMCubes computes it (volume[z][y][x], corner
    /// inside when greater than iso), every vertex computed from its edge: the triangles'
    /// positions in (x, y, z), corners reversed; those with two corners at one point, and
    /// cubes with a NaN corner, left out.
    fn naive<T: Classify>(volume: &[Vec<T>], w: usize, h: usize, iso: f64) -> Vec<[[f32; 3]; 3]> {
        let value = |[z, y, x]: [usize; 3]| volume[z][y * w + x].to_f64();
        let mut out = Vec::new();
        for z in 0..volume.len().saturating_sub(1) {
            for y in 0..h.saturating_sub(1) {
                for x in 0..w.saturating_sub(1) {
                    let corner = |m: usize| {
                        let [dz, dy, dx] = CORNERS[m];
                        [z + dz, y + dy, x + dx]
                    };
                    let values: Vec<f64> = (0..8).map(|m| value(corner(m))).collect();
                    if values.iter().any(|v| v.is_nan()) {
                        continue;
                    }
                    let case = (0..8).fold(0, |c, m| c | usize::from(values[m] <= iso) << m);
                    for tri in TRIANGLES[case] {
                        let p = tri.map(|e| {
                            let [m0, m1] = EDGES[usize::from(e)];
                            let (a, b) = (corner(m0), corner(m1));
                            let t = crossing(iso, values[m0], values[m1]);
                            let at = |i: usize| a[i] as f64 + t * (b[i] as f64 - a[i] as f64);
                            [at(2), at(1), at(0)]
                        });
                        if p[0] == p[1] || p[1] == p[2] || p[0] == p[2] {
                            continue;
                        }
                        let p = p.map(|c| c.map(|v| v as f32));
                        out.push([p[0], p[2], p[1]]);
                    }
                }
            }
        }
        out
    }

    /// A triangle with its corners rotated to start at the least: the same cycle, one form.
    fn canonical(t: [[f32; 3]; 3]) -> [[f32; 3]; 3] {
        let first = (0..3)
            .min_by(|&a, &b| t[a].partial_cmp(&t[b]).unwrap())
            .unwrap();
        [t[first], t[(first + 1) % 3], t[(first + 2) % 3]]
    }

    fn sorted(mut triangles: Vec<[[f32; 3]; 3]>) -> Vec<[[f32; 3]; 3]> {
        for t in &mut triangles {
            *t = canonical(*t);
        }
        triangles.sort_by(|a, b| a.partial_cmp(b).unwrap());
        triangles
    }

    /// The marcher's triangles are the naive ones, within float rounding, every vertex is
    /// used, and no two vertices are at one place.
    fn check<T: Classify>(volume: &[Vec<T>], w: usize, h: usize, iso: f64) {
        let mesh = march(volume, w, h, iso);
        let ours: Vec<[[f32; 3]; 3]> = mesh
            .triangles
            .iter()
            .map(|t| t.map(|i| mesh.vertices[i as usize]))
            .collect();
        assert_eq!(ours, mesh.seen, "the window's positions are the vertices'");
        let (ours, theirs) = (sorted(ours), sorted(naive(volume, w, h, iso)));
        assert_eq!(ours.len(), theirs.len(), "triangles at iso {iso}");
        for (a, b) in ours.iter().zip(&theirs) {
            let close = a
                .iter()
                .flatten()
                .zip(b.iter().flatten())
                .all(|(p, q)| (p - q).abs() < 1e-4);
            assert!(close, "{a:?} != {b:?} at iso {iso}");
        }
        let mut used = vec![false; mesh.vertices.len()];
        for &i in mesh.triangles.iter().flatten() {
            used[i as usize] = true;
        }
        assert!(used.iter().all(|&u| u), "a vertex no triangle uses");
        let mut places: Vec<[u32; 3]> = mesh.vertices.iter().map(|p| p.map(f32::to_bits)).collect();
        places.sort();
        places.dedup();
        assert_eq!(
            places.len(),
            mesh.vertices.len(),
            "two vertices at one place"
        );
    }

    fn volume<T: Copy>(
        d: usize,
        h: usize,
        w: usize,
        mut f: impl FnMut(usize, usize, usize) -> T,
    ) -> Vec<Vec<T>> {
        (0..d)
            .map(|z| (0..h * w).map(|i| f(z, i / w, i % w)).collect())
            .collect()
    }

    #[test]
    fn a_ball_is_closed_and_faces_out() {
        let ball = volume(12, 13, 70, |z, y, x| {
            let r2 =
                (x as f32 - 40.3).powi(2) + (y as f32 - 6.2).powi(2) + (z as f32 - 5.7).powi(2);
            25.0 - r2
        });
        check(&ball, 70, 13, 0.0);
        let mesh = march(&ball, 70, 13, 0.0);
        // Every edge of the surface is in two triangles, once each way.
        let mut edges = std::collections::HashMap::new();
        for t in &mesh.triangles {
            for k in 0..3 {
                *edges.entry((t[k], t[(k + 1) % 3])).or_insert(0) += 1;
            }
        }
        for (&(a, b), &n) in &edges {
            assert_eq!((n, edges.get(&(b, a))), (1, Some(&1)), "edge {a}-{b}");
        }
        // Facing out: the signed volume the triangles enclose is positive, about the ball's.
        let volume: f64 = mesh
            .triangles
            .iter()
            .map(|t| {
                let [a, b, c] = t.map(|i| mesh.vertices[i as usize].map(f64::from));
                let cross = [
                    b[1] * c[2] - b[2] * c[1],
                    b[2] * c[0] - b[0] * c[2],
                    b[0] * c[1] - b[1] * c[0],
                ];
                (a[0] * cross[0] + a[1] * cross[1] + a[2] * cross[2]) / 6.0
            })
            .sum();
        let ball = 4.0 / 3.0 * std::f64::consts::PI * 125.0;
        assert!((volume - ball).abs() < 0.05 * ball, "{volume} vs {ball}");
    }

    #[test]
    fn samples_at_the_iso_value_are_one_vertex() {
        // Small integers: many samples equal the iso value.
        let v = volume(5, 7, 9, |z, y, x| ((x * 7 + y * 3 + z * 5) % 5) as u8);
        for iso in [0.0, 1.0, 2.0, 2.5, 4.0, 5.0, -1.0] {
            check(&v, 9, 7, iso);
        }
    }

    #[test]
    fn nan_cubes_make_nothing_and_infinities_their_limit() {
        let v = volume(4, 6, 67, |z, y, x| match (x + 2 * y + 3 * z) % 11 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            n => n as f32 - 5.0,
        });
        for iso in [0.0, 0.5, -3.0, 3.0] {
            check(&v, 67, 6, iso);
        }
    }

    #[test]
    fn vertices_landing_on_one_sample_are_one() {
        // Beside infinite samples the vertices land on the finite ones (the limit).
        let mut v = volume(2, 2, 2, |_, _, _| -1.0f32);
        v[0][1] = f32::INFINITY;
        v[0][2] = f32::INFINITY;
        check(&v, 2, 2, 0.0);
        let mesh = march(&v, 2, 2, 0.0);
        assert_eq!(mesh.vertices.len(), 4, "{:?}", mesh.vertices);
        // Interpolation that rounds onto the sample: every vertex at (1, 1, 0), no triangle.
        let mut v = volume(2, 3, 3, |_, _, _| -1.0f32);
        v[0][4] = 1e-45;
        let mesh = march(&v, 3, 3, 0.0);
        assert!(mesh.triangles.is_empty() && mesh.vertices.is_empty());
        check(&v, 3, 3, 0.0);
    }

    #[test]
    fn thin_volumes_have_no_cube() {
        for (d, h, w) in [(1, 5, 5), (5, 1, 5), (5, 5, 1), (1, 1, 1)] {
            let v = volume(d, h, w, |z, y, x| (x + y + z) as u16);
            let mesh = march(&v, w, h, 2.0);
            assert!(mesh.vertices.is_empty() && mesh.triangles.is_empty());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn random_volumes_match_the_naive_march(
            d in 1usize..5, h in 1usize..6, w in 1usize..140, seed in any::<u64>(), iso in 0u8..4
        ) {
            // Values 0..4: every case, and many samples at the iso value.
            let mut state = seed | 1;
            let v = volume(d, h, w, |_, _, _| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % 4) as i16 - 1
            });
            check(&v, w, h, f64::from(iso) - 1.0);
            check(&v, w, h, f64::from(iso) - 0.5);
        }
    }
}
