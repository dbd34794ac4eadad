#!/usr/bin/env bash
# Peak memory of `ctpyramid build --format ome-zarr` against the stack's length: phantom
# stacks (`ctpyramid demo`) of SIZE x SIZE 16-bit slices, 256 to 2048 of them, built with the
# default chunks; peak RSS from /usr/bin/time. It should stay flat (README "OME-Zarr").
#
#   benches/zarr_memory.sh [SIZE] [CHUNKS]      (defaults 512 and 16,256,256)
set -euo pipefail
size=${1:-512}
chunks=${2:-16,256,256}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/target/release/ctpyramid
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%8s %12s %10s\n' slices "stack MB" "peak RSS MB"
for n in 256 512 1024 2048; do
    "$bin" demo --dir "$work/s" --slices "$n" --size "$size" --quiet
    rm -rf "$work/s/.thumbnail"
    rss=$(/usr/bin/time -f %M "$bin" build "$work/s" --format ome-zarr --out "$work/z" \
        --chunks "$chunks" --quiet 2>&1 > /dev/null | tail -1)
    printf '%8s %12s %10s\n' "$n" "$(du -sm "$work/s" | cut -f1)" "$((rss / 1024))"
    rm -rf "$work/s" "$work/z"
done
