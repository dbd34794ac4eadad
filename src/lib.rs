//! ctpyramid: level-of-detail pyramids of CT slice stacks, read with zero copies.
//!
//! A folder of slice images (or one multi-page TIFF) becomes a pyramid: level 1 halves x, y
//! and z, level 2 halves level 1, and so on, pixel for pixel as CTHarvester's thumbnails, in
//! one pass that reads the slices in order from memory maps. The outputs are TIFF files
//! (CTHarvester's `<DIR>/.thumbnail/<L>/<k:06>.tif`, or one multi-page TIFF a level) or one
//! OME-Zarr store (`options.format = OutputFormat::OmeZarr`).
//!
//! ```
//! use ctpyramid::{BuildOptions, Event};
//!
//! // A synthetic stack: 8 slices of 600 x 600, 16-bit (write_phantom), then its pyramid.
//! let dir = std::env::temp_dir().join(format!("ctpyramid-doc-{}", std::process::id()));
//! ctpyramid::write_phantom(&dir, 8, 600)?;
//! let options = BuildOptions::new(&dir);
//! let summary = ctpyramid::build(&options, &mut |event| {
//!     if let Event::Planned { plan, .. } = event {
//!         println!("{} level(s) below {}x{}", plan.levels.len(), plan.width, plan.height);
//!     }
//! })?;
//! // Level 1: 300 x 300, 4 slices, in <dir>/.thumbnail/1/000000.tif ... 000003.tif.
//! assert_eq!(summary.plan.levels[0].to_string(), "1: 300x300 x 4");
//! assert_eq!(summary.files_written, 4);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), ctpyramid::Error>(())
//! ```
//!
//! The crate reads top to bottom as the data does: the input is listed and its slices mapped
//! (`input`), the kernels reduce their rows (`pixel`), the engine cascades the levels
//! (`engine`) and the output formats write them (`output`). What they share is vocabulary:
//! [`BuildOptions`], [`Plan`], [`Event`], [`Summary`], [`Error`].

#![warn(missing_docs)]

// The layers, bottom first; each uses only those listed before it.
mod bench;
mod choice;
mod crop;
mod demo;
mod engine;
mod error;
mod events;
mod identity;
mod input;
mod inspect;
mod mesh;
mod options;
mod output;
mod pixel;
mod plan;
pub mod platform;
pub mod progress;
mod publish;
mod region;
mod shard;
mod surface;

pub use bench::{bench, BenchOptions, Method, Report as BenchReport, Timing};
pub use choice::Choice;
pub use crop::{crop, CropOptions, ReadOptions, RegionRead};
pub use demo::write_phantom;
pub use engine::{build, plan_shards, survey, LevelFound, ShardPlan, Survey};
pub use error::{Error, Hint, Result};
pub use events::{CropSummary, Event, MeshSummary, Outputs, Summary};
pub use input::{
    FileScaleKind, Pattern, ReadMode, Selection, SelectionParts, SkyScanLog, VoxelSource,
};
pub use inspect::{inspect, PyramidState, Report, SliceKind};
pub use mesh::{mesh, mesh_arrays, MeshOptions};
pub use options::{
    check_threads, max_threads, parse_chunks, with_threads, BuildOptions, Codec, MeshFormat, Ngff,
    OmeZarrOptions, OutputFormat, TiffLayout, Units, WriteMode, DEFAULT_CHUNKS,
};
pub use output::mesh::MeshArrays;
pub use output::Recorded;
pub use pixel::Depth;
pub use plan::{describe_levels, Level, Plan, DEFAULT_MIN_SIZE};
pub use region::{parse_range, Region, RegionSpec};

/// The crate's insides, for its own tests, benchmarks and fuzz targets: not an API, and not
/// kept stable.
#[doc(hidden)]
pub mod internals {
    pub use crate::input::decode::Format;
    pub use crate::input::{select, SliceFile, Stack};
    pub use crate::pixel::kernel::{average_row, halve_row, reduce_pair_row};
    pub use crate::pixel::{Reduce, Sample};
}
