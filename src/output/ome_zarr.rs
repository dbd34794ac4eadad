//! One OME-Zarr multiscale store (`--format ome-zarr`): level 0 the input itself, levels
//! 1..L the same pyramid as the TIFF levels, pixel for pixel, as arrays `0`, `1`, ... of one
//! group with OME-NGFF `multiscales` metadata (0.4 on Zarr v2 by default, 0.5 on Zarr v3).
//!
//! ctpyramid writes the metadata from typed values ([`metadata`]); the zarrs crate encodes
//! the chunks and names them, through a crash-safe store ([`store`]); this module decides
//! when and where they are written. Slices arrive level by level in ascending order; each
//! level >= 1 fills a *slab* one chunk deep (`chunk depth x height x width`), and a full slab
//! goes to the writer thread, which compresses its chunks on every core (rayon) while the
//! cascade reads and reduces the next slices, and writes each chunk file crash-safe
//! (temporary name, then renamed). A level has at most two slabs: one filling, one being
//! written. Level 0 is not copied: a chunk depth of input slices (up to 64) is kept as
//! read, and the writer thread gathers its chunks from them a band of rows at a time.
//! Memory is `2 x chunk depth x (H x W) x bytes x (1/4 + 1/16 + ...)`, a band of each kept
//! slice and the cascade's few slices, whatever the stack's length.
//!
//! Crash safety and resume: each array's metadata (shape, chunks, codec, and the identity of
//! the inputs in its attributes) is written before its chunks, and the group's `multiscales`
//! metadata after every chunk: a store with it is complete. A rerun keeps the arrays whose
//! metadata is this build's, and in them every chunk row (a chunk depth of slices, all its
//! chunks) present and decoding; it computes the rest.

//! By concern: typed metadata ([`metadata`]), the crash-safe store ([`store`]), slab
//! buffering ([`slab`]), level 0 from the input slices ([`gather`]), the format itself
//! ([`writer`]), what a rerun keeps ([`resume`]) and the mark of completion ([`complete`]).
//! All of it is built with the `ome-zarr` feature (default), which brings in zarrs and its C
//! codecs (zstd, Blosc); the options are in [`crate::options`] either way.

#[cfg(feature = "ome-zarr")]
mod complete;
#[cfg(feature = "ome-zarr")]
mod gather;
#[cfg(feature = "ome-zarr")]
mod metadata;
#[cfg(feature = "ome-zarr")]
mod read;
#[cfg(feature = "ome-zarr")]
mod resume;
#[cfg(feature = "ome-zarr")]
mod slab;
#[cfg(feature = "ome-zarr")]
mod store;
#[cfg(feature = "ome-zarr")]
mod writer;
#[cfg(feature = "ome-zarr")]
pub use read::{recorded_options, StoreLevel};
#[cfg(feature = "ome-zarr")]
pub use writer::OmeZarr;

/// Without the `ome-zarr` feature no store is read: none is found.
#[cfg(not(feature = "ome-zarr"))]
pub fn recorded_options(_root: &std::path::Path) -> Option<StoreOptions> {
    None
}

/// Without the `ome-zarr` feature no store is read ([`recorded_options`] finds none).
#[cfg(not(feature = "ome-zarr"))]
pub struct StoreLevel(std::convert::Infallible);

#[cfg(not(feature = "ome-zarr"))]
impl StoreLevel {
    /// Never called: no store is found without the feature.
    pub fn open(root: &std::path::Path, _level: usize) -> crate::error::Result<StoreLevel> {
        let reason = "this ctpyramid was built without the ome-zarr feature";
        Err(crate::error::Error::bad_input(root, reason))
    }

    /// Never called.
    pub fn slice(
        &mut self,
        _z: usize,
        _within: &std::ops::Range<usize>,
        _box: [&std::ops::Range<usize>; 2],
    ) -> crate::error::Result<&[u8]> {
        match self.0 {}
    }
}

/// What a store's metadata says it was written with: how (NGFF version, codec, chunks),
/// `min_size`, and the input's voxel edge.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StoreOptions {
    /// The store's version, codec and level 0's chunk shape.
    pub zarr: crate::options::OmeZarrOptions,
    /// The rule its levels were planned by.
    pub min_size: Option<usize>,
    /// Level 0's voxel edge in micrometres, when its axes have a unit.
    pub voxel_um: Option<f64>,
}
