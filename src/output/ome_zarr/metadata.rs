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
//! The golden files in `golden/` are the reviewed serialization of a fixed plan in every
//! variant (see the tests below; `UPDATE_GOLDEN=1` rewrites them), also validated by
//! `tests/python_zarr/test_golden.py` with ome-zarr-models, zarr-python and tensorstore.

use serde::Serialize;

use crate::options::{Codec, Ngff, OmeZarrOptions};
use crate::pixel::{Depth, Kind};
use crate::plan::Plan;

/// zstd's level: numcodecs' default, and the fastest that still compresses CT data well.
const ZSTD_LEVEL: i32 = 1;
/// Blosc's compressor, level and block size (automatic): numcodecs' defaults.
const BLOSC_CNAME: &str = "lz4";
const BLOSC_LEVEL: u8 = 5;
const BLOSC_BLOCKSIZE: usize = 0;
/// Named by zarrs' `_zarrs` attribute, which zarrs' `store_metadata` used to add to every
/// array and which is kept: zarrs still encodes every chunk.
const ZARRS_REPOSITORY: &str = "https://github.com/zarrs/zarrs";
/// The downsampling, in the `multiscales` metadata.
const METHOD: &str = "2x2x2 mean as CTHarvester's thumbnails: (a+b+c+d+2)>>2 in x and y, then \
                      (p+q+1)>>1 in z; an odd last row, column or slice is halved alone in z, \
                      dropped in x and y";

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

// ---------------------------------------------------------------------------------------------
// Arrays

/// The attributes of every level array: what decides its bytes beyond its Zarr metadata (the
/// identity of the inputs and the rule), checked by a rerun before it keeps any chunk.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(super) struct ArrayAttributes {
    ctpyramid: Identity,
    #[serde(rename = "_zarrs")]
    zarrs: Zarrs,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct Identity {
    version: &'static str,
    /// The plan's `source_id`, 16 hexadecimal digits.
    source: String,
    min_size: usize,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct Zarrs {
    description: &'static str,
    repository: &'static str,
    version: &'static str,
}

impl ArrayAttributes {
    fn new(plan: &Plan) -> ArrayAttributes {
        ArrayAttributes {
            ctpyramid: Identity {
                version: env!("CARGO_PKG_VERSION"),
                source: format!("{:016x}", plan.source_id),
                min_size: plan.min_size,
            },
            zarrs: Zarrs {
                description: "This array was created with zarrs",
                repository: ZARRS_REPOSITORY,
                version: zarrs::version::version_str(),
            },
        }
    }
}

/// A Zarr v2 `.zarray`: exactly the keys of the v2 specification, in its order.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(super) struct ZArray {
    zarr_format: u8,
    shape: [usize; 3],
    chunks: [usize; 3],
    /// `|u1`, `<u2`, `<i2` or `<f4`.
    dtype: &'static str,
    compressor: CompressorV2,
    fill_value: FillValue,
    order: &'static str,
    /// `null`.
    filters: (),
    dimension_separator: &'static str,
}

/// A v2 compressor as numcodecs writes its configuration (`get_config`).
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(tag = "id", rename_all = "lowercase")]
enum CompressorV2 {
    Zstd {
        level: i32,
    },
    /// No `typesize`: numcodecs before 0.16 and tensorstore refuse it. Readers shuffle by the
    /// dtype's size, as the chunks were compressed.
    Blosc {
        cname: &'static str,
        clevel: u8,
        /// 1: byte shuffle.
        shuffle: u8,
        blocksize: usize,
    },
}

/// A Zarr v3 array's `zarr.json`.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(super) struct ZarrJsonArray {
    zarr_format: u8,
    node_type: &'static str,
    shape: [usize; 3],
    /// `uint8`, `uint16`, `int16` or `float32`.
    data_type: &'static str,
    chunk_grid: Named<ChunkShape>,
    chunk_key_encoding: Named<Separator>,
    fill_value: FillValue,
    codecs: [CodecV3; 2],
    attributes: ArrayAttributes,
    dimension_names: [&'static str; 3],
}

/// A v3 extension point: `{"name": ..., "configuration": {...}}`.
#[derive(Serialize, Clone, Debug, PartialEq)]
struct Named<T> {
    name: &'static str,
    configuration: T,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct ChunkShape {
    chunk_shape: [usize; 3],
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct Separator {
    separator: &'static str,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(tag = "name", content = "configuration", rename_all = "lowercase")]
enum CodecV3 {
    Bytes {
        endian: &'static str,
    },
    Zstd {
        level: i32,
        checksum: bool,
    },
    Blosc {
        cname: &'static str,
        clevel: u8,
        shuffle: &'static str,
        typesize: usize,
        blocksize: usize,
    },
}

/// One level array's metadata.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum ArrayNode {
    /// OME-NGFF 0.4: `.zarray` and `.zattrs`.
    V2 {
        zarray: ZArray,
        zattrs: ArrayAttributes,
    },
    /// OME-NGFF 0.5: `zarr.json`.
    V3(ZarrJsonArray),
}

/// The chunk shape of an array of `shape`: `options.chunks` clamped to it.
pub(super) fn chunk_shape(options: &OmeZarrOptions, shape: [usize; 3]) -> [usize; 3] {
    std::array::from_fn(|d| options.chunks[d].min(shape[d]).max(1))
}

impl ArrayNode {
    /// The metadata of a level array of `shape` (`[slices, height, width]`).
    pub(super) fn new(
        plan: &Plan,
        options: &OmeZarrOptions,
        shape: [usize; 3],
    ) -> Result<ArrayNode, Invalid> {
        let chunks = chunk_shape(options, shape);
        let attributes = ArrayAttributes::new(plan);
        let node = match options.ngff {
            Ngff::V04 => ArrayNode::V2 {
                zarray: ZArray {
                    zarr_format: 2,
                    shape,
                    chunks,
                    dtype: match plan.depth {
                        Depth::U8 => "|u1",
                        Depth::U16 => "<u2",
                        Depth::I16 => "<i2",
                        Depth::F32 => "<f4",
                    },
                    compressor: match options.codec {
                        Codec::Zstd => CompressorV2::Zstd { level: ZSTD_LEVEL },
                        Codec::BloscLz4 => CompressorV2::Blosc {
                            cname: BLOSC_CNAME,
                            clevel: BLOSC_LEVEL,
                            shuffle: 1,
                            blocksize: BLOSC_BLOCKSIZE,
                        },
                    },
                    fill_value: FillValue::zero(plan.depth),
                    order: "C",
                    filters: (),
                    dimension_separator: "/",
                },
                zattrs: attributes,
            },
            Ngff::V05 => ArrayNode::V3(ZarrJsonArray::new(plan, options, shape, attributes)),
        };
        node.validate()?;
        Ok(node)
    }

    fn shape(&self) -> [usize; 3] {
        match self {
            ArrayNode::V2 { zarray, .. } => zarray.shape,
            ArrayNode::V3(array) => array.shape,
        }
    }

    /// `[z, y, x]`.
    pub(super) fn chunks(&self) -> [usize; 3] {
        match self {
            ArrayNode::V2 { zarray, .. } => zarray.chunks,
            ArrayNode::V3(array) => array.chunk_grid.configuration.chunk_shape,
        }
    }

    /// Every dimension at least one, every chunk within the array.
    fn validate(&self) -> Result<(), Invalid> {
        let (shape, chunks) = (self.shape(), self.chunks());
        if shape.contains(&0) {
            return Err(format!("an empty array of shape {shape:?}"));
        }
        if (0..3).any(|d| chunks[d] == 0 || chunks[d] > shape[d]) {
            return Err(format!("chunks {chunks:?} outside the shape {shape:?}"));
        }
        Ok(())
    }

    /// Its files, keys relative to the store's root (level `level`'s folder).
    pub(super) fn files(&self, level: usize) -> Result<Vec<File>, Invalid> {
        match self {
            ArrayNode::V2 { zarray, zattrs } => Ok(vec![
                file(format!("{level}/.zarray"), zarray)?,
                file(format!("{level}/.zattrs"), zattrs)?,
            ]),
            ArrayNode::V3(array) => Ok(vec![file(format!("{level}/zarr.json"), array)?]),
        }
    }

    /// The same metadata for zarrs, which encodes the chunks and names their keys from it
    /// (v2: the Blosc `typesize` it needs is the dtype's size, as readers take it).
    pub(super) fn zarrs(&self) -> Result<zarrs::metadata::ArrayMetadata, Invalid> {
        use zarrs::metadata::v2::ArrayMetadataV2;
        use zarrs::metadata::v3::ArrayMetadataV3;
        let reason = |e: serde_json::Error| format!("zarrs refuses the array metadata: {e}");
        Ok(match self {
            ArrayNode::V2 { zarray, .. } => {
                let value = serde_json::to_value(zarray).map_err(reason)?;
                serde_json::from_value::<ArrayMetadataV2>(value)
                    .map_err(reason)?
                    .into()
            }
            ArrayNode::V3(array) => {
                let value = serde_json::to_value(array).map_err(reason)?;
                serde_json::from_value::<ArrayMetadataV3>(value)
                    .map_err(reason)?
                    .into()
            }
        })
    }
}

impl ZarrJsonArray {
    fn new(
        plan: &Plan,
        options: &OmeZarrOptions,
        shape: [usize; 3],
        attributes: ArrayAttributes,
    ) -> ZarrJsonArray {
        let compressor = match options.codec {
            Codec::Zstd => CodecV3::Zstd {
                level: ZSTD_LEVEL,
                checksum: false,
            },
            Codec::BloscLz4 => CodecV3::Blosc {
                cname: BLOSC_CNAME,
                clevel: BLOSC_LEVEL,
                shuffle: "shuffle",
                typesize: plan.depth.bytes(),
                blocksize: BLOSC_BLOCKSIZE,
            },
        };
        ZarrJsonArray {
            zarr_format: 3,
            node_type: "array",
            shape,
            data_type: plan.depth.dtype(),
            chunk_grid: Named {
                name: "regular",
                configuration: ChunkShape {
                    chunk_shape: chunk_shape(options, shape),
                },
            },
            chunk_key_encoding: Named {
                name: "default",
                configuration: Separator { separator: "/" },
            },
            fill_value: FillValue::zero(plan.depth),
            codecs: [CodecV3::Bytes { endian: "little" }, compressor],
            attributes,
            dimension_names: ["z", "y", "x"],
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The group

/// One OME-NGFF multiscale image: the levels as datasets `0`, `1`, ...
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(super) struct Multiscale {
    name: String,
    axes: [Axis; 3],
    datasets: Vec<Dataset>,
    r#type: &'static str,
    metadata: Method,
    /// 0.4 only (0.5 has it once, under `ome`).
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'static str>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct Axis {
    name: &'static str,
    r#type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<&'static str>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct Dataset {
    path: String,
    #[serde(rename = "coordinateTransformations")]
    transforms: [Transform; 2],
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Transform {
    Scale { scale: [f64; 3] },
    Translation { translation: [f64; 3] },
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct Method {
    description: &'static str,
    method: &'static str,
    version: &'static str,
}

/// OMERO display settings (transitional in OME-NGFF, read by napari and Fiji): one gray
/// channel.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(super) struct Omero {
    channels: [Channel; 1],
    rdefs: Rdefs,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct Channel {
    label: String,
    color: &'static str,
    active: bool,
    coefficient: u32,
    family: &'static str,
    inverted: bool,
    window: Window,
}

/// The range of the pixels (`start..=end`) within the dtype's (`min..=max`): whole numbers
/// for integer types; for floats, whose range is no display range, `min..=max` is the
/// pixels' too.
#[derive(Serialize, Clone, Copy, Debug, PartialEq)]
struct Window {
    min: Number,
    max: Number,
    start: Number,
    end: Number,
}

/// A JSON number as its type writes it: `3` for integer types, `3.0` for floats.
#[derive(Serialize, Clone, Copy, Debug, PartialEq)]
#[serde(untagged)]
pub(super) enum Number {
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

#[derive(Serialize, Clone, Debug, PartialEq)]
struct Rdefs {
    model: &'static str,
}

impl Omero {
    /// A gray channel named `label` whose window is `start..=end` (values of `depth`) within
    /// `depth`'s range (a float's range is the window).
    pub(super) fn gray(label: &str, depth: Depth, start: f64, end: f64) -> Result<Omero, Invalid> {
        let (min, max) = match depth {
            Depth::U8 => (0.0, f64::from(u8::MAX)),
            Depth::U16 => (0.0, f64::from(u16::MAX)),
            Depth::I16 => (f64::from(i16::MIN), f64::from(i16::MAX)),
            Depth::F32 => (start, end),
        };
        let whole = depth.kind() == Kind::Float || (start.fract() == 0.0 && end.fract() == 0.0);
        let inside = start.is_finite() && end.is_finite() && min <= start && end <= max;
        if !(inside && start <= end && whole) {
            return Err(format!(
                "a display window {start}..={end} outside {min}..={max}"
            ));
        }
        let [min, max, start, end] = [min, max, start, end].map(|v| Number::of(depth, v));
        Ok(Omero {
            channels: [Channel {
                label: label.to_string(),
                color: "FFFFFF",
                active: true,
                coefficient: 1,
                family: "linear",
                inverted: false,
                window: Window {
                    min,
                    max,
                    start,
                    end,
                },
            }],
            rdefs: Rdefs { model: "greyscale" },
        })
    }
}

/// OME-NGFF 0.4 group attributes (`.zattrs`).
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(super) struct GroupAttributesV04 {
    multiscales: [Multiscale; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    omero: Option<Omero>,
}

/// A Zarr v2 `.zgroup`.
#[derive(Serialize, Clone, Debug, PartialEq)]
struct ZGroup {
    zarr_format: u8,
}

/// A Zarr v3 group's `zarr.json` with OME-NGFF 0.5 attributes.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(super) struct ZarrJsonGroup {
    zarr_format: u8,
    node_type: &'static str,
    attributes: OmeAttributes,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct OmeAttributes {
    ome: Ome,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct Ome {
    version: &'static str,
    multiscales: [Multiscale; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    omero: Option<Omero>,
}

/// The group's metadata: the mark of a complete store.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum GroupNode {
    /// OME-NGFF 0.4: `.zgroup`, then `.zattrs`.
    V2(GroupAttributesV04),
    /// OME-NGFF 0.5: `zarr.json`.
    V3(ZarrJsonGroup),
}

impl Multiscale {
    /// Level `L`'s dataset `L`: a scale of `voxel x 2^L` and a translation of
    /// `voxel x (2^L - 1) / 2`, so that the levels overlay exactly (a level-L voxel's centre is
    /// the centre of the 2^L input voxels it averages), from the plan's origin (a crop's). The
    /// voxel is 1 (no unit) when unknown.
    fn new(plan: &Plan, name: &str, ngff: Ngff) -> Multiscale {
        let voxel = plan.voxel_um.unwrap_or(1.0);
        let axis = |name| Axis {
            name,
            r#type: "space",
            unit: plan.voxel_um.map(|_| "micrometer"),
        };
        let datasets = (0..=plan.levels.len())
            .map(|level| {
                let factor = f64::from(1u32 << level.min(31));
                let (scale, shift) = (voxel * factor, voxel * (factor - 1.0) / 2.0);
                Dataset {
                    path: level.to_string(),
                    transforms: [
                        Transform::Scale { scale: [scale; 3] },
                        Transform::Translation {
                            translation: plan.origin.map(|o| o + shift),
                        },
                    ],
                }
            })
            .collect();
        Multiscale {
            name: name.to_string(),
            axes: [axis("z"), axis("y"), axis("x")],
            datasets,
            r#type: "mean",
            metadata: Method {
                description: METHOD,
                method: "ctpyramid",
                version: env!("CARGO_PKG_VERSION"),
            },
            version: (ngff == Ngff::V04).then_some("0.4"),
        }
    }

    /// Scales positive and finite, translations finite: what viewers divide by and add.
    fn validate(&self) -> Result<(), Invalid> {
        for dataset in &self.datasets {
            for transform in &dataset.transforms {
                let ok = match transform {
                    Transform::Scale { scale } => scale.iter().all(|s| s.is_finite() && *s > 0.0),
                    Transform::Translation { translation } => {
                        translation.iter().all(|t| t.is_finite())
                    }
                };
                if !ok {
                    return Err(format!("dataset {}: {transform:?}", dataset.path));
                }
            }
        }
        Ok(())
    }
}

impl GroupNode {
    /// The group of the store of `plan` named `name`, with the `omero` settings if given.
    pub(super) fn new(
        plan: &Plan,
        name: &str,
        options: &OmeZarrOptions,
        omero: Option<Omero>,
    ) -> Result<GroupNode, Invalid> {
        let multiscale = Multiscale::new(plan, name, options.ngff);
        multiscale.validate()?;
        Ok(match options.ngff {
            Ngff::V04 => GroupNode::V2(GroupAttributesV04 {
                multiscales: [multiscale],
                omero,
            }),
            Ngff::V05 => GroupNode::V3(ZarrJsonGroup {
                zarr_format: 3,
                node_type: "group",
                attributes: OmeAttributes {
                    ome: Ome {
                        version: "0.5",
                        multiscales: [multiscale],
                        omero,
                    },
                },
            }),
        })
    }

    /// Its files in the order they are written: the last is the mark of a complete store.
    pub(super) fn files(&self) -> Result<Vec<File>, Invalid> {
        match self {
            GroupNode::V2(attributes) => Ok(vec![
                file(".zgroup".into(), &ZGroup { zarr_format: 2 })?,
                file(".zattrs".into(), attributes)?,
            ]),
            GroupNode::V3(json) => Ok(vec![file("zarr.json".into(), json)?]),
        }
    }

    /// The key of its last file.
    pub(super) fn mark(ngff: Ngff) -> &'static str {
        match ngff {
            Ngff::V04 => ".zattrs",
            Ngff::V05 => "zarr.json",
        }
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

#[cfg(test)]
mod tests {
    // The metadata of a fixed plan in every variant against the golden files in `golden/`
    // (`UPDATE_GOLDEN=1 cargo test --lib golden` rewrites them; review the diff), and the rules
    // the golden files are meant to follow, checked on the values themselves.

    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use serde_json::Value;
    use zarrs::array::{Array, ArrayBytes, CodecOptions};
    use zarrs::storage::store::MemoryStore;
    use zarrs::storage::ReadableStorageTraits;

    use super::*;

    /// A fixed plan: `u16`, 13 slices of 67 x 45, 3 levels, voxel 12.5 um; or `u8`, 10 slices of
    /// 40 x 64, 2 levels, no voxel size. Odd sizes, chunks clamped at the small levels.
    fn plan(name: &str) -> Plan {
        let mut plan = match name {
            "u16" => Plan::new(67, 45, Depth::U16, 13, 8),
            "i16" => Plan::new(67, 45, Depth::I16, 13, 8),
            "f32" => Plan::new(40, 64, Depth::F32, 10, 16),
            _ => Plan::new(40, 64, Depth::U8, 10, 16),
        };
        plan.voxel_um = (name == "u16").then_some(12.5);
        plan.source_id = 0x0123_4567_89ab_cdef;
        plan
    }

    const VARIANTS: [(Ngff, Codec); 4] = [
        (Ngff::V04, Codec::Zstd),
        (Ngff::V04, Codec::BloscLz4),
        (Ngff::V05, Codec::Zstd),
        (Ngff::V05, Codec::BloscLz4),
    ];

    fn options(ngff: Ngff, codec: Codec) -> OmeZarrOptions {
        OmeZarrOptions {
            ngff,
            codec,
            chunks: [4, 16, 32],
        }
    }

    /// Every metadata file of the store of `plan`, by key.
    fn store_files(plan: &Plan, options: &OmeZarrOptions) -> BTreeMap<String, Vec<u8>> {
        let window = match plan.depth {
            Depth::U8 => (3.0, 250.0),
            Depth::U16 => (1000.0, 40000.0),
            Depth::I16 => (-1200.0, 3000.0),
            Depth::F32 => (-0.25, 1.5),
        };
        let omero = Omero::gray("scan", plan.depth, window.0, window.1).unwrap();
        let group = GroupNode::new(plan, "scan", options, Some(omero)).unwrap();
        let mut files: BTreeMap<_, _> = group.files().unwrap().into_iter().collect();
        let mut shapes = vec![[plan.slices, plan.height, plan.width]];
        shapes.extend(plan.levels.iter().map(|l| [l.slices, l.height, l.width]));
        for (level, shape) in shapes.into_iter().enumerate() {
            let array = ArrayNode::new(plan, options, shape).unwrap();
            files.extend(array.files(level).unwrap());
        }
        files
    }

    fn golden_dir(name: &str, options: &OmeZarrOptions) -> PathBuf {
        let variant = format!("{name}-{}-{}", options.ngff.name(), options.codec.name());
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/output/ome_zarr/golden")
            .join(variant)
    }

    /// The files below `dir`, by path relative to it with `/`.
    fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        let mut files = BTreeMap::new();
        let mut dirs = vec![dir.to_path_buf()];
        while let Some(d) = dirs.pop() {
            for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    let key = path.strip_prefix(dir).unwrap().to_string_lossy();
                    files.insert(key.replace('\\', "/"), std::fs::read(&path).unwrap());
                }
            }
        }
        files
    }

    #[test]
    fn golden_files() {
        let update = std::env::var_os("UPDATE_GOLDEN").is_some();
        for name in ["u16", "u8", "i16", "f32"] {
            let plan = plan(name);
            for (ngff, codec) in VARIANTS {
                let options = options(ngff, codec);
                let dir = golden_dir(name, &options);
                let want = store_files(&plan, &options);
                if update {
                    let _ = std::fs::remove_dir_all(&dir);
                    for (key, bytes) in &want {
                        let path = dir.join(key);
                        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                        std::fs::write(path, bytes).unwrap();
                    }
                }
                let got = read_tree(&dir);
                assert_eq!(
                    got.keys().collect::<Vec<_>>(),
                    want.keys().collect::<Vec<_>>(),
                    "{}: the files",
                    dir.display()
                );
                for (key, bytes) in &want {
                    assert!(
                        got[key] == *bytes,
                        "{}/{key} differs from the golden file:\n{}",
                        dir.display(),
                        String::from_utf8_lossy(bytes)
                    );
                }
            }
        }
    }

    fn json(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn zarr_v2_arrays_hold_exactly_the_v2_keys_and_numcodecs_blosc() {
        let spec = [
            "zarr_format",
            "shape",
            "chunks",
            "dtype",
            "compressor",
            "fill_value",
            "order",
            "filters",
            "dimension_separator",
        ];
        for name in ["u16", "u8", "i16", "f32"] {
            let plan = plan(name);
            for codec in [Codec::Zstd, Codec::BloscLz4] {
                let files = store_files(&plan, &options(Ngff::V04, codec));
                for (key, bytes) in files.iter().filter(|(k, _)| k.ends_with(".zarray")) {
                    let zarray = json(bytes);
                    let keys: Vec<&str> =
                        zarray.as_object().unwrap().keys().map(|k| &**k).collect();
                    assert_eq!(keys, spec, "{key}");
                    assert_eq!(zarray["filters"], Value::Null);
                    let want = match codec {
                        Codec::Zstd => serde_json::json!({ "id": "zstd", "level": 1 }),
                        Codec::BloscLz4 => serde_json::json!({
                            "id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0,
                        }),
                    };
                    assert_eq!(zarray["compressor"], want, "{key}");
                }
            }
        }
    }

    #[test]
    fn zarr_v3_blosc_names_the_sample_size() {
        for (name, typesize) in [("u16", 2), ("u8", 1), ("i16", 2), ("f32", 4)] {
            let files = store_files(&plan(name), &options(Ngff::V05, Codec::BloscLz4));
            let array = json(&files["0/zarr.json"]);
            let blosc = &array["codecs"][1];
            assert_eq!(blosc["name"], "blosc");
            assert_eq!(blosc["configuration"]["typesize"], typesize);
            assert_eq!(blosc["configuration"]["shuffle"], "shuffle");
        }
    }

    /// What zarrs encoded a chunk to, from the `.zarray` ctpyramid wrote before (with Blosc's
    /// `typesize`), and from this one (without): the same bytes.
    #[test]
    fn blosc_chunks_are_the_same_bytes_without_typesize_in_the_metadata() {
        let plan = plan("u16");
        let node =
            ArrayNode::new(&plan, &options(Ngff::V04, Codec::BloscLz4), [4, 16, 32]).unwrap();
        let mut with_typesize = serde_json::to_value(match &node {
            ArrayNode::V2 { zarray, .. } => zarray,
            ArrayNode::V3(_) => unreachable!(),
        })
        .unwrap();
        with_typesize["compressor"]["typesize"] = 2.into();
        let with_typesize: zarrs::metadata::v2::ArrayMetadataV2 =
            serde_json::from_value(with_typesize).unwrap();
        let chunk: Vec<u8> = (0..4 * 16 * 32u32)
            .flat_map(|i| ((i * 37 % 5000) as u16).to_ne_bytes())
            .collect();
        let mut encoded = Vec::new();
        for metadata in [node.zarrs().unwrap(), with_typesize.into()] {
            let store = Arc::new(MemoryStore::new());
            let array = Array::new_with_metadata(store.clone(), "/0", metadata).unwrap();
            let options = CodecOptions::default().with_store_empty_chunks(true);
            array
                .store_chunk_opt(&[0, 0, 0], ArrayBytes::from(&chunk[..]), &options)
                .unwrap();
            let key = array.chunk_key(&[0, 0, 0]);
            assert_eq!(key.as_str(), "0/0/0/0");
            encoded.push(store.get(&key).unwrap().unwrap().to_vec());
        }
        assert!(encoded[0].len() < chunk.len(), "compressed");
        assert!(encoded[0] == encoded[1], "the chunk bytes changed");
    }

    /// zarrs reads the golden stores' metadata back (every array opens with its shape).
    #[test]
    fn zarrs_opens_every_golden_array() {
        for name in ["u16", "u8", "i16", "f32"] {
            let plan = plan(name);
            for (ngff, codec) in VARIANTS {
                let options = options(ngff, codec);
                let dir = tempfile::tempdir().unwrap();
                for (key, bytes) in store_files(&plan, &options) {
                    let path = dir.path().join(key);
                    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                    std::fs::write(path, bytes).unwrap();
                }
                let store = Arc::new(zarrs::filesystem::FilesystemStore::new(dir.path()).unwrap());
                for level in 0..=plan.levels.len() {
                    let array = Array::open(store.clone(), &format!("/{level}")).unwrap();
                    let shape = match level {
                        0 => [plan.slices, plan.height, plan.width],
                        l => {
                            let l = &plan.levels[l - 1];
                            [l.slices, l.height, l.width]
                        }
                    };
                    assert_eq!(array.shape(), shape.map(|n| n as u64), "{name} {level}");
                }
            }
        }
    }

    #[test]
    fn invalid_metadata_is_refused() {
        let mut plan = plan("u16");
        let options = options(Ngff::V04, Codec::Zstd);
        assert!(ArrayNode::new(&plan, &options, [0, 4, 4]).is_err());
        for voxel in [f64::NAN, -1.0, 0.0, f64::INFINITY] {
            plan.voxel_um = Some(voxel);
            assert!(
                GroupNode::new(&plan, "s", &options, None).is_err(),
                "{voxel}"
            );
        }
        assert!(Omero::gray("s", Depth::U8, 0.0, 256.0).is_err());
        assert!(Omero::gray("s", Depth::U16, 9.0, 8.0).is_err());
        assert!(Omero::gray("s", Depth::U16, 8.0, 8.0).is_ok());
        assert!(Omero::gray("s", Depth::U16, 8.5, 9.0).is_err());
        assert!(Omero::gray("s", Depth::I16, -32769.0, 8.0).is_err());
        assert!(Omero::gray("s", Depth::I16, -32768.0, 32767.0).is_ok());
        assert!(Omero::gray("s", Depth::F32, -1e30, 0.5).is_ok());
        assert!(Omero::gray("s", Depth::F32, f64::NAN, 0.5).is_err());
        assert!(Omero::gray("s", Depth::F32, 0.0, f64::INFINITY).is_err());
    }

    #[test]
    fn chunks_are_clamped_to_the_array() {
        let options = options(Ngff::V05, Codec::Zstd);
        assert_eq!(chunk_shape(&options, [13, 45, 67]), [4, 16, 32]);
        assert_eq!(chunk_shape(&options, [2, 5, 8]), [2, 5, 8]);
    }
}
