//! The slab of cubes between two classified planes: which cubes make triangles (no NaN
//! corner), which are *clean* (no edge whose vertex lands on a sample: every edge the surface
//! crosses is a vertex inside it), what the others use, and each cube's triangles as
//! vertices named by where they are.

use rayon::prelude::*;

use super::bits::{each_bit, first_columns, next, Bits};
use super::classify::{Classify, Masks};
use super::edge::{landings, Snapped};
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

/// The slab between two planes.
pub struct Slab {
    /// Cubes without a NaN corner (None: all).
    pub valid: Option<Bits>,
    /// Cubes without a NaN corner nor one at the iso value (None: all).
    pub clean: Option<Bits>,
    /// What its other valid cubes use (None: there are none).
    pub marks: Option<Marks>,
    /// Its z edges whose vertex lands on a sample (None: none does).
    pub z: Option<Snapped>,
}

/// A vertex as where it is: in the lower or the upper layer of a slab, its kind, and the
/// sample it is at or its edge starts at.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Vertex {
    pub upper: bool,
    pub kind: usize,
    pub y: usize,
    pub x: usize,
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
    pub fn cubes_without(&self, clean: bool) -> Option<Bits> {
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
    pub fn used_by_unclean(&self, valid: &Option<Bits>, clean: &Option<Bits>) -> Marks {
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
    pub fn each_cube_row<O: Default + Send>(
        &self,
        f: impl Fn(usize, &[u64], &mut O) + Sync,
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
    pub fn triangles(
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
