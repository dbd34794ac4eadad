//! The surface of any box of any level at an iso value, streamed: the box's slices are read
//! in order as a crop reads them (level 0 from the input, levels below from the pyramid
//! `build` wrote; zero-copy where the pixels are stored plainly), marching cubes runs over
//! each pair of slices as it comes ([`crate::surface`]), and vertices and triangles go to
//! the file as they are made ([`crate::output::mesh`]) or into arrays. Memory holds two
//! slices and three planes of bits, whatever the number of slices and triangles.

use std::path::Path;
use std::time::Instant;

use crate::crop::{check_cancel, locate, BoxReader, BoxSlice, Located, ReadOptions};
use crate::error::{Error, Result};
use crate::events::{Event, MeshSummary};
use crate::options::{MeshFormat, Units};
use crate::output::mesh::{MeshArrays, MeshFile};
use crate::pixel::Plane;
use crate::plan::centre_um;
use crate::surface::{Classify, Marcher, MeshSink, Placement, Rows, Samples, Tally};

/// Which surface of which box to make.
#[derive(Clone, Debug)]
pub struct MeshOptions {
    /// The box of the level, and how to read it (as for a crop).
    pub read: ReadOptions,
    /// The iso value, in the samples' units: a sample greater than it is inside.
    pub iso: f64,
    /// The vertices' coordinates.
    pub units: Units,
}

impl MeshOptions {
    /// The surface at `iso` of the whole of level 0 of `input`, in voxels.
    pub fn new(input: impl Into<std::path::PathBuf>, iso: f64) -> Self {
        MeshOptions {
            read: ReadOptions::new(input),
            iso,
            units: Units::Voxel,
        }
    }
}

/// Writes the surface `options` asks for to the file `out`, in the format its extension
/// names (`.ply`, `.stl`, `.obj`); flushed to disk before it is renamed if `durable`. The
/// file is complete under its name or absent: a damaged slice, a full disk or a cancel
/// leaves nothing.
pub fn mesh(
    options: &MeshOptions,
    out: &Path,
    durable: bool,
    on_event: &mut dyn FnMut(Event),
) -> Result<MeshSummary> {
    let format = MeshFormat::of(out)?;
    let job = Job::open(options)?;
    let mut file = MeshFile::create(out, format, &job.comments())?;
    let mut summary = job.run(&mut file, Some((out, format)), on_event)?;
    // A cancel during the last slice leaves no file either.
    check_cancel(&options.read)?;
    let bytes = file.finish(durable)?;
    let out = crate::crop::absolute(out);
    summary.out = Some((out, format, bytes));
    Ok(summary)
}

/// The surface `options` asks for, in memory.
pub fn mesh_arrays(
    options: &MeshOptions,
    on_event: &mut dyn FnMut(Event),
) -> Result<(MeshArrays, MeshSummary)> {
    let job = Job::open(options)?;
    let mut arrays = MeshArrays::default();
    let summary = job.run(&mut arrays, None, on_event)?;
    Ok((arrays, summary))
}

/// A mesh asked for, its box located and checked.
struct Job<'a> {
    options: &'a MeshOptions,
    located: Located,
    placement: Placement,
}

impl<'a> Job<'a> {
    /// Checks the iso value, finds the level and the box, and where vertices go.
    fn open(options: &'a MeshOptions) -> Result<Job<'a>> {
        if options.iso.is_nan() {
            return Err(Error::invalid(
                "iso",
                "NaN",
                "not a number: the iso value is the sample value the surface passes through",
            ));
        }
        let located = locate(&options.read)?;
        let placement = placement(&located, options)?;
        Ok(Job {
            options,
            located,
            placement,
        })
    }

    /// What the file says of itself: what was meshed, and the coordinates.
    fn comments(&self) -> Vec<String> {
        let (l, r) = (&self.located, &self.located.region);
        let coordinates = match (self.options.units, l.voxel_um) {
            (Units::Um, Some(voxel)) => format!(
                "x y z in micrometres (level {} voxel {voxel} um) from the centre of the \
                 input's first voxel, as crop.json's origin_um",
                l.level
            ),
            _ => format!(
                "x y z in voxels of level {}, the level's first voxel at 0 0 0",
                l.level
            ),
        };
        vec![
            format!(
                "ctpyramid {} marching cubes (PyMCubes's triangles) at iso {}",
                env!("CARGO_PKG_VERSION"),
                self.options.iso
            ),
            format!(
                "level {}, box {} ({}x{} x {} {})",
                l.level,
                r.describe(),
                r.x.len(),
                r.y.len(),
                r.z.len(),
                l.depth
            ),
            coordinates,
            "faces wound counter-clockwise seen from outside (samples at or below the iso)"
                .to_string(),
        ]
    }

    /// Reads the box's slices in order and marches through them into `sink`.
    fn run(
        &self,
        sink: &mut dyn MeshSink,
        out: Option<(&Path, MeshFormat)>,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<MeshSummary> {
        let start = Instant::now();
        let (located, options) = (&self.located, self.options);
        let region = &located.region;
        let slice_bytes = (region.slice_pixels() * located.depth.bytes()) as u64;
        on_event(Event::MeshPlanned {
            input: &options.read.input,
            level: located.level,
            region,
            depth: located.depth,
            iso: options.iso,
            units: options.units,
            out,
            to_read: region.z.len(),
            bytes_to_read: slice_bytes * region.z.len() as u64,
        });
        let order: Vec<usize> = region.z.clone().collect();
        let mut reader = BoxReader::new(located, options.read.reader, &order)?;
        let tally =
            crate::with_sample!(located.depth, T => self.march::<T>(&mut reader, sink, on_event))?;
        let c = reader.counts;
        Ok(MeshSummary {
            level: located.level,
            region: region.clone(),
            depth: located.depth,
            iso: options.iso,
            units: options.units,
            voxel_um: located.voxel_um,
            out: None,
            vertices: tally.vertices,
            triangles: tally.triangles,
            degenerate: tally.degenerate,
            nan_samples: tally.nan,
            slices_read: c.slices_read,
            bytes_read: c.bytes_read,
            file_bytes_read: c.file_bytes_read,
            zero_copy_slices: c.zero_copy_slices,
            decoded_slices: c.decoded_slices,
            warning: warning(&tally, region, options.iso),
            elapsed: start.elapsed(),
        })
    }

    /// Marching cubes over the box's slices of `T`, each slice read once, in order, and
    /// held until the next one is through.
    fn march<T: Classify>(
        &self,
        reader: &mut BoxReader,
        sink: &mut dyn MeshSink,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Tally> {
        let region = &self.located.region;
        let (width, height) = (region.x.len(), region.y.len());
        let mut marcher = Marcher::<T>::new(width, height, self.options.iso, self.placement);
        let mut previous: Option<Held<T>> = None;
        for z in region.z.clone() {
            check_cancel(&self.options.read)?;
            let current = Held::<T>::of(reader.next(z)?, width);
            let rows = previous.as_ref().map(Held::rows);
            marcher.push(rows.as_ref(), &current.rows(), sink)?;
            let bytes = (width * height * self.located.depth.bytes()) as u64;
            on_event(Event::SliceRead { index: z, bytes });
            previous = Some(current);
        }
        if let Some(last) = &previous {
            marcher.finish(&last.rows(), sink)?;
        }
        Ok(marcher.tally)
    }
}

/// Where vertices go: the level's voxels, the box's origin included, or micrometres as
/// crop.json places voxel centres.
fn placement(located: &Located, options: &MeshOptions) -> Result<Placement> {
    let r = &located.region;
    let origin = [r.x.start, r.y.start, r.z.start].map(|s| s as f64);
    match options.units {
        Units::Voxel => Ok(Placement {
            scale: [1.0; 3],
            offset: origin,
        }),
        Units::Um => {
            let voxel = located.prepared.plan.voxel_um;
            let level = located.level;
            let (Some(scale), Some(_)) = (located.voxel_um, voxel) else {
                return Err(Error::invalid(
                    "units",
                    "um",
                    format!(
                        "the voxel size of {} is not known (no SkyScan log, no resolution \
                         in the TIFF header, none recorded by build): build with \
                         --voxel-size UM first, or mesh in voxels",
                        options.read.input.display()
                    ),
                ));
            };
            let offset = origin.map(|o| centre_um(voxel, level, o).unwrap_or(0.0));
            Ok(Placement {
                scale: [scale; 3],
                offset,
            })
        }
    }
}

/// Why a mesh is empty, when a person should hear it.
fn warning(tally: &Tally, region: &crate::region::Region, iso: f64) -> Option<String> {
    if tally.triangles > 0 {
        return None;
    }
    let thin = [
        ("columns", &region.x),
        ("rows", &region.y),
        ("slices", &region.z),
    ]
    .into_iter()
    .find(|(_, r)| r.len() < 2);
    if let Some((axis, _)) = thin {
        return Some(format!(
            "the box is one of {axis} thick: marching cubes needs two of each, so the mesh \
             is empty"
        ));
    }
    if tally.samples == 0 {
        return Some("every sample of the box is NaN: the mesh is empty".into());
    }
    if tally.inside == 0 {
        return Some(format!(
            "iso {iso} is at or above every sample of the box: the mesh is empty"
        ));
    }
    if tally.inside == tally.samples {
        return Some(format!(
            "iso {iso} is below every sample of the box: the mesh is empty"
        ));
    }
    None
}

/// A slice held while the next one is read: the file's slice (its rows read in place), or
/// samples copied out of a store's chunks.
enum Held<T> {
    File(Box<crate::input::SliceFile>),
    Samples(Vec<T>, usize),
}

impl<T: Classify> Held<T> {
    fn of(slice: BoxSlice, width: usize) -> Held<T> {
        match slice {
            BoxSlice::File(slice) => Held::File(slice),
            BoxSlice::Stored(bytes) => {
                let mut samples = vec![T::default(); bytes.len() / std::mem::size_of::<T>()];
                bytemuck::cast_slice_mut(&mut samples).copy_from_slice(bytes);
                Held::Samples(samples, width)
            }
        }
    }

    fn rows(&self) -> SliceRows<'_, T> {
        match self {
            Held::File(slice) => SliceRows::Plane(slice.plane::<T>()),
            Held::Samples(samples, width) => SliceRows::Samples(Samples {
                samples,
                width: *width,
            }),
        }
    }
}

/// The rows of a held slice.
enum SliceRows<'a, T> {
    Plane(Plane<'a, T>),
    Samples(Samples<'a, T>),
}

impl<T: Classify> Rows<T> for SliceRows<'_, T> {
    #[inline]
    fn row<'s>(&'s self, y: usize, scratch: &'s mut Vec<T>) -> &'s [T] {
        match self {
            SliceRows::Plane(p) => Rows::row(p, y, scratch),
            SliceRows::Samples(s) => s.row(y, scratch),
        }
    }
}
