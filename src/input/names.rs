//! What names a slice file: the vocabulary that both the folder's rule ([`super::discover`])
//! and a SkyScan log ([`super::skyscan`]) use.

/// More numbers than a range (a log's sections, `--first..--last`) may name: every number is
/// looked up, and no CT stack comes near it.
pub const MAX_SLICES: u64 = 1 << 20;

/// File extensions read as slices, compared case-insensitively.
pub const SLICE_EXTENSIONS: &[&str] = &["tif", "tiff", "bmp", "png", "jpg", "jpeg"];
