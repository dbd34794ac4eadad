//! The pixels of output slices: computed into a pooled buffer ([`Computed`]) and written by
//! the [`WriteQueue`](super::WriteQueue) while the next level reads them, or mapped in place;
//! kept as a [`PixelSource`] while the next level needs them.

use std::io;
use std::path::Path;
use std::sync::Arc;

use memmap2::MmapMut;

use crate::error::{Error, Result};
use crate::input::SliceFile;
use crate::pixel::{BufferPool, Depth, Encoding, Plane, Pooled, Sample, SliceLayout};
use crate::platform::sigbus::Registration;

/// Where the pixels of an output slice are computed, and kept while the next level needs them.
pub(crate) enum OutputPixels {
    /// Fields drop in order: the registration before the map is unmapped.
    Map {
        _registration: Registration,
        map: MmapMut,
    },
    /// Shared with the [`WriteQueue`](super::WriteQueue) until it has written them.
    Buffer(Arc<Pooled>),
}

/// Output pixels computed into a buffer: written by a [`WriteQueue`](super::WriteQueue) job while the next level
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
        let len = width * height * depth.bytes();
        let mut buffer = pool.take_for(len);
        let bytes = buffer
            .bytes_mut(len)
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
            pixels: OutputPixels::Buffer(self.pixels),
            layout: self.layout,
        }
    }
}

/// An output slice handed to its format, its pixels kept (mapped or in their buffer) while the
/// next level needs them.
pub struct Finished {
    pub(crate) pixels: OutputPixels,
    pub(crate) layout: SliceLayout,
}

impl Finished {
    pub fn plane<T: Sample>(&self) -> Plane<'_, T> {
        match &self.pixels {
            OutputPixels::Map { map, .. } => Plane::new(map, &self.layout),
            OutputPixels::Buffer(buffer) => Plane::new(buffer.bytes(), &self.layout),
        }
    }
}

/// A slice the cascade reduces: an input file (or an output an earlier run wrote, read back
/// as a file), or an output of the level above just computed and still in memory.
pub enum PixelSource {
    /// A slice file: an input (shared with a format that keeps it until its chunks are
    /// written), or a TIFF output read back.
    File(Arc<SliceFile>),
    /// Pixels computed by this build.
    Level(Finished),
}

impl PixelSource {
    /// The pixels as `T`; the caller matched `T` to the plan's depth.
    pub fn plane<T: Sample>(&self) -> Plane<'_, T> {
        match self {
            PixelSource::File(s) => s.plane(),
            PixelSource::Level(t) => t.plane(),
        }
    }
}
