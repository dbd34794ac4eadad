//! Any box of any level, at the cost of the box: read into memory ([`RegionRead`], numpy's
//! way in) or written as files ([`crop`], CTHarvester's "save cropped image stack"). Level 0
//! is the input as `build` selects it; a level below it is read from the pyramid `build`
//! wrote. Where pixels are stored plainly, only the band of rows of the box is read from
//! each file, and only the box's columns of each row are copied, once, into the output.

mod copy;
mod level;
mod store;
mod write;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::events::{CropSummary, Event};
use crate::input::{ReadMode, Selection};
use crate::options::{OmeZarrOptions, OutputFormat, TiffLayout};
use crate::output::{Computed, StackTiff, WriteQueue};
use crate::pixel::{BufferPool, Depth};
use crate::publish;
use crate::region::{Region, RegionSpec};

pub(crate) use copy::{BoxReader, BoxSlice};
pub(crate) use level::{absolute, locate, Located};
use write::CropFiles;

/// Which box of which level to read.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// The folder of slices, or a multi-page TIFF (as for `build`).
    pub input: PathBuf,
    /// Which files of the folder are slices (as for `build`).
    pub selection: Selection,
    /// The level (0: the input; 1, 2, ...: the pyramid `build` wrote).
    pub level: usize,
    /// The box in the level's pixels and slices (each range None: the whole extent).
    pub region: RegionSpec,
    /// Where `build` wrote the pyramid (its `out`), for levels >= 1; by default where it
    /// writes it.
    pub pyramid: Option<PathBuf>,
    /// How input files are brought into memory (the pixels are the same whatever it is).
    pub reader: ReadMode,
    /// Set to stop between two slices: the call returns [`Error::Cancelled`].
    pub cancel: Option<Arc<AtomicBool>>,
}

impl ReadOptions {
    /// The whole of level 0 of the stack `input`, selected as `build` selects it.
    pub fn new(input: impl Into<PathBuf>) -> Self {
        ReadOptions {
            input: input.into(),
            selection: Selection::Auto,
            level: 0,
            region: RegionSpec::default(),
            pyramid: None,
            reader: ReadMode::Auto,
            cancel: None,
        }
    }
}

/// A box located and checked, ready to be read into a buffer of [`RegionRead::shape`].
pub struct RegionRead {
    located: Located,
    options: ReadOptions,
}

impl RegionRead {
    /// Finds the level and checks the box against it: an error names the axis, the level or
    /// the file; nothing is read yet.
    pub fn open(options: &ReadOptions) -> Result<RegionRead> {
        Ok(RegionRead {
            located: locate(options)?,
            options: options.clone(),
        })
    }

    /// The box.
    pub fn region(&self) -> &Region {
        &self.located.region
    }

    /// The sample type.
    pub fn depth(&self) -> Depth {
        self.located.depth
    }

    /// `[slices, rows, columns]` of the box: a C-contiguous array of this shape holds it.
    pub fn shape(&self) -> [usize; 3] {
        let r = &self.located.region;
        [r.z.len(), r.y.len(), r.x.len()]
    }

    /// Reads the box into `out` (exactly the box's bytes: [`RegionRead::shape`] samples of
    /// [`RegionRead::depth`], native byte order, aligned to the sample type), slice after
    /// slice in order.
    pub fn read_into(
        &self,
        out: &mut [u8],
        on_event: &mut dyn FnMut(Event),
    ) -> Result<CropSummary> {
        let start = Instant::now();
        let located = &self.located;
        let slice_bytes = located.region.slice_pixels() * located.depth.bytes();
        let expected = slice_bytes * located.region.z.len();
        if out.len() != expected {
            let reason = format!("expected {expected} bytes for the box, got {}", out.len());
            return Err(Error::invalid("out", "(buffer)", reason));
        }
        on_event(planned(
            located,
            &self.options,
            None,
            0,
            located.region.z.len(),
        ));
        let order: Vec<usize> = located.region.z.clone().collect();
        let mut reader = BoxReader::new(located, self.options.reader, &order)?;
        for (z, out) in located.region.z.clone().zip(out.chunks_mut(slice_bytes)) {
            check_cancel(&self.options)?;
            reader.read(z, out)?;
            let bytes = slice_bytes as u64;
            on_event(Event::SliceRead { index: z, bytes });
        }
        Ok(summary(located, None, &reader, (0, 0), None, start))
    }
}

/// Where and how a crop is written.
#[derive(Clone, Debug)]
pub struct CropOptions {
    /// The box to crop.
    pub read: ReadOptions,
    /// The folder the crop's files go to (TIFF), or the store (OME-Zarr).
    pub out: PathBuf,
    /// TIFF files (as `layout` says), or one OME-Zarr store of the crop with its own levels,
    /// as `build` makes them of a stack the crop's size.
    pub format: OutputFormat,
    /// One TIFF a slice (named after the input slices at level 0), or one multi-page TIFF.
    pub layout: TiffLayout,
    /// How the OME-Zarr store is written.
    pub zarr: OmeZarrOptions,
    /// The OME-Zarr store's levels continue while a level is wider or taller than this (as
    /// `build`'s).
    pub min_size: usize,
    /// Flush every file to disk before giving it its final name.
    pub durable: bool,
    /// Rewrite every file, even those an earlier run of the same crop completed.
    pub force: bool,
}

/// Writes the box `options.read` asks for into `options.out`: its files, then `crop.json`.
/// Files an earlier run of the same crop completed are kept; every file is complete under its
/// final name or absent.
pub fn crop(options: &CropOptions, on_event: &mut dyn FnMut(Event)) -> Result<CropSummary> {
    let start = Instant::now();
    let located = locate(&options.read)?;
    let pyramid = (located.level > 0).then(|| located.prepared.out_root.clone());
    located.check_out(&options.out, pyramid.as_deref())?;
    if options.format == OutputFormat::OmeZarr {
        // A store is built as a build writes (what is done stays when a slice fails): every
        // slice of the box is checked first (headers only), so that a slice of another size
        // stops the crop with nothing written.
        located.check_slices()?;
        return store::crop_to_store(located, options, on_event, start);
    }
    // TIFF files: each slice is checked as it is read (its header, then its band: one pass
    // over each file, which a spinning disk or a share reads with two short seeks); a slice
    // of another size, like a damaged one, stops the crop and removes the files it wrote.
    let files = CropFiles::new(&located, &options.out, options.layout)?;
    let kept = files.kept(options.force);
    let n_kept = kept.iter().filter(|&&k| k).count();
    let out = Some(options.out.as_path());
    on_event(planned(
        &located,
        &options.read,
        out,
        n_kept,
        kept.len() - n_kept,
    ));
    let note = located.prepared.note.as_deref();
    let record = files.record(&located, note)?;
    let current = files.prepare(&record, n_kept == kept.len())?;
    let order: Vec<usize> = located
        .region
        .z
        .clone()
        .zip(&kept)
        .filter(|(_, &k)| !k)
        .map(|(z, _)| z)
        .collect();
    let mut reader = BoxReader::new(&located, options.read.reader, &order)?;
    let mut new_files = Vec::new();
    let written = write_slices(
        &located,
        &files,
        &kept,
        options,
        &mut reader,
        &mut new_files,
        on_event,
    );
    let written = match written {
        Ok(n) => n,
        // A damaged slice or a full disk leaves no file of this run behind (a cancelled crop
        // keeps them: a rerun resumes).
        Err(e) => {
            if !matches!(e, Error::Cancelled) {
                for path in new_files {
                    let _ = std::fs::remove_file(path);
                }
            }
            return Err(e);
        }
    };
    let record = match current {
        true => files.out.join(write::RECORD),
        false => files.publish(&record, options.durable)?,
    };
    let record = level::absolute(&record);
    let files_kept = match options.layout {
        TiffLayout::Slices => n_kept,
        TiffLayout::Stack => usize::from(n_kept > 0),
    };
    Ok(summary(
        &located,
        out,
        &reader,
        (written, files_kept),
        Some(record),
        start,
    ))
}

/// Reads and writes the slices of the box that `kept` does not say are done: each file by the
/// write queue while the next slice is read.
fn write_slices(
    located: &Located,
    files: &CropFiles,
    kept: &[bool],
    options: &CropOptions,
    reader: &mut BoxReader,
    new_files: &mut Vec<PathBuf>,
    on_event: &mut dyn FnMut(Event),
) -> Result<usize> {
    let r = &located.region;
    let size = (r.x.len(), r.y.len(), located.depth);
    let pool = BufferPool::default();
    let stack = match (options.layout, kept.iter().all(|&k| k)) {
        (TiffLayout::Stack, false) => Some(StackTiff::create(
            files.out.join(write::STACK_FILE),
            files.header.clone(),
        )?),
        _ => None,
    };
    let mut queue = WriteQueue::<(usize, usize)>::new(&files.out, 8)?;
    let mut done = Done {
        files,
        level: located.level,
        first: r.z.start,
        written: 0,
        new_files,
    };
    let mut walk = |on_event: &mut dyn FnMut(Event)| -> Result<()> {
        for (k, z) in r.z.clone().enumerate().filter(|&(k, _)| !kept[k]) {
            check_cancel(&options.read)?;
            let mut read = Ok(());
            let pixels = Computed::new(&files.paths[k], size, &pool, |out| {
                read = reader.read(z, out)
            })?;
            read?;
            let bytes = (size.0 * size.1 * size.2.bytes()) as u64;
            on_event(Event::SliceRead { index: z, bytes });
            let job = match &stack {
                Some(stack) => stack.page(k, &pixels),
                None => {
                    let (path, header, durable) = (
                        files.paths[k].clone(),
                        files.header.clone(),
                        options.durable,
                    );
                    let pixels = pixels.share();
                    Box::new(move || {
                        publish::write_file(&path, &[&header.bytes, pixels.bytes()], durable)
                    })
                }
            };
            let count = usize::from(stack.is_none() || k + 1 == kept.len());
            done.report(queue.submit(Some((k, count)), job)?, on_event);
        }
        Ok(())
    };
    let walked = walk(on_event);
    let flushed = queue
        .finish()
        .map(|finished| done.report(finished, on_event));
    walked?;
    flushed?;
    if let Some(stack) = stack {
        stack.finish(options.durable)?;
    }
    Ok(done.written)
}

/// Files of a crop complete under their final names, reported as they come.
struct Done<'a> {
    files: &'a CropFiles,
    level: usize,
    /// The box's first slice: `k` of the queue's tags is slice `first + k`.
    first: usize,
    written: usize,
    new_files: &'a mut Vec<PathBuf>,
}

impl Done<'_> {
    /// Reports the queue's tags `(k, files)`: slice `k` of the box is in place, in `files`
    /// new files.
    fn report(&mut self, done: Vec<(usize, usize)>, on_event: &mut dyn FnMut(Event)) {
        for (k, count) in done {
            self.written += count;
            let path = &self.files.paths[k];
            if count > 0 {
                self.new_files.push(path.clone());
            }
            let index = self.first + k;
            on_event(Event::SliceWritten {
                level: self.level,
                index,
                path,
            });
        }
    }
}

/// Err(Cancelled) once the caller's cancel flag is set.
pub(crate) fn check_cancel(options: &ReadOptions) -> Result<()> {
    match &options.cancel {
        Some(flag) if flag.load(Ordering::Relaxed) => Err(Error::Cancelled),
        _ => Ok(()),
    }
}

/// The event that tells what will be read.
fn planned<'a>(
    located: &'a Located,
    options: &'a ReadOptions,
    out: Option<&'a std::path::Path>,
    kept: usize,
    to_read: usize,
) -> Event<'a> {
    let slice_bytes = (located.region.slice_pixels() * located.depth.bytes()) as u64;
    Event::CropPlanned {
        input: &options.input,
        level: located.level,
        region: &located.region,
        depth: located.depth,
        out,
        kept,
        to_read,
        bytes_to_read: slice_bytes * to_read as u64,
    }
}

fn summary(
    located: &Located,
    out: Option<&std::path::Path>,
    reader: &BoxReader,
    (files_written, files_kept): (usize, usize),
    record: Option<PathBuf>,
    start: Instant,
) -> CropSummary {
    let c = reader.counts;
    CropSummary {
        level: located.level,
        region: located.region.clone(),
        depth: located.depth,
        out: out.map(level::absolute),
        slices_read: c.slices_read,
        bytes_read: c.bytes_read,
        file_bytes_read: c.file_bytes_read,
        file_bytes: c.file_bytes,
        zero_copy_slices: c.zero_copy_slices,
        decoded_slices: c.decoded_slices,
        files_written,
        files_kept,
        record,
        elapsed: start.elapsed(),
    }
}
