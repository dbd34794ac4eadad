//! Throughput of the reduce kernels, in bytes of input consumed per second.
//!
//! One "slice pair" is two input slices of `size` x `size` reduced into one output slice, the
//! work of producing one level-1 slice; `serial` runs it on one thread, `parallel` over rows
//! with rayon as `build` does.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rayon::prelude::*;

use ctpyramid::internals::{reduce_pair_row, Reduce};

fn slice<T: Reduce>(size: usize, seed: u32) -> Vec<T> {
    // Deterministic, varied values; the kernels do not branch on them.
    (0..size * size)
        .map(|i| {
            T::narrow((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> (32 - T::BITS))
        })
        .collect()
}

fn input_row<T>(s: &[T], size: usize, y: usize) -> &[T] {
    &s[y * size..(y + 1) * size]
}

fn reduce_serial<T: Reduce>(a: &[T], b: &[T], size: usize, out: &mut [T]) {
    let half = size / 2;
    for (y, row) in out.chunks_mut(half).enumerate() {
        let r = |s, y| input_row(s, size, y);
        reduce_pair_row(
            r(a, 2 * y),
            r(a, 2 * y + 1),
            r(b, 2 * y),
            r(b, 2 * y + 1),
            row,
        );
    }
}

fn reduce_parallel<T: Reduce>(a: &[T], b: &[T], size: usize, out: &mut [T]) {
    let half = size / 2;
    out.par_chunks_mut(half).enumerate().for_each(|(y, row)| {
        let r = |s, y| input_row(s, size, y);
        reduce_pair_row(
            r(a, 2 * y),
            r(a, 2 * y + 1),
            r(b, 2 * y),
            r(b, 2 * y + 1),
            row,
        );
    });
}

fn bench_depth<T: Reduce>(c: &mut Criterion, name: &str) {
    let mut group = c.benchmark_group(format!("reduce_pair/{name}"));
    for size in [512usize, 2048, 4096] {
        let (a, b) = (slice::<T>(size, 1), slice::<T>(size, 7));
        let mut out = vec![T::default(); (size / 2) * (size / 2)];
        group.throughput(Throughput::Bytes(
            (2 * size * size * std::mem::size_of::<T>()) as u64,
        ));
        group.bench_with_input(BenchmarkId::new("serial", size), &size, |bench, &size| {
            bench.iter(|| reduce_serial(&a, &b, size, &mut out))
        });
        group.bench_with_input(BenchmarkId::new("parallel", size), &size, |bench, &size| {
            bench.iter(|| reduce_parallel(&a, &b, size, &mut out))
        });
    }
    group.finish();
}

fn kernels(c: &mut Criterion) {
    bench_depth::<u8>(c, "u8");
    bench_depth::<u16>(c, "u16");
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = kernels
}
criterion_main!(benches);
