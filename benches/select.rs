//! What choosing the slices costs before a build starts: listing a reconstruction folder of
//! 4000 sections as NRecon leaves it (the slices, leftover sections, the `_spr.bmp` preview,
//! the log), by the log, by CTHarvester's most common numbered name (the same folder without
//! its log), and every image in natural order (`--all-images`), against `read_dir` alone.
//!
//! The files are empty: selection reads names, stats the image files and reads the logs,
//! never a slice's bytes. `CTPYRAMID_BENCH_DIR` names a real folder to use instead.

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use ctpyramid::internals::select;
use ctpyramid::Selection;

const SECTIONS: u64 = 4000;

const LOG: &str = "[System]\r\nScanner=SkyScan1272\r\n[Acquisition]\r\nFilename Prefix=bone_\r\n\
    Filename Index Length=8\r\n[Reconstruction]\r\nReconstruction Program=NRecon\r\n\
    First Section=10\r\nLast Section=3999\r\nResult File Type=TIF\r\nPixel Size (um)=4.5\r\n\
    [File name convention]\r\nFilename Index Length=8\r\nFilename Prefix=bone__rec\r\n";

/// Two folders: with the log, and the same without it.
fn folders() -> (PathBuf, PathBuf, Option<tempfile::TempDir>) {
    if let Some(dir) = std::env::var_os("CTPYRAMID_BENCH_DIR") {
        let dir = PathBuf::from(dir);
        return (dir.clone(), dir, None);
    }
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let write = |dir: &Path| {
        std::fs::create_dir_all(dir).expect("a folder");
        for i in 0..SECTIONS {
            std::fs::write(dir.join(format!("bone__rec{i:08}.tif")), b"").expect("a file");
        }
        std::fs::write(dir.join("bone__rec_spr.bmp"), b"").expect("a file");
    };
    let (with_log, without) = (tmp.path().join("log"), tmp.path().join("nolog"));
    write(&with_log);
    write(&without);
    std::fs::write(with_log.join("bone__rec.log"), LOG).expect("the log");
    (with_log, without, Some(tmp))
}

fn selection(c: &mut Criterion) {
    let (with_log, without, _keep) = folders();
    let mut group = c.benchmark_group("select 4000 sections");
    group.bench_function("read_dir only", |b| {
        b.iter(|| std::fs::read_dir(&with_log).expect("listed").count())
    });
    for (name, dir, rule) in [
        ("SkyScan log", &with_log, Selection::Auto),
        ("most common numbered name", &without, Selection::Auto),
        ("every image (--all-images)", &without, Selection::All),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| select(dir, &rule).expect("slices are selected").paths.len())
        });
    }
    group.finish();
}

criterion_group!(benches, selection);
criterion_main!(benches);
