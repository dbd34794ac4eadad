//! One OME-Zarr multiscale store (`--format ome-zarr`): level 0 the input itself, levels
//! 1..L the same pyramid as the TIFF levels, pixel for pixel, as arrays `0`, `1`, ... of one
//! group with OME-NGFF `multiscales` metadata (0.4 on Zarr v2 by default, 0.5 on Zarr v3).
//!
//! The zarrs crate makes the metadata, encodes the chunks and names them; this module decides
//! when and where they are written. Slices arrive level by level in ascending order; each
//! level fills a *slab* one chunk deep (`chunk depth x height x width`), and a full slab goes
//! to the writer thread, which compresses its chunks on every core (rayon) while the cascade
//! reads and reduces the next slices, and writes each chunk file crash-safe (temporary name,
//! then renamed). A level has at most two slabs: one filling, one being written; memory is
//! `2 x chunk depth x (H x W) x bytes x (1 + 1/4 + 1/16 + ...)` plus the cascade's few
//! slices, whatever the stack's length.
//!
//! Crash safety and resume: each array's metadata (shape, chunks, codec, and the identity of
//! the inputs in its attributes) is written before its chunks, and the group's `multiscales`
//! metadata after every chunk: a store with it is complete. A rerun keeps the arrays whose
//! metadata is this build's, and in them every chunk row (a chunk depth of slices, all its
//! chunks) present and decoding; it computes the rest.

//! The options (`Ngff`, `Codec`, `OmeZarrOptions`) are always there; the writer
//! ([`writer`]) is built with the `ome-zarr` feature (default), which brings in zarrs and
//! its C codecs (zstd, Blosc).

#[cfg(feature = "ome-zarr")]
mod complete;
#[cfg(feature = "ome-zarr")]
mod metadata;
#[cfg(feature = "ome-zarr")]
mod resume;
#[cfg(feature = "ome-zarr")]
mod slab;
#[cfg(feature = "ome-zarr")]
mod store;
#[cfg(feature = "ome-zarr")]
mod writer;
#[cfg(feature = "ome-zarr")]
pub use writer::OmeZarr;

/// Chunk shape `[z, y, x]` when `--chunks` is not given (see README "OME-Zarr").
pub const DEFAULT_CHUNKS: [usize; 3] = [16, 256, 256];

/// The OME-NGFF version written (also the CLI's `--ngff`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Ngff {
    /// OME-NGFF 0.4 on Zarr v2: the widest reader support today.
    #[default]
    #[value(name = "0.4")]
    V04,
    /// OME-NGFF 0.5 on Zarr v3.
    #[value(name = "0.5")]
    V05,
}

impl Ngff {
    pub fn name(self) -> &'static str {
        match self {
            Ngff::V04 => "0.4",
            Ngff::V05 => "0.5",
        }
    }
}

/// The chunks' compression (also the CLI's `--codec`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Codec {
    /// Zstandard, level 1.
    #[default]
    Zstd,
    /// Blosc with LZ4, level 5, byte shuffle.
    BloscLz4,
}

impl Codec {
    pub fn name(self) -> &'static str {
        match self {
            Codec::Zstd => "zstd",
            Codec::BloscLz4 => "blosc-lz4",
        }
    }
}

/// How an OME-Zarr store is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OmeZarrOptions {
    pub ngff: Ngff,
    pub codec: Codec,
    /// Chunk shape `[z, y, x]` (each clamped to the level's size).
    pub chunks: [usize; 3],
}

impl Default for OmeZarrOptions {
    fn default() -> Self {
        OmeZarrOptions {
            ngff: Ngff::V04,
            codec: Codec::Zstd,
            chunks: DEFAULT_CHUNKS,
        }
    }
}

/// Parses `Z,Y,X` (the CLI's `--chunks`).
pub fn parse_chunks(text: &str) -> std::result::Result<[usize; 3], String> {
    let bad = || format!("--chunks {text:?}: expected Z,Y,X, three positive integers");
    let parts: Vec<usize> = text
        .split(',')
        .map(|p| p.trim().parse::<usize>().map_err(|_| bad()))
        .collect::<std::result::Result<_, _>>()?;
    match parts[..] {
        [z, y, x] if z > 0 && y > 0 && x > 0 => Ok([z, y, x]),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_parse() {
        assert_eq!(parse_chunks("16,256,256"), Ok([16, 256, 256]));
        assert!(parse_chunks("16,256").is_err());
        assert!(parse_chunks("0,1,1").is_err());
        assert!(parse_chunks("a,b,c").is_err());
    }
}
