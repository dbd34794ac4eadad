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

use super::array::chunk_shape;
use super::*;
use crate::options::{Codec, Ngff, OmeZarrOptions};
use crate::pixel::Depth;
use crate::plan::Plan;

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
                let keys: Vec<&str> = zarray.as_object().unwrap().keys().map(|k| &**k).collect();
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
    let node = ArrayNode::new(&plan, &options(Ngff::V04, Codec::BloscLz4), [4, 16, 32]).unwrap();
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
