#!/usr/bin/env bash
# Two ctpyramid binaries on one stack, paired: A and B take turns run by run, warm and cold
# page cache, and each pair's ratio B/A is printed with the medians. For a change that must
# keep speed (a restructuring): build the commit before it and after it, then
#
#   benches/ab.sh OLD_BIN NEW_BIN DIR [RUNS] [-- BUILD ARGS...]
#       DIR: e.g. made by `benches/numpy_pyramid.py make DIR` (1 GiB: 128 x 2048x2048 u16)
#       RUNS: 7; BUILD ARGS: passed to both (e.g. -- --format ome-zarr)
#
# Builds into a temporary folder under $TMPDIR (emptied and synced before every run, as in
# compare.sh), never into DIR. The time is the build's own `elapsed` (its JSON summary).
set -euo pipefail
shopt -s inherit_errexit
old=$1 new=$2 dir=$3
runs=${4:-7}
shift $(( $# < 4 ? $# : 4 ))
[ "${1:-}" = "--" ] && shift
args=("$@")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# shellcheck source=benches/common.sh
. "$(dirname "$0")/common.sh"

# The build's elapsed seconds.
timed() {
    "$1" build "$dir" --out "$out/o" --progress json "${args[@]}" 2> /dev/null | tail -n 1 |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["elapsed"])'
}

for cold in 1 0; do
    a=() b=() ratios=()
    for ((i = 0; i < runs; i++)); do
        prepare $cold; ta=$(timed "$old")
        prepare $cold; tb=$(timed "$new")
        a+=("$ta") b+=("$tb")
        ratios+=("$(python3 -c "print(f'{$tb / $ta:.3f}')")")
    done
    label=$([ $cold = 1 ] && echo cold || echo warm)
    echo "$label: A $(echo "${a[*]}" | median) s, B $(echo "${b[*]}" | median) s, B/A per pair: ${ratios[*]} (median $(echo "${ratios[*]}" | median))"
done
