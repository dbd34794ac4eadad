//! Writing the levels: one place picks the output format ([`open`]), and each format is a
//! module of its own behind the one interface the cascade writes levels through
//! ([`LevelWriter`]), as image-tiff keeps one file per codec:
//!
//! - [`tiff_slices`]: CTHarvester's `<out>/<L>/<k:06>.tif`, one baseline TIFF a slice;
//! - [`tiff_stack`]: one multi-page TIFF a level, that ImageJ opens as a z-stack;
//! - [`ome_zarr`]: one OME-Zarr multiscale store, level 0 the input itself.
//!
//! What the formats share lives here: output pixels computed into a reused buffer
//! ([`Computed`]) and written by a [`Writer`] thread while the cores compute the next slice,
//! and crash-safe publishing. A file is written under a hidden temporary name
//! (`.000012.tif.partial`) and renamed to its final name only once every byte is in it, so a
//! crash or a kill leaves either a complete file or none under the final name. Space is
//! reserved for real before any pixel is computed (`fallocate`, not a sparse `set_len`): a
//! full disk is then an error on creation instead of a failed write, or a SIGBUS in a map,
//! halfway through.

pub mod ome_zarr;
pub mod tiff_slices;
pub mod tiff_stack;

use std::fs::{File, OpenOptions};
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;

use memmap2::MmapMut;

use crate::decode::{BufferPool, Pooled};
use crate::error::{Error, Result};
use crate::kernel::Sample;
use crate::layout::{Depth, Encoding, SliceLayout};
use crate::manifest::Record;
use crate::plane::Plane;
use crate::platform;
use crate::pyramid::{Layout, Plan, Source};
use crate::sigbus::Registration;
use crate::slice::SliceFile;

pub use ome_zarr::{Codec, Ngff, OmeZarrOptions};
pub use tiff_slices::{is_complete, OutputTiff};
pub use tiff_stack::StackTiff;

/// The output format (also the CLI's `--format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// TIFF files, laid out as `--layout` says (CTHarvester's one file a slice by default).
    #[default]
    Tiff,
    /// One OME-Zarr multiscale store: level 0 the input, levels 1.. the pyramid.
    OmeZarr,
}

impl OutputFormat {
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Tiff => "tiff",
            OutputFormat::OmeZarr => "ome-zarr",
        }
    }
}

/// Outputs complete under their final names: level `level` slices `slices`, in `files` new
/// files (0 for a page of a stack file not yet renamed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub level: usize,
    pub slices: Range<usize>,
    pub files: usize,
}

/// What an earlier run left: which outputs are complete, level by level.
pub struct Scan {
    /// `levels[l - 1][k]`: level `l` slice `k` is complete on disk and this build's.
    pub levels: Vec<Vec<bool>>,
    /// `input[k]`: input slice `k` is stored and complete, for a format that stores the input
    /// as its level 0 ([`LevelWriter::stores_input`]); empty otherwise.
    pub input: Vec<bool>,
    /// Outputs on disk that belong to another build (other inputs or options): none of them
    /// is kept.
    pub stale: bool,
}

/// How thoroughly [`LevelWriter::scan`] checks what is on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Every output that may be kept is read back as far as needed to trust it (resuming).
    Thorough,
    /// Presence under the final name is enough: anything there was published complete by
    /// this build or one of its shards (deciding whether the whole pyramid is done).
    Present,
}

/// The interface the cascade writes levels through. The cascade hands over each output
/// slice, level by level in ascending order within a level, and with [`stores_input`] each
/// input slice too; a format decides how they are laid out, written and published.
///
/// [`stores_input`]: LevelWriter::stores_input
pub trait LevelWriter {
    /// Whether the input itself is stored, as level 0.
    fn stores_input(&self) -> bool {
        false
    }

    /// Creates folders and removes what an earlier run left that this run will not overwrite
    /// (only for the input slices `range`: other shards may be writing the rest).
    fn prepare(&mut self, range: &Range<usize>) -> Result<()>;

    /// Which outputs of `range` an earlier run completed for this very build (none if
    /// `force`).
    fn scan(&self, force: bool, range: &Range<usize>, check: Check) -> Result<Scan>;

    /// How many files hold level `level`'s slices `slices` (level 0: the stored input), a
    /// run that [`LevelWriter::scan`] found all complete or all missing: what `kept` and
    /// `files_written` count. One file a slice unless a format says otherwise.
    fn files(&self, _level: usize, slices: &Range<usize>) -> usize {
        slices.len()
    }

    /// Called once before the first output is written, when something will be.
    fn begin(&mut self, scan: &Scan) -> Result<()>;

    /// Stores input slice `index` (only if [`LevelWriter::stores_input`]).
    fn write_input(
        &mut self,
        _index: usize,
        _slice: &SliceFile,
        _writer: &mut Writer<Written>,
    ) -> Result<Vec<Written>> {
        Ok(Vec::new())
    }

    /// Computes level `level` slice `index` with `fill` (given its pixel bytes, native
    /// byte order, rows of the level's width) and writes it (or queues it on `writer`).
    /// Returns the pixels, kept for the next level, and the outputs completed since.
    fn write(
        &mut self,
        level: usize,
        index: usize,
        fill: &mut dyn FnMut(&mut [u8]),
        writer: &mut Writer<Written>,
    ) -> Result<(Finished, Vec<Written>)>;

    /// Level `level` slice `index`, complete from an earlier run, read back as a source of
    /// the next level.
    fn read_back(&self, level: usize, index: usize) -> Result<Source>;

    /// Once every output was handed over and `writer` is idle: completes what is written
    /// whole (a stack file is renamed).
    fn finish(&mut self, writer: &mut Writer<Written>) -> Result<Vec<Written>>;

    /// The file (or folder) a level `level` slice `index` is written to, for events.
    fn path(&self, level: usize, index: usize) -> PathBuf;

    /// The mark of a complete pyramid: `pyramid.json`, or the OME-Zarr group metadata.
    fn mark(&self) -> &dyn Mark;
}

/// The mark of a complete pyramid, written last: its presence means every output is there.
pub trait Mark {
    /// Whether one is there, and whether it records this build.
    fn recorded(&self) -> Recorded;

    /// Removes it: the pyramid is about to change.
    fn unpublish(&self) -> Result<()>;

    /// Writes it, once every output is complete; returns its path.
    fn publish(&self) -> Result<PathBuf>;

    /// Where it is.
    fn path(&self) -> PathBuf;
}

/// The mark of a complete pyramid found in the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    None,
    /// Written for this build.
    Current,
    /// Written for other inputs or options.
    Stale,
}

/// Everything a format needs to know about the build.
pub struct Target<'a> {
    pub plan: &'a Plan,
    pub out_root: &'a Path,
    pub durable: bool,
    pub writer: WriteMode,
    /// What `pyramid.json` records (TIFF formats).
    pub record: Record,
}

/// The one place that picks the output format.
pub fn open<'a>(
    format: OutputFormat,
    layout: Layout,
    zarr: &OmeZarrOptions,
    target: Target<'a>,
) -> Result<Box<dyn LevelWriter + 'a>> {
    Ok(match (format, layout) {
        (OutputFormat::Tiff, Layout::Slices) => Box::new(tiff_slices::TiffSlices::new(target)?),
        (OutputFormat::Tiff, Layout::Stack) => Box::new(tiff_stack::TiffStack::new(target)?),
        #[cfg(feature = "ome-zarr")]
        (OutputFormat::OmeZarr, _) => Box::new(ome_zarr::OmeZarr::new(target, zarr)?),
        #[cfg(not(feature = "ome-zarr"))]
        (OutputFormat::OmeZarr, _) => {
            let _ = (zarr, target);
            return Err(Error::Usage(
                "--format ome-zarr: this ctpyramid was built without the ome-zarr feature".into(),
            ));
        }
    })
}

/// How output pixels reach their file (also the CLI's `--writer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum WriteMode {
    /// The kernels fill a buffer reused from file to file, written with one `write` call by a
    /// thread of its own while the next slice is computed: no page fault per output page (the
    /// faster; see README "Performance").
    #[default]
    Buffered,
    /// The file is mapped writable and the kernels fill the map in place.
    Mapped,
}

/// Where the pixels of an output slice are computed, and kept while the next level needs them.
pub(crate) enum Pixels {
    /// Fields drop in order: the registration before the map is unmapped.
    Map {
        _registration: Registration,
        map: MmapMut,
    },
    /// Shared with the [`Writer`] until it has written them.
    Buffer(Arc<Pooled>),
}

/// Flushes `file` if `durable` and renames it from its temporary name to `final_path`.
pub(crate) fn publish(
    mut tmp: TemporaryFile,
    file: &File,
    final_path: &Path,
    durable: bool,
) -> Result<()> {
    let publish = || -> io::Result<()> {
        if durable {
            file.sync_all()?;
        }
        platform::rename(&tmp.path, final_path)?;
        if durable {
            if let Some(dir) = final_path.parent() {
                platform::sync_dir(dir)?;
            }
        }
        Ok(())
    };
    publish().map_err(|e| Error::write(final_path, e))?;
    tmp.keep = true;
    Ok(())
}

/// Output pixels computed into a buffer: written by a [`Writer`] job while the next level
/// reads them from memory.
pub struct Computed {
    pixels: Arc<Pooled>,
    layout: SliceLayout,
}

impl Computed {
    /// Computes `(width, height, depth)` pixels with `fill` into a buffer of `pool`;
    /// `path` names the output in an error.
    pub fn new(
        path: &Path,
        (width, height, depth): (usize, usize, Depth),
        pool: &BufferPool,
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<Computed> {
        let mut buffer = pool.take();
        let bytes = buffer
            .bytes_mut(width * height * depth.bytes())
            .map_err(|reason| Error::write(path, io::Error::other(reason)))?;
        // Buffers start on a page boundary: a cast to samples never fails.
        fill(bytes);
        let layout = SliceLayout::contiguous(width, height, depth, Encoding::native_gray());
        Ok(Computed {
            pixels: Arc::new(buffer),
            layout,
        })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.pixels.bytes()[..self.layout.pixel_bytes()]
    }

    /// The same pixels, for a job to write while the cascade reads them.
    pub fn share(&self) -> Computed {
        Computed {
            pixels: self.pixels.clone(),
            layout: self.layout.clone(),
        }
    }

    /// Keeps the pixels in memory as a source of the next level.
    pub fn finished(self) -> Finished {
        Finished {
            pixels: Pixels::Buffer(self.pixels),
            layout: self.layout,
        }
    }
}

/// Work for the [`Writer`] thread.
pub type Job = Box<dyn FnOnce() -> Result<()> + Send>;

/// Output files written on a thread of their own, one after another in the order they were
/// computed: the cores compute the next slice while the file system takes this one (creating
/// the file, reserving its space, copying its pages, renaming it), where writing it in line
/// would leave a core idle. At most `depth` jobs wait, so memory stays bounded. The first job
/// that fails stops the thread; its error is returned by the next call.
pub struct Writer<T: Send + 'static> {
    jobs: Option<SyncSender<(Option<T>, Job)>>,
    done: Receiver<Result<Option<T>>>,
    thread: Option<JoinHandle<()>>,
    /// Jobs sent and not yet reported done.
    pending: usize,
    /// Named in the error if the thread stops without one.
    root: PathBuf,
    /// A job's error, held back while the jobs done before it are reported.
    failed: Option<Error>,
}

impl<T: Send + 'static> Writer<T> {
    /// A writer thread for outputs under `root`, with at most `depth` jobs waiting.
    pub fn new(root: &Path, depth: usize) -> Result<Self> {
        let (jobs, queue) = mpsc::sync_channel::<(Option<T>, Job)>(depth);
        let (report, done) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("ctpyramid-writer".into())
            .spawn(move || {
                for (tag, job) in queue {
                    let outcome = job().map(|()| tag);
                    let failed = outcome.is_err();
                    if report.send(outcome).is_err() || failed {
                        // Jobs still queued are dropped unrun: their files were never created.
                        break;
                    }
                }
            })
            .map_err(|e| Error::write(root, e))?;
        Ok(Writer {
            jobs: Some(jobs),
            done,
            thread: Some(thread),
            pending: 0,
            root: root.to_path_buf(),
            failed: None,
        })
    }

    /// Queues `job`, waiting while the queue is full. Returns the tags of the jobs that
    /// completed since the last call, in order (`tag` None: nothing to report, such as
    /// unmapping an input the cascade is done with).
    pub fn submit(&mut self, tag: Option<T>, job: Job) -> Result<Vec<T>> {
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|j| j.send((tag, job)).is_ok());
        if !sent {
            // The thread stopped on an error: report the jobs done before it, then the error.
            let tags = self.collect(true)?;
            if self.failed.is_none() {
                self.failed = Some(self.stopped());
            }
            return Ok(tags);
        }
        self.pending += 1;
        self.collect(false)
    }

    /// Waits for every queued job; returns the tags of those not reported yet.
    pub fn finish(&mut self) -> Result<Vec<T>> {
        self.collect(true)
    }

    /// Waits for the oldest queued job only (none: returns at once); returns its tag, if
    /// any, and those of the jobs reported since the last call.
    pub fn finish_one(&mut self) -> Result<Vec<T>> {
        let mut tags = self.collect(false)?;
        if self.pending == 0 || !tags.is_empty() {
            return Ok(tags);
        }
        match self.done.recv() {
            Ok(Ok(tag)) => {
                self.pending -= 1;
                tags.extend(tag);
                Ok(tags)
            }
            Ok(Err(error)) => Err(error),
            Err(_) => Err(self.stopped()),
        }
    }

    /// Jobs queued and not reported done yet.
    pub fn pending(&self) -> usize {
        self.pending
    }

    fn collect(&mut self, wait: bool) -> Result<Vec<T>> {
        if let Some(error) = self.failed.take() {
            return Err(error);
        }
        let mut tags = Vec::new();
        while self.pending > 0 {
            let outcome = if wait {
                self.done.recv().map_err(|_| TryRecvError::Disconnected)
            } else {
                self.done.try_recv()
            };
            match outcome {
                Ok(Ok(tag)) => {
                    self.pending -= 1;
                    tags.extend(tag);
                }
                Ok(Err(error)) if tags.is_empty() => return Err(error),
                Ok(Err(error)) => {
                    self.failed = Some(error);
                    break;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Err(self.stopped()),
            }
        }
        Ok(tags)
    }

    fn stopped(&self) -> Error {
        Error::write(&self.root, io::Error::other("the writer thread stopped"))
    }
}

impl<T: Send + 'static> Drop for Writer<T> {
    /// Lets the queued jobs finish (each leaves its file complete or absent), then joins.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Removes the file at its path when dropped, unless kept.
pub(crate) struct TemporaryFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TemporaryFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// An output slice handed to its format, its pixels kept (mapped or in their buffer) while the
/// next level needs them.
pub struct Finished {
    pixels: Pixels,
    layout: SliceLayout,
}

impl Finished {
    pub fn plane<T: Sample>(&self) -> Plane<'_, T> {
        match &self.pixels {
            Pixels::Map { map, .. } => Plane::new(map, &self.layout),
            Pixels::Buffer(buffer) => Plane::new(buffer.bytes(), &self.layout),
        }
    }
}

/// Writes `parts` one after another as the file `final_path`, crash-safe: under its
/// temporary name, its space reserved first, then renamed.
pub(crate) fn write_file(final_path: &Path, parts: &[&[u8]], durable: bool) -> Result<()> {
    write_file_as(final_path, temporary_name(final_path), parts, durable)
}

/// [`write_file`] for a file other processes (shards) may write at the same time, with the
/// same bytes: under a temporary name of this process's own.
#[cfg_attr(not(feature = "ome-zarr"), allow(dead_code))]
pub(crate) fn write_file_shared(final_path: &Path, parts: &[&[u8]], durable: bool) -> Result<()> {
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = final_path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    write_file_as(final_path, tmp, parts, durable)
}

fn write_file_as(final_path: &Path, tmp: PathBuf, parts: &[&[u8]], durable: bool) -> Result<()> {
    use std::io::Write;
    let len = parts.iter().map(|p| p.len() as u64).sum();
    let (tmp, file) = create_reserved_at(final_path, tmp, len)?;
    for part in parts {
        (&file)
            .write_all(part)
            .map_err(|e| Error::write(final_path, e))?;
    }
    publish(tmp, &file, final_path, durable)
}

/// Creates `final_path`'s temporary file with `len` bytes reserved for real: a full disk
/// fails here, before any work.
pub(crate) fn create_reserved(final_path: &Path, len: u64) -> Result<(TemporaryFile, File)> {
    create_reserved_at(final_path, temporary_name(final_path), len)
}

fn create_reserved_at(
    final_path: &Path,
    tmp_path: PathBuf,
    len: u64,
) -> Result<(TemporaryFile, File)> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp_path)
        .map_err(|e| Error::write(&tmp_path, e))?;
    let tmp = TemporaryFile {
        path: tmp_path,
        keep: false,
    };
    platform::reserve(&file, len).map_err(|e| Error::write(final_path, e))?;
    Ok((tmp, file))
}

pub(crate) fn temporary_name(final_path: &Path) -> PathBuf {
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    final_path.with_file_name(format!(".{name}.partial"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn job(ran: &Arc<AtomicUsize>, fail: bool) -> Job {
        let ran = ran.clone();
        Box::new(move || {
            ran.fetch_add(1, Ordering::SeqCst);
            match fail {
                true => Err(Error::write(Path::new("bad"), io::Error::other("no room"))),
                false => Ok(()),
            }
        })
    }

    #[test]
    fn writer_reports_jobs_in_order_and_stops_at_the_first_error() {
        let ran = Arc::new(AtomicUsize::new(0));
        let mut writer = Writer::new(Path::new("root"), 2).unwrap();
        let mut reported = Vec::new();
        for k in 0..3 {
            reported.extend(writer.submit(Some(k), job(&ran, false)).unwrap());
        }
        reported.extend(writer.submit(None, job(&ran, false)).unwrap());
        reported.extend(writer.finish().unwrap());
        assert_eq!(reported, [0, 1, 2], "untagged jobs are not reported");

        // Job 10 fails: 11 and 12 never run; 9 is reported before the error.
        let mut outcome = Ok(());
        let mut reported = Vec::new();
        for k in 9..13 {
            match writer.submit(Some(k), job(&ran, k == 10)) {
                Ok(done) => reported.extend(done),
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        if outcome.is_ok() {
            outcome = writer.finish().map(|done| reported.extend(done));
        }
        let error = outcome.unwrap_err().to_string();
        assert!(error.contains("no room"), "{error}");
        assert_eq!(reported, [9]);
        drop(writer);
        assert_eq!(
            ran.load(Ordering::SeqCst),
            4 + 2,
            "nothing ran after the failure"
        );
    }

    #[test]
    fn finish_one_waits_for_the_oldest_job_only() {
        // The second job waits on a gate the test opens only after finish_one returned: had
        // finish_one waited for it too, the test would hang.
        let (open, gate) = mpsc::channel::<()>();
        let mut writer = Writer::new(Path::new("root"), 4).unwrap();
        let mut reported = writer.submit(Some(0), Box::new(|| Ok(()))).unwrap();
        reported.extend(
            writer
                .submit(
                    Some(1),
                    Box::new(move || {
                        let _ = gate.recv();
                        Ok(())
                    }),
                )
                .unwrap(),
        );
        while reported.is_empty() {
            reported.extend(writer.finish_one().unwrap());
        }
        assert_eq!(reported, [0]);
        assert_eq!(writer.pending(), 1);
        open.send(()).unwrap();
        assert_eq!(writer.finish_one().unwrap(), [1]);
        assert_eq!(writer.pending(), 0);
        assert!(writer.finish_one().unwrap().is_empty(), "nothing pending");

        // A failing job's error comes from finish_one, in its turn.
        // (submit itself reports it if the job has already failed by then.)
        let ran = Arc::new(AtomicUsize::new(0));
        let mut outcome = writer.submit(Some(2), job(&ran, true));
        let error = loop {
            match outcome {
                Ok(done) => assert!(done.is_empty()),
                Err(e) => break e.to_string(),
            }
            outcome = writer.finish_one();
        };
        assert!(error.contains("no room"), "{error}");
    }
}
