//! A level array's Zarr metadata: v2's `.zarray` and `.zattrs`, v3's `zarr.json`.

use serde::Serialize;

use super::{file, File, FillValue, Invalid};
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

/// The attributes of every level array: what decides its bytes beyond its Zarr metadata (the
/// identity of the inputs and the rule), checked by a rerun before it keeps any chunk.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(in crate::output::ome_zarr) struct ArrayAttributes {
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
pub(in crate::output::ome_zarr) struct ZArray {
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
pub(in crate::output::ome_zarr) struct ZarrJsonArray {
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
pub(in crate::output::ome_zarr) enum ArrayNode {
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
    pub(in crate::output::ome_zarr) fn new(
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
    pub(in crate::output::ome_zarr) fn chunks(&self) -> [usize; 3] {
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
    pub(in crate::output::ome_zarr) fn files(&self, level: usize) -> Result<Vec<File>, Invalid> {
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
    pub(in crate::output::ome_zarr) fn zarrs(
        &self,
    ) -> Result<zarrs::metadata::ArrayMetadata, Invalid> {
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
