//! Marching cubes over a volume given one plane (slice) at a time, in order: PyMCubes's
//! triangles, with every vertex made once and numbered before any triangle uses it, so that
//! vertices and triangles leave for the file as they are made and memory holds three planes
//! of bits whatever the size of the volume.
//!
//! A vertex lies on an edge of the sample grid that the surface crosses (one end inside, the
//! other not): within a plane along a row (x) or a column (y), or between two planes (z).
//! Where it lands exactly on one of the edge's samples (the sample equals the iso value, say:
//! [`super::edge`]) it is that sample's, shared by every edge landing there (a *point*).
//! A vertex exists if a triangle uses it, two of whose corners are not at one point. It
//! belongs to a *layer*: a plane (its points, x and y edges) and the slab of cubes above it
//! (its z edges). Whether a vertex of plane `k` is used depends on the cubes on both sides,
//! so when plane `j` comes, layer `j - 1` is numbered and its vertices made, then the
//! triangles of slab `j - 2`, all of whose vertices now have numbers.
//!
//! Which edges are used is found 64 columns at a time from the planes' bits for the cubes
//! with no NaN corner and no edge landing on a sample (*clean* cubes: every edge the surface
//! crosses is a vertex inside it: [`super::layer`]), and triangle by triangle for the others
//! ([`super::slab`]). A cube with a NaN corner makes no triangle (PyMCubes takes NaN as
//! inside and writes NaN vertices).

use std::collections::VecDeque;

use super::bits::each_bit;
use super::bits::Bits;
use super::classify::{Classify, Cut, Masks};
use super::edge::may_land;
use super::layer::{Fill, Numbers, Placement, Positions};
use super::slab::{z_landed, Grid, Pair, Slab, Vertex};
use super::Rows;
use crate::error::{Error, Result};

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

/// A plane classified, and its layer's numbers once they are made.
struct Layer {
    masks: Masks,
    numbers: Option<Numbers>,
}

/// The triangles of a range of cube rows as vertex numbers, and where it is in the
/// triangles of the slab's cubes that are not clean (made before).
#[derive(Default)]
struct Emitted {
    triangles: Vec<[u32; 3]>,
    degenerate: u64,
    /// Cubes that are not clean gone through, and their triangles.
    cubes: usize,
    made: usize,
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
            let (marks, unclean) = match clean {
                Some(_) => {
                    let (marks, unclean) = pair.unclean(&valid, &clean);
                    (Some(marks), unclean)
                }
                None => (None, Vec::new()),
            };
            let slab = Slab {
                valid,
                clean,
                marks,
                unclean,
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
        // PyMCubes's corners in the other order: its axes (z, y, x) are ours (x, y, z)
        // mirrored, and the reversed order keeps the triangle facing out as it does.
        let number = |[p, q, r]: [Vertex; 3]| {
            let n = |v: Vertex| {
                let (kind, y, x) = (usize::from(v.kind), v.y as usize, v.x as usize);
                layers[usize::from(v.upper)].number(kind, y, x) as u32
            };
            [n(p), n(r), n(q)]
        };
        let chunks = pair.each_cube_row(|chunk, y, mixed, out: &mut Emitted| {
            let r = y as isize;
            for (i, &mixed) in mixed.iter().enumerate() {
                let clean = grid.cubes(Some(&slab.clean), r, i);
                each_bit(mixed & grid.cubes(Some(&slab.valid), r, i), i, |x| {
                    if clean >> (x % 64) & 1 == 1 {
                        out.degenerate += pair.cube(y, x, |t| out.triangles.push(number(t)));
                    } else {
                        // Made when its vertices were found; its turn now.
                        let made = &slab.unclean[chunk];
                        let n = usize::from(made.counts[out.cubes]);
                        let these = &made.triangles[out.made..out.made + n];
                        out.triangles.extend(these.iter().map(|&t| number(t)));
                        (out.cubes, out.made) = (out.cubes + 1, out.made + n);
                    }
                });
            }
        });
        let degenerate: u64 = slab.unclean.iter().map(|u| u.degenerate).sum();
        self.tally.degenerate += degenerate;
        let window = Window {
            first: self.window_first,
            positions: &self.window,
        };
        for chunk in &chunks {
            sink.triangles(&chunk.triangles, &window)?;
            self.tally.triangles += chunk.triangles.len() as u64;
            self.tally.degenerate += chunk.degenerate;
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

#[cfg(test)]
mod tests {
    use super::super::edge::crossing;
    use super::super::tables::{CORNERS, EDGES, TRIANGLES};
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
