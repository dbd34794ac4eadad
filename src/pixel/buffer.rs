//! Memory for pixels: page-aligned buffers, reused from slice to slice through a pool.

use std::sync::{Arc, Mutex};

/// A decoded slice larger than this is refused rather than allocated: a damaged or hostile
/// header can claim any size, and no CT slice comes near it (a 32768x32768 16-bit slice is 2 GiB).
pub const MAX_DECODED_BYTES: usize = 4 << 30;

/// A byte buffer for pixels, starting on a page boundary: rows can be borrowed from it as
/// `u16`, and copying a mapped page into it (a `read`) runs at full speed. Here a copy whose
/// destination sits just past a page boundary from its source (malloc's usual 16 bytes) runs
/// 4x slower, the loads stalling on the stores of the same page offset (4K aliasing).
#[derive(Default)]
pub struct Buffer(Vec<Page>);

/// The unit a [`Buffer`] grows by.
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, align(4096))]
struct Page([u8; PAGE]);

const PAGE: usize = 4096;

impl Buffer {
    /// The first `len` bytes, growing the buffer if needed; never shrinks, so a buffer reused
    /// for slices of one size allocates once.
    pub fn bytes_mut(&mut self, len: usize) -> Result<&mut [u8], String> {
        if len > MAX_DECODED_BYTES {
            return Err(format!(
                "decoded image of {len} bytes exceeds the {} GiB limit",
                MAX_DECODED_BYTES >> 30
            ));
        }
        let pages = len.div_ceil(PAGE);
        if self.0.len() < pages {
            self.0
                .try_reserve_exact(pages - self.0.len())
                .map_err(|_| format!("cannot allocate {len} bytes for the decoded image"))?;
            self.0.resize(pages, Page([0; PAGE]));
        }
        Ok(&mut bytemuck::cast_slice_mut(&mut self.0)[..len])
    }

    /// [`Buffer::bytes_mut`] for an image decoded from `source_len` bytes of file: a
    /// size no such file can hold is refused before it is allocated. No codec a slice comes
    /// in expands more than about 1400 to 1 (LZW on a constant image; Deflate stops at 1032,
    /// PackBits at 64, baseline JPEG near 100), so a header claiming more than 2048 times its
    /// file's length is damaged or hostile; small files may claim up to 64 MiB.
    pub fn decoded_bytes_mut(
        &mut self,
        len: usize,
        source_len: usize,
    ) -> Result<&mut [u8], String> {
        const MAX_RATIO: usize = 2048;
        const FLOOR: usize = 64 << 20;
        if len > source_len.saturating_mul(MAX_RATIO).max(FLOOR) {
            return Err(format!(
                "header claims {len} bytes of pixels, more than its {source_len} bytes of \
                 file can hold: damaged"
            ));
        }
        self.bytes_mut(len)
    }

    pub fn bytes(&self) -> &[u8] {
        bytemuck::cast_slice(&self.0)
    }

    /// The bytes the buffer holds without growing.
    fn capacity(&self) -> usize {
        self.0.len() * PAGE
    }
}

/// Buffers handed back when they are dropped, so a build allocates a few in all (decoded
/// slices, files read rather than mapped, output slices) rather than one per slice.
#[derive(Clone, Default)]
pub struct BufferPool(Arc<Mutex<Vec<Buffer>>>);

impl BufferPool {
    /// A buffer of the pool, of any size (for pixels whose size decoding will tell).
    pub fn take(&self) -> Pooled {
        let buffer = self.0.lock().ok().and_then(|mut v| v.pop());
        self.pooled(buffer)
    }

    /// A buffer for `len` bytes: the smallest in the pool that holds them, else a new one.
    /// Handing out any buffer let a pool shared by slices of different sizes (the levels of
    /// a build) grow every buffer to the largest: a TIFF build of 2048x2048 slices kept its
    /// six or seven output slices in flight at level 1's 2 MB each (13 MB of heap at the
    /// peak, 8 MB with buffers taken by size).
    pub fn take_for(&self, len: usize) -> Pooled {
        let buffer = self.0.lock().ok().and_then(|mut v| {
            let (best, _) = v
                .iter()
                .enumerate()
                .filter(|(_, b)| b.capacity() >= len)
                .min_by_key(|(_, b)| b.capacity())?;
            Some(v.swap_remove(best))
        });
        self.pooled(buffer)
    }

    fn pooled(&self, buffer: Option<Buffer>) -> Pooled {
        Pooled {
            buffer: buffer.unwrap_or_default(),
            pool: Some(self.clone()),
        }
    }
}

/// A buffer that goes back to its pool, if it has one, when dropped.
#[derive(Default)]
pub struct Pooled {
    buffer: Buffer,
    pool: Option<BufferPool>,
}

impl Pooled {
    /// A buffer of `pool` for `len` bytes, or a fresh one without.
    pub fn from(pool: Option<&BufferPool>, len: usize) -> Pooled {
        pool.map(|p| p.take_for(len)).unwrap_or_default()
    }
}

impl std::ops::Deref for Pooled {
    type Target = Buffer;
    fn deref(&self) -> &Buffer {
        &self.buffer
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Buffer {
        &mut self.buffer
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(pool) = &self.pool {
            if let Ok(mut v) = pool.0.lock() {
                v.push(std::mem::take(&mut self.buffer));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_start_on_a_page_boundary_whatever_their_growth() {
        let mut buffer = Buffer::default();
        for len in [1, 4095, 4097, 3 << 20, 8 << 20] {
            let bytes = buffer.bytes_mut(len).unwrap();
            assert_eq!(bytes.len(), len);
            assert_eq!(bytes.as_ptr() as usize % PAGE, 0);
        }
    }
}
