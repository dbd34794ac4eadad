//! The cascade: every level built in one pass over the input slices.
//!
//! Level 1 slice k comes from input slices 2k and 2k+1; level L+1 slice k from level L slices
//! 2k and 2k+1 in the same way. The cascade walks this tree depth-first, left to right, so
//! input slices are read in ascending order and each level holds at most one slice waiting
//! for its partner (for level 0, the input map; for deeper levels, the output just computed):
//! memory stays at a few slices whatever the stack's length, and no level is read back from
//! disk (except, when resuming, outputs an earlier run completed).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::prepare::Prepared;
use super::resume::{Done, Found};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::input::stack::Opener;
use crate::input::{ReadMode, ReadPath, SliceFile, Stack};
use crate::output::{LevelWriter, PixelSource, WriteQueue, Written};
use crate::pixel::kernel::{reduce_slices, reduce_slices_in_turn};
use crate::pixel::Reduce;
use crate::plan::Plan;
use crate::shard;

/// What the cascade read and wrote, for the summary.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    pub files_written: usize,
    pub slices_written: usize,
    pub slices_read: usize,
    pub bytes_read: u64,
    pub zero_copy_slices: usize,
    pub decoded_slices: usize,
}

/// Walks the cascade over the input slices `prepared` and `found` say are needed, writing
/// every missing output through `output`; returns what it read and wrote. Outputs computed
/// before a stop (Ctrl-C, a damaged slice) are still written, and reported: what the events
/// said was written is exactly what is on disk.
pub(crate) fn run(
    prepared: &Prepared,
    found: &Found,
    reader: ReadMode,
    cancel: Option<&AtomicBool>,
    output: &mut dyn LevelWriter,
    on_event: &mut dyn FnMut(Event),
) -> Result<Counts> {
    let plan = &prepared.plan;
    let mut cascade = Cascade {
        plan,
        cancel,
        done: &found.done,
        inputs: Inputs {
            stack: &prepared.stack,
            opener: prepared.stack.opener(&found.to_read, reader)?,
            first: &prepared.first,
        },
        output,
        // Created after the format (which the caller holds), so dropped first: its last jobs
        // are done before an unfinished file of the format is removed.
        writer: WriteQueue::new(&prepared.out_root, WRITE_QUEUE)?,
        counts: Counts::default(),
        on_event,
    };
    let mut walk = || -> Result<()> {
        let (deepest, count) = plan
            .levels
            .last()
            .map_or((0, plan.slices), |l| (l.level, l.slices));
        if deepest > 0 || cascade.output.stores_input() {
            for index in shard::level_range(&prepared.range, deepest, count) {
                cascade.obtain(deepest, index, false)?;
            }
        }
        Ok(())
    };
    let walked = walk();
    let flushed = cascade.finish_writes();
    walked?;
    flushed?;
    let finished = cascade.output.finish(&mut cascade.writer)?;
    cascade.written(finished);
    Ok(cascade.counts)
}

/// The input slices a build reads, opened strictly in slice order, ahead, by an [`Opener`].
struct Inputs<'s> {
    stack: &'s Stack,
    /// Opens the slices the cascade needs, which it asks for exactly in order.
    opener: Opener,
    /// The first slice, probed (no pixel read): what every slice must match.
    first: &'s SliceFile,
}

impl Inputs<'_> {
    fn take(&mut self, index: usize) -> Result<SliceFile> {
        let Some(slice) = self.opener.next() else {
            let name = self.stack.name(index);
            return Err(Error::Internal(format!(
                "{name}: asked for but never opened"
            )));
        };
        let slice = slice?;
        slice.check_matches(self.first)?;
        Ok(slice)
    }
}

struct Cascade<'a, 'e> {
    plan: &'a Plan,
    cancel: Option<&'a AtomicBool>,
    done: &'a Done,
    inputs: Inputs<'a>,
    /// The format the levels are written in.
    output: &'a mut dyn LevelWriter,
    /// Writes outputs, and unmaps inputs, on a thread of its own.
    writer: WriteQueue<Written>,
    counts: Counts,
    on_event: &'e mut dyn FnMut(Event),
}

impl Cascade<'_, '_> {
    /// Makes sure level `level` slice `index` and every output below it exist, and returns
    /// its pixels if `need` (its parent is being computed). Walking the tree left to right
    /// asks for input slices in ascending order, and each level holds at most one slice
    /// waiting for its partner: memory stays at a few slices whatever the stack's length.
    fn obtain(&mut self, level: usize, index: usize, need: bool) -> Result<Option<PixelSource>> {
        if level == 0 {
            // The input; stored as level 0 by a format that keeps it, unless already.
            let store = !self.done.is_done(0, index);
            if !need && !store {
                return Ok(None);
            }
            let slice = Arc::new(self.input(index)?);
            if store {
                let written = self.output.write_input(index, &slice, &mut self.writer)?;
                self.written(written);
            }
            return Ok(Some(PixelSource::File(slice)));
        }
        if self.done.is_done(level, index) {
            if self.done.missing_below(level, index) {
                for child in self.children(level, index) {
                    self.obtain(level - 1, child, false)?;
                }
            }
            if !need {
                return Ok(None);
            }
            // Resuming: the level above this one's missing parent was completed earlier;
            // read it back rather than recompute it from the inputs.
            return self.output.read_back(level, index).map(Some);
        }
        let mut children = self.children(level, index);
        let a = match children.next() {
            Some(c) => self.obtain(level - 1, c, true)?,
            None => None,
        };
        let b = match children.next() {
            Some(c) => self.obtain(level - 1, c, true)?,
            None => None,
        };
        let Some(a) = a else {
            let path = self.output.path(level, index);
            return Err(Error::Internal(format!("{}: no sources", path.display())));
        };
        let reduced = self.reduce(level, index, &a, b.as_ref())?;
        self.retire(a)?;
        if let Some(b) = b {
            self.retire(b)?;
        }
        Ok(Some(reduced))
    }

    /// The slices of level `level - 1` that level `level` slice `index` comes from.
    fn children(&self, level: usize, index: usize) -> impl Iterator<Item = usize> {
        let count = match level {
            1 => self.plan.slices,
            _ => self.plan.levels[level - 2].slices,
        };
        2 * index..(2 * index + 2).min(count)
    }

    fn input(&mut self, index: usize) -> Result<SliceFile> {
        self.check_cancel()?;
        let slice = self.inputs.take(index)?;
        let bytes = slice.layout().pixel_bytes() as u64;
        self.counts.slices_read += 1;
        self.counts.bytes_read += bytes;
        match slice.read_path() {
            ReadPath::ZeroCopy => self.counts.zero_copy_slices += 1,
            ReadPath::Decoded(_) => self.counts.decoded_slices += 1,
            ReadPath::Converted(_) => {}
        }
        (self.on_event)(Event::SliceRead { index, bytes });
        Ok(slice)
    }

    fn check_cancel(&self) -> Result<()> {
        match self.cancel {
            Some(flag) if flag.load(Ordering::Relaxed) => Err(Error::Cancelled),
            _ => Ok(()),
        }
    }

    /// Computes level `level` slice `index` from `a` and `b` (or `a` alone) and hands it to
    /// the format.
    fn reduce(
        &mut self,
        level: usize,
        index: usize,
        a: &PixelSource,
        b: Option<&PixelSource>,
    ) -> Result<PixelSource> {
        self.check_cancel()?;
        let width = self.plan.levels[level - 1].width;
        let depth = self.plan.depth;
        // Output buffers and maps start on a 16-byte boundary: the casts never fail.
        let mut fill = |out: &mut [u8]| crate::with_sample!(depth, T => reduce_planes::<T>(a, b, bytemuck::cast_slice_mut(out), width));
        let (done, written) = self
            .output
            .write(level, index, &mut fill, &mut self.writer)?;
        self.written(written);
        Ok(PixelSource::Level(done))
    }

    /// Drops a slice the cascade is done with. An input goes at once, on this thread: a map
    /// is unmapped (its pages leave the process's memory; queued behind the writes, maps held
    /// a TIFF build of 128 x 2048^2 at 52-69 MB), a buffer goes back to the reader's pool for
    /// the next slice (queued, a buffered build of that stack held 65-75 MiB, 49-51 dropped
    /// here). An input a format still keeps (an OME-Zarr chunk row's) only has its pages
    /// released. Unmapping here rather than on the writer thread, after a release here,
    /// takes one `munmap` a slice instead of a `madvise` and a `munmap`, each a TLB flush
    /// that interrupts the other cores: 3000 x 1024^2 warm, beside a busy process, 2.5 ->
    /// 1.9x `cat` (docs/performance.md). A slice this build computed is dropped on the
    /// writer thread, behind its own write.
    fn retire(&mut self, source: PixelSource) -> Result<()> {
        let computed = match source {
            PixelSource::File(slice) => {
                if Arc::strong_count(&slice) > 1 {
                    slice.release();
                }
                // The last holder of a map unmaps it here.
                drop(slice);
                return Ok(());
            }
            computed @ PixelSource::Level(_) => computed,
        };
        let dropped = move || {
            drop(computed);
            Ok(())
        };
        let written = self.writer.submit(None, Box::new(dropped))?;
        self.written(written);
        Ok(())
    }

    /// Waits for the writer thread's last files.
    fn finish_writes(&mut self) -> Result<()> {
        let written = self.writer.finish()?;
        self.written(written);
        Ok(())
    }

    /// Reports outputs complete under their final names.
    fn written(&mut self, outputs: impl IntoIterator<Item = Written>) {
        for w in outputs {
            self.counts.files_written += w.files;
            self.counts.slices_written += w.slices.len();
            for index in w.slices {
                let path = self.output.path(w.level, index);
                (self.on_event)(Event::SliceWritten {
                    level: w.level,
                    index,
                    path: &path,
                });
            }
        }
    }
}

/// Jobs waiting for the writer thread at most: enough to ride out a slow `rename` or
/// `fsync`, few enough to keep memory bounded (a few slices' outputs).
/// Each pair queues its output (a pair above level 1 also the dropping of its two sources),
/// and every second pair as much again for the next level, in bursts: with 4 (when each pair
/// also queued the unmapping of its inputs), the cascade waited on a full queue 6-9 ms a warm
/// build and the cores idled meanwhile. 16 took a warm build of 128 x 2048^2
/// from 0.258 to 0.218 s (cat: 0.152 s; medians of 11 interleaved) and 512 x 1024^2 from
/// 0.616 to 0.527 s, for 15 MB more peak memory (50 -> 65 MB; 15.5 -> 24.5 MB).
const WRITE_QUEUE: usize = 16;

/// Reduces `a` and `b` (or `a` alone) into `out`. A pair of large input files (level 1's
/// sources, [`IN_TURN_BYTES`] or more a slice) is reduced in turn, `a`'s pages released before
/// `b`'s are read, so that the pair holds one slice's pages rather than two.
fn reduce_planes<T: Reduce>(a: &PixelSource, b: Option<&PixelSource>, out: &mut [T], width: usize) {
    match (a, b) {
        (PixelSource::File(first), Some(second @ PixelSource::File(_)))
            if first.layout().pixel_bytes() >= IN_TURN_BYTES =>
        {
            reduce_slices_in_turn(&a.plane::<T>(), &second.plane::<T>(), out, width, || {
                first.release()
            });
        }
        _ => reduce_slices(
            &a.plane::<T>(),
            b.map(|b| b.plane::<T>()).as_ref(),
            out,
            width,
        ),
    }
}

/// The slice size from which an input pair is reduced in turn: 8 MiB (2048x2048 16-bit,
/// 4096x2048 8-bit, 1448x1448 float32). In turn costs a second pass over the output
/// (criterion, one core: 10 GiB/s of 16-bit input against 14 in one pass, 8 against 16 for
/// 8-bit), which shows warm and not cold: on 128 x 2048^2 16-bit (ab.sh, 11 pairs) the peak
/// went from 32-34 to 26 MiB, cold 0.95x the time, warm 1.15x (0.04 s more CPU a GiB); on
/// 64 x 2048^2 float32 from 58 to 42 MiB, cold 0.97x, warm 1.15x. Stacks of slices this
/// large are built cold (3000 of them are 24 GB); smaller pairs hold little.
const IN_TURN_BYTES: usize = 8 << 20;
