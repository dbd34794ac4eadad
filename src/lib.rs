//! ctpyramid: level-of-detail pyramids of CT slice stacks, read with zero copies.
//!
//! The data path, top to bottom: [`discover`] lists the slices, [`slice`] maps each file and
//! [`layout`] locates its pixels, [`plane`] hands out rows, [`kernel`] reduces them,
//! [`pyramid`] cascades the levels and [`output`] writes them.
//!
//! ```no_run
//! let options = ctpyramid::BuildOptions::new("/data/scan42");
//! let summary = ctpyramid::build(&options, &mut |_event| {})?;
//! println!("{} files written", summary.files_written);
//! # Ok::<(), ctpyramid::Error>(())
//! ```

pub mod bench;
pub mod decode;
pub mod demo;
pub mod discover;
pub mod encode;
pub mod error;
pub mod inspect;
pub mod kernel;
pub mod layout;
pub mod manifest;
pub mod output;
pub mod plane;
pub mod platform;
pub mod progress;
pub mod pyramid;
pub mod shard;
pub mod sigbus;
pub mod skyscan;
pub mod slice;
pub mod voxel;

pub use error::{Error, Result};
pub use layout::Depth;
pub use pyramid::{build, BuildOptions, Event, Layout, Level, Plan, Summary, DEFAULT_MIN_SIZE};
pub use slice::ReadMode;
