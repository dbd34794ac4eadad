//! Throughput of the reduce kernels, in bytes of input consumed per second.
//!
//! One "slice pair" is two input slices of `size` x `size` reduced into one output slice, the
//! work of producing one level-1 slice; `serial` runs it on one thread, `parallel` over rows
//! with rayon as `build` does; `in_turn` on one thread, a slice at a time (as `build` reduces
//! two input files).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rayon::prelude::*;

use ctpyramid::internals::{average_row, halve_row, reduce_pair_row, Reduce};

/// A sample from 32 varied bits: the integers' low bytes; for floats, values of a CT scan's
/// range (no NaN or subnormal, which some CPUs compute slowly).
trait Varied: Reduce {
    fn varied(bits: u32) -> Self;
}

impl Varied for u8 {
    fn varied(bits: u32) -> Self {
        bits as u8
    }
}

impl Varied for u16 {
    fn varied(bits: u32) -> Self {
        bits as u16
    }
}

impl Varied for i16 {
    fn varied(bits: u32) -> Self {
        bits as i16
    }
}

impl Varied for f32 {
    fn varied(bits: u32) -> Self {
        (bits >> 8) as f32 / 1024.0 - 8192.0
    }
}

fn slice<T: Varied>(size: usize, seed: u32) -> Vec<T> {
    // Deterministic, varied values; the kernels do not branch on them.
    (0..size * size)
        .map(|i| T::varied((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed)))
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

/// The pair in turn, as a build reduces two input files: the first slice halved into the
/// output, then the second averaged into it.
fn reduce_in_turn<T: Reduce>(a: &[T], b: &[T], size: usize, out: &mut [T]) {
    let half = size / 2;
    for (y, row) in out.chunks_mut(half).enumerate() {
        halve_row(
            input_row(a, size, 2 * y),
            input_row(a, size, 2 * y + 1),
            row,
        );
    }
    for (y, row) in out.chunks_mut(half).enumerate() {
        average_row(
            input_row(b, size, 2 * y),
            input_row(b, size, 2 * y + 1),
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

fn bench_depth<T: Varied>(c: &mut Criterion, name: &str) {
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
        group.bench_with_input(BenchmarkId::new("in_turn", size), &size, |bench, &size| {
            bench.iter(|| reduce_in_turn(&a, &b, size, &mut out))
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
    bench_depth::<i16>(c, "i16");
    bench_depth::<f32>(c, "f32");
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = kernels
}
criterion_main!(benches);
