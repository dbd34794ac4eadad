//! Output slices: baseline TIFF files created at their final size, their pixels computed into
//! a reused buffer and written at once by a [`Writer`] thread while the cores compute the next
//! slice (or, `WriteMode::Mapped`, mapped and filled in place).
//!
//! A file is written under a hidden temporary name (`.000012.tif.partial`) and renamed to its
//! final name only once every pixel is in it, so a crash or a kill leaves either a complete
//! file or none under the final name. Space is reserved for real before any pixel is computed
//! (`fallocate`, not a sparse `set_len`): a full disk is then an error on creation instead of
//! a failed write, or a SIGBUS in a map, halfway through.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;

use memmap2::{MmapMut, MmapOptions};

use crate::decode::{BufferPool, Pooled};
use crate::encode::TiffHeader;
use crate::error::{Error, Result};
use crate::kernel::Sample;
use crate::layout::{Depth, Encoding, SliceLayout};
use crate::plane::Plane;
use crate::platform;
use crate::sigbus::{self, Registration};

/// Whether `path` is the output file `header` describes: the right length and, byte for
/// byte, the right header (size, depth, scale, this version's layout). A file cut short (a
/// copy interrupted, a disk that filled) or left by another tool is not.
pub fn is_complete(path: &Path, header: &TiffHeader) -> bool {
    use std::io::Read;
    let len = header.file_len();
    let Ok(file) = File::open(path) else {
        return false;
    };
    if !file.metadata().is_ok_and(|m| m.is_file() && m.len() == len) {
        return false;
    }
    let mut head = vec![0; header.data_offset];
    (&file).read_exact(&mut head).is_ok() && head == header.bytes
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
enum Pixels {
    /// Fields drop in order: the registration before the map is unmapped.
    Map {
        _registration: Registration,
        map: MmapMut,
    },
    /// Shared with the [`Writer`] until it has written them.
    Buffer(Arc<Pooled>),
}

/// An output slice mapped and filled in place (`WriteMode::Mapped`, and the demo's phantom
/// writer): a preallocated file under its temporary name. Dropped without
/// [`OutputTiff::finish`], it removes its temporary file.
pub struct OutputTiff {
    final_path: PathBuf,
    tmp: TemporaryFile,
    file: File,
    header: TiffHeader,
    _registration: Registration,
    map: MmapMut,
    width: usize,
    height: usize,
    depth: Depth,
}

impl OutputTiff {
    /// A mapped output file with no scale (the demo's phantom writer).
    pub fn create(final_path: PathBuf, width: usize, height: usize, depth: Depth) -> Result<Self> {
        let header = TiffHeader::single(width, height, depth, crate::encode::Scale::Unknown, 0)
            .map_err(|e| Error::write(&final_path, e))?;
        Self::create_with(final_path, header, (width, height, depth))
    }

    /// The one-page output file `header` describes, mapped for the kernels to fill.
    pub fn create_with(
        final_path: PathBuf,
        header: TiffHeader,
        (width, height, depth): (usize, usize, Depth),
    ) -> Result<Self> {
        debug_assert_eq!(header.page_bytes, width * height * depth.bytes());
        let len = header.file_len() as usize;
        let (tmp, file) = create_reserved(&final_path, len as u64)?;
        // SAFETY: the file was just created by this process under a name no other program
        // uses, and its length is `len`, reserved on disk above. Nothing else truncates it
        // while it is mapped, so every access inside the map is backed by the file; the map
        // is registered with the SIGBUS handler all the same.
        let mut map = unsafe { MmapOptions::new().len(len).map_mut(&file) }
            .map_err(|e| Error::write(&final_path, e))?;
        map[..header.data_offset].copy_from_slice(&header.bytes);
        let registration = sigbus::register(map.as_ptr(), map.len(), &final_path, true);
        Ok(OutputTiff {
            final_path,
            tmp,
            file,
            header,
            _registration: registration,
            map,
            width,
            height,
            depth,
        })
    }

    /// The pixel rows, to be filled by the kernels.
    pub fn pixels_mut<T: Sample>(&mut self) -> &mut [T] {
        debug_assert_eq!(T::BITS, self.depth.bits());
        let (start, len) = (self.header.data_offset, self.header.page_bytes);
        // Maps are page-aligned and the data offset a multiple of 16: the cast never fails.
        bytemuck::cast_slice_mut(&mut self.map[start..start + len])
    }

    /// Gives the file its final name. With `durable`, data and name are on disk first, at
    /// the cost of a disk flush per file; without it they are in the page cache, which
    /// survives the process being killed (but not a power cut).
    pub fn finish(self, durable: bool) -> Result<FinishedTiff> {
        let OutputTiff {
            final_path,
            tmp,
            file,
            header,
            _registration,
            map,
            width,
            height,
            depth,
        } = self;
        if durable {
            map.flush().map_err(|e| Error::write(&final_path, e))?;
        }
        publish(tmp, &file, &final_path, durable)?;
        let mut layout = SliceLayout::contiguous(width, height, depth, Encoding::native_gray());
        layout.strip_offsets = vec![header.data_offset];
        Ok(FinishedTiff {
            pixels: Pixels::Map { _registration, map },
            layout,
        })
    }
}

/// Flushes `file` if `durable` and renames it from its temporary name to `final_path`.
fn publish(mut tmp: TemporaryFile, file: &File, final_path: &Path, durable: bool) -> Result<()> {
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
    pub fn new<T: Sample>(
        path: &Path,
        (width, height, depth): (usize, usize, Depth),
        pool: &BufferPool,
        fill: impl FnOnce(&mut [T]),
    ) -> Result<Computed> {
        debug_assert_eq!(T::BITS, depth.bits());
        let mut buffer = pool.take();
        let bytes = buffer
            .bytes_mut(width * height * depth.bytes())
            .map_err(|reason| Error::write(path, io::Error::other(reason)))?;
        // Buffers start on a page boundary and are sized just above: the cast never fails.
        fill(bytemuck::cast_slice_mut(bytes));
        let layout = SliceLayout::contiguous(width, height, depth, Encoding::native_gray());
        Ok(Computed {
            pixels: Arc::new(buffer),
            layout,
        })
    }

    fn bytes(&self) -> &[u8] {
        &self.pixels.bytes()[..self.layout.pixel_bytes()]
    }

    /// The same pixels, for a job to write while the cascade reads them.
    fn share(&self) -> Computed {
        Computed {
            pixels: self.pixels.clone(),
            layout: self.layout.clone(),
        }
    }

    /// The job that writes these pixels as the one-page file `header` describes, under its
    /// temporary name with its space reserved first, then renamed.
    pub fn slice_file(&self, final_path: PathBuf, header: TiffHeader, durable: bool) -> Job {
        let pixels = self.share();
        Box::new(move || {
            let (tmp, file) = create_reserved(&final_path, header.file_len())?;
            let write = || -> io::Result<()> {
                platform::write_all_at(&file, &header.bytes, 0)?;
                platform::write_all_at(&file, pixels.bytes(), header.data_offset as u64)
            };
            write().map_err(|e| Error::write(&final_path, e))?;
            publish(tmp, &file, &final_path, durable)
        })
    }

    /// Keeps the pixels in memory as a source of the next level.
    pub fn finished(self) -> FinishedTiff {
        FinishedTiff {
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
struct TemporaryFile {
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

/// A complete output slice under its final name, its pixels kept (mapped or in their buffer)
/// while the next level needs them.
pub struct FinishedTiff {
    pixels: Pixels,
    layout: SliceLayout,
}

impl FinishedTiff {
    pub fn plane<T: Sample>(&self) -> Plane<'_, T> {
        match &self.pixels {
            Pixels::Map { map, .. } => Plane::new(map, &self.layout),
            Pixels::Buffer(buffer) => Plane::new(buffer.bytes(), &self.layout),
        }
    }
}

/// Creates `final_path`'s temporary file with `len` bytes reserved for real: a full disk
/// fails here, before any work.
fn create_reserved(final_path: &Path, len: u64) -> Result<(TemporaryFile, File)> {
    let tmp_path = temporary_name(final_path);
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

/// A level as one multi-page file (`--layout stack`), preallocated at its final size; its
/// pages are written in place as the cascade computes them, and the file renamed to its final
/// name once every page is in it. Dropped without [`StackTiff::finish`], it removes its
/// temporary file.
pub struct StackTiff {
    final_path: PathBuf,
    tmp: TemporaryFile,
    file: Arc<File>,
    header: TiffHeader,
}

impl StackTiff {
    pub fn create(final_path: PathBuf, header: TiffHeader) -> Result<Self> {
        let (tmp, file) = create_reserved(&final_path, header.file_len())?;
        platform::write_all_at(&file, &header.bytes, 0)
            .map_err(|e| Error::write(&final_path, e))?;
        Ok(StackTiff {
            final_path,
            tmp,
            file: Arc::new(file),
            header,
        })
    }

    /// The job that writes `pixels` as page `page`, in place.
    pub fn page(&self, page: usize, pixels: &Computed) -> Job {
        let (file, path) = (self.file.clone(), self.final_path.clone());
        let at = self.header.data_offset as u64 + (page * self.header.page_bytes) as u64;
        let pixels = pixels.share();
        Box::new(move || {
            platform::write_all_at(&file, pixels.bytes(), at).map_err(|e| Error::write(&path, e))
        })
    }

    /// Gives the file its final name once every page is written.
    pub fn finish(self, durable: bool) -> Result<PathBuf> {
        publish(self.tmp, &self.file, &self.final_path, durable)?;
        Ok(self.final_path)
    }
}

fn temporary_name(final_path: &Path) -> PathBuf {
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
}
