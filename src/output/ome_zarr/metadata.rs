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
use crate::pixel::Depth;
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
    /// `|u1` or `<u2`.
    dtype: &'static str,
    compressor: CompressorV2,
    fill_value: u8,
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
    /// `uint8` or `uint16`.
    data_type: &'static str,
    chunk_grid: Named<ChunkShape>,
    chunk_key_encoding: Named<Separator>,
    fill_value: u8,
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
                    fill_value: 0,
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
            data_type: match plan.depth {
                Depth::U8 => "uint8",
                Depth::U16 => "uint16",
            },
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
            fill_value: 0,
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

/// Whole numbers: the range of the pixels (`start..=end`) within the dtype's (`min..=max`).
#[derive(Serialize, Clone, Copy, Debug, PartialEq)]
struct Window {
    min: u32,
    max: u32,
    start: u32,
    end: u32,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct Rdefs {
    model: &'static str,
}

impl Omero {
    /// A gray channel named `label` whose window is `start..=end` of `depth`'s range.
    pub(super) fn gray(label: &str, depth: Depth, start: u32, end: u32) -> Result<Omero, Invalid> {
        let max = match depth {
            Depth::U8 => u32::from(u8::MAX),
            Depth::U16 => u32::from(u16::MAX),
        };
        if start > end || end > max {
            return Err(format!(
                "a display window {start}..={end} outside 0..={max}"
            ));
        }
        Ok(Omero {
            channels: [Channel {
                label: label.to_string(),
                color: "FFFFFF",
                active: true,
                coefficient: 1,
                family: "linear",
                inverted: false,
                window: Window {
                    min: 0,
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
    /// the centre of the 2^L input voxels it averages). The voxel is 1 (no unit) when unknown.
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
                            translation: [shift; 3],
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
#[path = "metadata_tests.rs"]
mod tests;
