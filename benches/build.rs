//! End-to-end `build` on a generated stack, warm page cache: the figure to compare with the
//! time `cat` takes to read the same files (see README "Performance").
//!
//! The stack is the demo phantom (uncompressed 16-bit TIFF), written once to a temporary
//! folder. `CTPYRAMID_BENCH_DIR` names a folder of real slices to use instead.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ctpyramid::ReadMode;
use ctpyramid::WriteMode;

fn stack() -> (PathBuf, Option<tempfile::TempDir>) {
    if let Some(dir) = std::env::var_os("CTPYRAMID_BENCH_DIR") {
        return (PathBuf::from(dir), None);
    }
    let tmp = tempfile::tempdir().expect("a temporary folder");
    ctpyramid::write_phantom(tmp.path(), 64, 1024).expect("the phantom stack is written");
    (tmp.path().to_path_buf(), Some(tmp))
}

fn build(c: &mut Criterion) {
    let (dir, _keep) = stack();
    let out = tempfile::tempdir().expect("a temporary folder");
    let options = |reader, writer| ctpyramid::BuildOptions {
        out: Some(out.path().to_path_buf()),
        force: true,
        reader,
        writer,
        ..ctpyramid::BuildOptions::new(&dir)
    };
    // One run to warm the page cache and learn the stack's size.
    let first = ctpyramid::build(&options(ReadMode::Mmap, WriteMode::Buffered), &mut |_| {})
        .expect("the stack builds");
    let mut group = c.benchmark_group("build");
    group.throughput(Throughput::Bytes(first.bytes_read));
    group.sample_size(10);
    for (name, reader, writer) in [
        (
            "mmap reader, buffered writer (default)",
            ReadMode::Mmap,
            WriteMode::Buffered,
        ),
        ("buffered reader", ReadMode::Buffered, WriteMode::Buffered),
        ("mapped writer", ReadMode::Mmap, WriteMode::Mapped),
    ] {
        let options = options(reader, writer);
        group.bench_function(name, |b| {
            b.iter(|| ctpyramid::build(&options, &mut |_| {}).expect("the stack builds"))
        });
    }
    group.finish();
}

criterion_group!(benches, build);
criterion_main!(benches);
