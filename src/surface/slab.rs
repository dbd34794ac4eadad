//! The slab of cubes between two classified planes: which cubes make triangles (no NaN
//! corner), which are *clean* (no edge whose vertex lands on a sample: every edge the surface
//! crosses is a vertex inside it), what the others use, and each cube's triangles as
//! vertices named by where they are.

use rayon::prelude::*;

use super::bits::{each_bit, first_columns, next, Bits};
use super::classify::{Classify, Masks};
use super::edge::{landings, snapped, Snapped};
use super::tables::TRIANGLES;
use super::Rows;

/// The kinds of vertex of a layer, in the order a row numbers them.
pub const POINT: usize = 0;
pub const X: usize = 1;
pub const Y: usize = 2;
pub const Z: usize = 3;

/// The plane's size.
#[derive(Clone, Copy)]
pub struct Grid {
    pub width: usize,
    pub height: usize,
    pub words: usize,
}

impl Grid {
    /// Word `i` of cube row `r` of a slab: the cubes that exist and that `which` marks
    /// (None: all of them); 0 without a slab.
    #[inline]
    pub fn cubes(&self, slab: Option<&Option<Bits>>, r: isize, i: usize) -> u64 {
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

/// What the cubes of a slab that are not clean use: of its lower plane and its upper plane
/// (points, x edges, y edges; z edges: the lower's), each a plane of bits at the sample an
/// edge starts at.
pub struct Marks {
    pub lower: [Bits; 4],
    pub upper: [Bits; 4],
}

/// The triangles of the cubes of a range of rows that are not clean, made once to find what
/// they use and kept for their turn: each cube's count, in cube order, and the triangles.
#[derive(Default)]
pub struct Unclean {
    pub triangles: Vec<[Vertex; 3]>,
    pub counts: Vec<u8>,
    /// Triangles left out for having two corners at one point.
    pub degenerate: u64,
}

/// The slab between two planes.
pub struct Slab {
    /// Cubes without a NaN corner (None: all).
    pub valid: Option<Bits>,
    /// Cubes without a NaN corner nor one at the iso value (None: all).
    pub clean: Option<Bits>,
    /// What its other valid cubes use (None: there are none), and their triangles, each
    /// range of rows' (empty: none).
    pub marks: Option<Marks>,
    pub unclean: Vec<Unclean>,
    /// Its z edges whose vertex lands on a sample (None: none does).
    pub z: Option<Snapped>,
}

/// A vertex as where it is: in the lower or the upper layer of a slab, its kind, and the
/// sample it is at or its edge starts at.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Vertex {
    pub upper: bool,
    pub kind: u8,
    pub y: u32,
    pub x: u32,
}

impl Vertex {
    /// The vertex of `kind` of the lower or upper plane at row `y`, column `x` (both below
    /// 2^32: a plane's sides are TIFF's 32-bit widths and heights).
    #[inline]
    fn at(upper: bool, kind: usize, y: usize, x: usize) -> Vertex {
        Vertex {
            upper,
            kind: kind as u8,
            y: y as u32,
            x: x as u32,
        }
    }
}

/// Two planes classified, and the slab of cubes between them.
pub struct Pair<'a> {
    pub grid: Grid,
    pub lo: &'a Masks,
    pub hi: &'a Masks,
    /// The slab's z edges whose vertex lands on a sample.
    pub z: Option<&'a Snapped>,
}

/// The z edges between planes `lo` and `hi` (each with its rows) the surface crosses whose
/// vertex lands on a sample, `k` the lower plane's coordinate; None if none does.
pub fn z_landed<T: Classify, R: Rows<T>>(
    grid: Grid,
    (lo, lo_rows): (&Masks, &R),
    (hi, hi_rows): (&Masks, &R),
    iso: f64,
    k: f64,
) -> Option<Snapped> {
    snapped(grid.width, grid.height, |y, first, second| {
        let (a, b) = (lo.inside.row(y), hi.inside.row(y));
        let (mut s0, mut s1) = (Vec::new(), Vec::new());
        let (here, above) = (lo_rows.row(y, &mut s0), hi_rows.row(y, &mut s1));
        for i in 0..a.len() {
            let [f, s] = landings(iso, a[i] ^ b[i], i, |x| {
                (k, here[x].to_f64(), above[x].to_f64())
            });
            (first[i], second[i]) = (f, s);
        }
    })
}

impl Pair<'_> {
    /// The cubes with no NaN corner (`clean`: nor an edge whose vertex lands on a sample);
    /// None: all.
    pub fn cubes_without(&self, clean: bool) -> Option<Bits> {
        let (lo, hi, z) = (self.lo, self.hi, self.z.filter(|_| clean));
        let landing = clean && (lo.landed.is_some() || hi.landed.is_some() || z.is_some());
        if lo.nan.is_none() && hi.nan.is_none() && !landing {
            return None;
        }
        let (grid, words) = (self.grid, self.grid.words);
        let nan = |m: &Masks, r: usize, i: usize| m.nan.as_ref().map_or(0, |b| b.row(r)[i]);
        let landed = |pair: Option<&Snapped>, r: usize, i: usize| {
            pair.map_or(0, |[first, second]| first.row(r)[i] | second.row(r)[i])
        };
        let edges = |m: &Masks, kind: usize, r: usize, i: usize| match clean {
            true => landed(m.landed.as_ref().map(|l| &l[kind]), r, i),
            false => 0,
        };
        Some(Bits::from_rows(grid.width, grid.height, |r, out| {
            if r + 1 >= grid.height {
                return;
            }
            // What rules out a cube from either of its two columns of corners: a NaN corner,
            // a y or z edge landing; from its first column alone: an x edge landing.
            let either = |i: usize| {
                let rows = [(lo, r), (lo, r + 1), (hi, r), (hi, r + 1)];
                let nan = rows.iter().fold(0, |w, &(m, r)| w | nan(m, r, i));
                nan | edges(lo, 1, r, i)
                    | edges(hi, 1, r, i)
                    | landed(z, r, i)
                    | landed(z, r + 1, i)
            };
            let first = |i: usize| {
                let rows = [(lo, r), (lo, r + 1), (hi, r), (hi, r + 1)];
                rows.iter().fold(0, |w, &(m, r)| w | edges(m, 0, r, i))
            };
            let mut this = either(0);
            for (i, word) in out.iter_mut().enumerate() {
                let following = if i + 1 < words { either(i + 1) } else { 0 };
                *word = !(this | first(i) | this >> 1 | following << 63);
                this = following;
            }
        }))
    }

    /// The triangles of the valid cubes that are not clean (an edge landing on a sample),
    /// those with two corners at one point left out, and what they use.
    pub fn unclean(&self, valid: &Option<Bits>, clean: &Option<Bits>) -> (Marks, Vec<Unclean>) {
        let (grid, (w, h)) = (self.grid, (self.grid.width, self.grid.height));
        let chunks = self.each_cube_row(|_, y, mixed, out: &mut Unclean| {
            let r = y as isize;
            let cubes = |i: usize| {
                mixed[i] & grid.cubes(Some(valid), r, i) & !grid.cubes(Some(clean), r, i)
            };
            for i in 0..grid.words {
                each_bit(cubes(i), i, |x| {
                    let before = out.triangles.len();
                    out.degenerate += self.cube(y, x, |t| out.triangles.push(t));
                    // At most five triangles a cube.
                    out.counts.push((out.triangles.len() - before) as u8);
                });
            }
        });
        let zeros = || std::array::from_fn(|_| Bits::new(w, h));
        let mut marks = Marks {
            lower: zeros(),
            upper: zeros(),
        };
        for v in chunks.iter().flat_map(|c| c.triangles.iter().flatten()) {
            let plane = if v.upper {
                &mut marks.upper
            } else {
                &mut marks.lower
            };
            plane[usize::from(v.kind)].set(v.y as usize, v.x as usize);
        }
        (marks, chunks)
    }

    /// Calls `f` with each cube row `y` (and the range of rows it is in, numbered from 0)
    /// and the words of its cubes whose corners are not all inside nor all outside, rows
    /// spread over the cores, each range of rows with an output of its own; the outputs in
    /// row order. The ranges are the same for every pass over one slab.
    pub fn each_cube_row<O: Default + Send>(
        &self,
        f: impl Fn(usize, usize, &[u64], &mut O) + Sync,
    ) -> Vec<O> {
        const ROWS: usize = 16;
        let rows = self.grid.height.saturating_sub(1);
        (0..rows.div_ceil(ROWS))
            .into_par_iter()
            .map(|chunk| {
                let mut out = O::default();
                let mut mixed = vec![0; self.grid.words];
                for y in chunk * ROWS..((chunk + 1) * ROWS).min(rows) {
                    self.mixed(y, &mut mixed);
                    f(chunk, y, &mixed, &mut out);
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

    /// Calls `f` with the vertices of each triangle of the cube at row `y`, column `x`, in
    /// PyMCubes's order; returns how many it left out for having two corners at one point.
    #[inline]
    pub fn cube(&self, y: usize, x: usize, mut f: impl FnMut([Vertex; 3])) -> u64 {
        let (lo, hi) = (&self.lo.inside, &self.hi.inside);
        let rows = [lo.row(y), hi.row(y), hi.row(y + 1), lo.row(y + 1)];
        let bit = |row: &[u64], x: usize| (row[x / 64] >> (x % 64) & 1) as usize;
        // PyMCubes's corners 0..3 (its axes are z, y, x) are column x of the rows (lo, y),
        // (hi, y), (hi, y + 1), (lo, y + 1); corners 4..7 column x + 1. A case's bit is set
        // for a corner outside.
        let case = (0..8).fold(0, |case, m| case | (1 - bit(rows[m % 4], x + m / 4)) << m);
        let mut degenerate = 0;
        for edges in TRIANGLES[case] {
            let [p, q, r] = edges.map(|e| self.edge_vertex(e, y, x));
            if p == q || q == r || r == p {
                degenerate += 1;
            } else {
                f([p, q, r]);
            }
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
            Some(0) => Vertex::at(false, POINT, y, x),
            Some(_) => Vertex::at(true, POINT, y, x),
            None => Vertex::at(false, Z, y, x),
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
        Some(0) => Vertex::at(upper, POINT, y, x),
        Some(_) => Vertex::at(upper, POINT, y1, x1),
        None => Vertex::at(upper, kind, y, x),
    }
}
