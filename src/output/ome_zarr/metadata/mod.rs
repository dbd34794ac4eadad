//! The store's metadata as typed values: the group's OME-NGFF attributes (0.4: `multiscales`
//! and `omero` in `.zattrs`; 0.5: the same under `ome` in `zarr.json`) and each level array's
//! Zarr metadata (v2: `.zarray` and `.zattrs`; v3: `zarr.json`), built from the plan and the
//! options, checked, and serialized into the files this module's writer publishes.
//!
//! Small structs of our own rather than the `ome_zarr_metadata` crate (zarrs' author's): that
//! crate covers only the NGFF attributes, not the Zarr array metadata where the readers' trouble
//! was (`.zarray`), and serializes them its own way (the 0.4 `version` key first, OMERO windows
//! as floats, channel keys reordered), which would change every store's group metadata and make
//! a finished store look stale to a rerun, for no reader's gain; it would also bring in a
//! version parser and a validation framework. The files are written from these values, not by
//! zarrs: zarrs' `ArrayMetadataV2` serializes a v3 key (`node_type`) into `.zarray`, and the
//! numcodecs Blosc configuration readers accept has no `typesize`. zarrs still encodes the
//! chunks and names them, from the zarrs metadata these values convert to ([`ArrayNode::zarrs`]).
//!
//! Arrays' metadata in `array.rs`, the group's in `group.rs`. The golden files in `golden/`
//! are the reviewed serialization of a fixed plan in every variant (see `tests.rs`;
//! `UPDATE_GOLDEN=1` rewrites them), also validated by `tests/python_zarr/test_golden.py` with
//! ome-zarr-models, zarr-python and tensorstore.

mod array;
mod group;
#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::options::Ngff;
use crate::pixel::{Depth, Kind};

pub(super) use array::ArrayNode;
pub(super) use group::{GroupNode, Omero};

/// A metadata file: its key (path relative to the store's root) and its bytes.
pub(super) type File = (String, Vec<u8>);

/// Metadata this build would write that no reader should get: a reason.
pub(super) type Invalid = String;

/// A metadata file named `key` holding `value` as two-space indented JSON, as zarr-python
/// and zarrs write metadata.
fn file(key: String, value: &impl Serialize) -> Result<File, Invalid> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| format!("{key}: {e}"))?;
    Ok((key, bytes))
}

/// A JSON number as its type writes it: `3` for integer types, `3.0` for floats.
#[derive(Serialize, Clone, Copy, Debug, PartialEq)]
#[serde(untagged)]
enum Number {
    Integer(i64),
    Float(f64),
}

impl Number {
    /// `v` as a number of `depth`'s kind (`v` is one of its values).
    fn of(depth: Depth, v: f64) -> Number {
        match depth.kind() {
            Kind::Float => Number::Float(v),
            Kind::Unsigned | Kind::Signed => Number::Integer(v as i64),
        }
    }
}

/// The fill value of every array: 0 of its type.
type FillValue = Number;

impl FillValue {
    fn zero(depth: Depth) -> FillValue {
        Number::of(depth, 0.0)
    }
}

/// The metadata file names of the Zarr version other than `ngff`'s.
pub(super) fn foreign_names(ngff: Ngff) -> &'static [&'static str] {
    match ngff {
        Ngff::V04 => &["zarr.json"],
        Ngff::V05 => &[".zgroup", ".zarray", ".zattrs"],
    }
}

/// Whether `name` is a metadata file's (of either Zarr version), not a chunk's.
pub(super) fn is_metadata(name: &str) -> bool {
    matches!(name, ".zgroup" | ".zarray" | ".zattrs" | "zarr.json")
}

/// An array's metadata on disk, against this build's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Meta {
    Absent,
    /// Some files missing, those there this build's: being written (by another shard).
    Partial,
    Same,
    /// Another build's: its chunks are not this build's either.
    Differs,
}
