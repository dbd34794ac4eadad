//! A synthetic CT phantom stack, so the tool can be tried without a scan at hand.

use std::path::Path;

use rayon::prelude::*;

use crate::error::Result;
use crate::output::tiff_slices::OutputTiff;
use crate::pixel::Depth;

/// Writes `slices` uncompressed 16-bit TIFF slices of `size` x `size` named like a SkyScan
/// reconstruction (`phantom_rec00000000.tif`...) into `dir`: a cylindrical sample in air
/// holding spheres of several densities, with noise. Returns the bytes written.
pub fn write_phantom(dir: &Path, slices: usize, size: usize) -> Result<u64> {
    std::fs::create_dir_all(dir).map_err(|e| crate::Error::write(dir, e))?;
    let mut bytes = 0;
    for z in 0..slices {
        let path = dir.join(format!("phantom_rec{z:08}.tif"));
        let mut out = OutputTiff::create(path, size, size, Depth::U16)?;
        let zf = z as f32 / slices.max(1) as f32;
        out.pixels_mut::<u16>()
            .par_chunks_mut(size)
            .enumerate()
            .for_each(|(y, row)| {
                for (x, px) in row.iter_mut().enumerate() {
                    *px = phantom(
                        x as f32 / size as f32,
                        y as f32 / size as f32,
                        zf,
                        (x, y, z),
                    );
                }
            });
        out.finish(false)?;
        bytes += (size * size * 2) as u64;
    }
    Ok(bytes)
}

/// Attenuation at (x, y, z) in [0, 1)^3, as a 16-bit value.
fn phantom(x: f32, y: f32, z: f32, cell: (usize, usize, usize)) -> u16 {
    const SPHERES: [(f32, f32, f32, f32, f32); 4] = [
        (0.40, 0.40, 0.30, 0.12, 52000.0),
        (0.62, 0.45, 0.55, 0.10, 38000.0),
        (0.45, 0.65, 0.70, 0.08, 61000.0),
        (0.55, 0.55, 0.50, 0.05, 8000.0),
    ];
    let (dx, dy) = (x - 0.5, y - 0.5);
    let mut value = if dx * dx + dy * dy < 0.40 * 0.40 {
        22000.0
    } else {
        1500.0
    };
    for (cx, cy, cz, r, v) in SPHERES {
        let d2 = (x - cx).powi(2) + (y - cy).powi(2) + (z - cz).powi(2);
        if d2 < r * r {
            value = v;
        }
    }
    // Deterministic noise from a hash of the voxel, so every run writes the same stack.
    let mut h = (cell.0 as u64) ^ ((cell.1 as u64) << 21) ^ ((cell.2 as u64) << 42);
    h = h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 29;
    let noise = (h % 2001) as f32 - 1000.0;
    (value + noise).clamp(0.0, 65535.0) as u16
}
