//! The plan of a pyramid: the input's geometry and the levels it gives, by CTHarvester's rule.
//! Vocabulary every other part shares; it knows nothing of files.

use serde_json::{json, Value};

use crate::input::VoxelSource;
use crate::pixel::Depth;

/// CTHarvester's rule: keep halving while a level is wider or taller than this.
pub const DEFAULT_MIN_SIZE: usize = 500;

/// One level of the pyramid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Level {
    /// 1 for the first halving.
    pub level: usize,
    /// Pixels across a slice of the level.
    pub width: usize,
    /// Rows of a slice of the level.
    pub height: usize,
    /// Slices of the level: ceil(input slices / 2^level).
    pub slices: usize,
}

impl Level {
    /// The level as `--progress json`, `inspect --json` and the Python module give it.
    pub fn to_json(&self) -> Value {
        json!({
            "level": self.level, "width": self.width, "height": self.height, "slices": self.slices,
        })
    }
}

/// `1: 1024x1024 x 64`: the level as the CLI prints it.
impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}x{} x {}",
            self.level, self.width, self.height, self.slices
        )
    }
}

/// The pyramid a stack gives: its input geometry and the levels it produces.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Pixels across an input slice.
    pub width: usize,
    /// Rows of an input slice.
    pub height: usize,
    /// The sample type of the input, and of every level.
    pub depth: Depth,
    /// Input slices.
    pub slices: usize,
    /// The levels below the input, level 1 first.
    pub levels: Vec<Level>,
    /// The rule the levels were planned by.
    pub min_size: usize,
    /// Edge of an input voxel in micrometres, if known; level L's is `2^L` times it.
    pub voxel_um: Option<f64>,
    /// Where `voxel_um` came from.
    pub voxel_source: Option<VoxelSource>,
    /// Identity of the input files (names, sizes, modification times), written into every
    /// output's header: an output computed from other inputs never passes for complete.
    pub source_id: u64,
    /// Where the centre of the first input voxel is, `[z, y, x]` in the voxel's units
    /// (micrometres when `voxel_um` is known): zero for a stack, a crop's origin for a crop.
    pub origin: [f64; 3],
}

impl Plan {
    /// Levels continue while the current level's width or height exceeds `min_size`,
    /// and stop before a level would have no rows or columns. Level L holds
    /// ceil(slices / 2^L) slices: an odd last slice is halved alone, never dropped.
    pub fn new(width: usize, height: usize, depth: Depth, slices: usize, min_size: usize) -> Plan {
        let mut levels = Vec::new();
        let (mut w, mut h, mut n) = (width, height, slices);
        while (w > min_size || h > min_size) && w >= 2 && h >= 2 {
            (w, h, n) = (w / 2, h / 2, n.div_ceil(2));
            levels.push(Level {
                level: levels.len() + 1,
                width: w,
                height: h,
                slices: n,
            });
        }
        Plan {
            width,
            height,
            depth,
            slices,
            levels,
            min_size,
            voxel_um: None,
            voxel_source: None,
            source_id: 0,
            origin: [0.0; 3],
        }
    }

    /// Width, height and depth of a slice of level `level` (1 is the first level below the
    /// input).
    pub fn slice_size(&self, level: usize) -> (usize, usize, Depth) {
        let geometry = &self.levels[level - 1];
        (geometry.width, geometry.height, self.depth)
    }

    /// The voxel edge of level `level` (0: the input), in micrometres.
    pub fn level_voxel_um(&self, level: usize) -> Option<f64> {
        self.voxel_um.map(|v| v * f64::from(1u32 << level.min(31)))
    }

    /// Bytes written for all levels (pixel data only).
    pub fn output_pixel_bytes(&self) -> u64 {
        let px = |l: &Level| (l.width * l.height * l.slices) as u64;
        self.levels.iter().map(px).sum::<u64>() * self.depth.bytes() as u64
    }
}

/// Levels as `[1: 1024x1024 x 64, 2: 512x512 x 32]`, the CLI's summary line.
pub fn describe_levels(levels: &[Level]) -> String {
    let levels: Vec<String> = levels.iter().map(Level::to_string).collect();
    format!("[{}]", levels.join(", "))
}

/// Where the centre of voxel `i` of level `level` is (`i` a fraction: a point between
/// voxels), in micrometres from the centre of the input's first voxel along its axis, for
/// input voxels of `voxel_um`: OME-NGFF translations place a level's voxels so, a level-L
/// voxel `i` covering input voxels `2^L i .. 2^L (i + 1)`, its centre at
/// `v (2^L i + (2^L - 1) / 2)`.
pub fn centre_um(voxel_um: Option<f64>, level: usize, i: f64) -> Option<f64> {
    let s = f64::from(1u32 << level.min(31));
    voxel_um.map(|v| v * (s * i + (s - 1.0) / 2.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_ctharvester() {
        let sizes = |w, h, n| {
            Plan::new(w, h, Depth::U16, n, DEFAULT_MIN_SIZE)
                .levels
                .iter()
                .map(|l| (l.width, l.height, l.slices))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            sizes(2048, 2048, 128),
            [(1024, 1024, 64), (512, 512, 32), (256, 256, 16)]
        );
        assert_eq!(sizes(1030, 40, 6), [(515, 20, 3), (257, 10, 2)]);
        assert_eq!(sizes(1003, 1003, 6), [(501, 501, 3), (250, 250, 2)]);
        assert_eq!(sizes(500, 500, 10), []);
        assert_eq!(sizes(501, 3, 1), [(250, 1, 1)]);
        // No level with zero rows.
        assert_eq!(sizes(4000, 1, 4), []);
    }
}
