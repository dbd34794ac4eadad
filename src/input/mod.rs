//! The input: which files are the slices ([`discover`], with [`skyscan`] logs and the file
//! [`names`] rule), their voxel size ([`voxel`]), each file's bytes ([`bytes`]: mapped, or read),
//! one slice's pixels ([`slice`], decoded by [`decode`] where they are not stored plainly),
//! and the stack of them opened in slice order ([`stack`]).

pub mod bytes;
pub mod decode;
pub mod discover;
pub mod names;
pub mod skyscan;
pub mod slice;
pub mod stack;
pub mod voxel;

pub use bytes::ReadMode;
pub use discover::{select, Listing, Pattern, Selection, SelectionParts};
pub use skyscan::SkyScanLog;
pub use slice::{ReadPath, SliceFile};
pub use stack::{Stack, View};
pub use voxel::{FileScaleKind, VoxelSource};
