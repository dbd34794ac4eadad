//! One multi-page TIFF a level, `<out>/level<L>.tif` (`--layout stack`): every IFD first,
//! then the pages' pixels contiguous, with an ImageJ description, so Fiji opens it as a
//! z-stack. The file is preallocated at its final size, its pages written in place by the
//! writer thread as the cascade computes them, and renamed once complete. Each level is
//! written whole: a build with any level missing rewrites all of them.

use std::fs::File;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use super::manifest::Manifest;
use super::tiff_files::{remove_other_layout, stack_path};
use super::tiff_header::{headers, is_complete, TiffHeader};
use super::{
    Check, Computed, Finished, Job, LevelWriter, Mark, PixelSource, Recorded, Scan, Target,
    WriteQueue, Written,
};
use crate::error::{Error, Result};
use crate::options::TiffLayout;
use crate::pixel::BufferPool;
use crate::plan::Plan;
use crate::platform;
use crate::publish::{self, create_reserved, TemporaryFile};

/// One file a level.
pub struct TiffStack<'a> {
    plan: &'a Plan,
    root: PathBuf,
    headers: Vec<TiffHeader>,
    durable: bool,
    pool: BufferPool,
    manifest: Manifest,
    /// The files being written, one a level, from [`LevelWriter::begin`].
    files: Vec<StackTiff>,
}

impl<'a> TiffStack<'a> {
    pub fn new(target: Target<'a>) -> Result<Self> {
        Ok(TiffStack {
            headers: headers(&target, TiffLayout::Stack)?,
            manifest: Manifest::new(&target),
            plan: target.plan,
            root: target.out_root.to_path_buf(),
            durable: target.durable,
            pool: BufferPool::default(),
            files: Vec::new(),
        })
    }
}

impl LevelWriter for TiffStack<'_> {
    /// Removes the temporary files of an earlier run.
    fn prepare(&mut self, _range: &Range<usize>) -> Result<()> {
        let root = &self.root;
        std::fs::create_dir_all(root).map_err(|e| Error::write(root, e))?;
        remove_other_layout(root, TiffLayout::Stack)?;
        for level in &self.plan.levels {
            let tmp = root.join(format!(".level{}.tif.partial", level.level));
            if tmp.exists() {
                std::fs::remove_file(&tmp).map_err(|e| Error::write(&tmp, e))?;
            }
        }
        Ok(())
    }

    /// A stack file is written whole: all its slices or none. Stack files are written
    /// together, each whole: one missing means all are rewritten.
    fn scan(&self, force: bool, _range: &Range<usize>, _check: Check) -> Result<Scan> {
        let whole: Vec<bool> = self
            .plan
            .levels
            .iter()
            .zip(&self.headers)
            .map(|(l, h)| !force && is_complete(&stack_path(&self.root, l.level), h))
            .collect();
        let all = whole.iter().all(|&w| w);
        Ok(Scan {
            levels: self
                .plan
                .levels
                .iter()
                .map(|l| vec![all; l.slices])
                .collect(),
            input: Vec::new(),
            stale: self.manifest.recorded() == Recorded::Stale,
        })
    }

    /// A level is one file, complete or missing whole.
    fn files(&self, _level: usize, slices: &Range<usize>) -> usize {
        usize::from(!slices.is_empty())
    }

    fn begin(&mut self, _scan: &Scan) -> Result<()> {
        self.files = self
            .plan
            .levels
            .iter()
            .zip(&self.headers)
            .map(|(l, h)| StackTiff::create(stack_path(&self.root, l.level), h.clone()))
            .collect::<Result<_>>()?;
        Ok(())
    }

    fn write(
        &mut self,
        level: usize,
        index: usize,
        fill: &mut dyn FnMut(&mut [u8]),
        writer: &mut WriteQueue<Written>,
    ) -> Result<(Finished, Vec<Written>)> {
        let size = self.plan.slice_size(level);
        let path = stack_path(&self.root, level);
        let computed = Computed::new(&path, size, &self.pool, fill)?;
        let Some(file) = self.files.get(level - 1) else {
            let what = format!("{}: written before it was begun", path.display());
            return Err(Error::Internal(what));
        };
        let job = file.page(index, &computed);
        // The file counts once, with its last page.
        let written = Written {
            level,
            slices: index..index + 1,
            files: usize::from(index + 1 == self.plan.levels[level - 1].slices),
        };
        let done = writer.submit(Some(written), job)?;
        Ok((computed.finished(), done))
    }

    fn read_back(&self, level: usize, _index: usize) -> Result<PixelSource> {
        // Never asked: a stack file is kept whole or rewritten whole.
        Err(Error::Internal(format!(
            "{}: a page of a kept stack file read back",
            stack_path(&self.root, level).display()
        )))
    }

    fn finish(&mut self, writer: &mut WriteQueue<Written>) -> Result<Vec<Written>> {
        let done = writer.finish()?;
        for file in std::mem::take(&mut self.files) {
            file.finish(self.durable)?;
        }
        Ok(done)
    }

    fn path(&self, level: usize, _index: usize) -> PathBuf {
        stack_path(&self.root, level)
    }

    fn mark(&self) -> &dyn Mark {
        &self.manifest
    }
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
        publish::publish(self.tmp, &self.file, &self.final_path, durable)?;
        Ok(self.final_path)
    }
}
