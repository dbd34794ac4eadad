#!/usr/bin/env bash
# The README's performance table, in one run: `cat` of the stack, `ctpyramid build` with each
# reader and writer, the numpy + tifffile peer, warm and cold page cache, median of RUNS,
# the commands taking turns run by run; then each build's peak memory.
# Every run builds into an empty output folder, as a first build does: the previous run's
# outputs are removed and everything is synced before the clock starts, so no run pays for
# freeing (and, on a disk mounted with discard, trimming) the blocks of the one before.
# The filesystem of the outputs matters: on ext4 without a journal, each file created
# searches past the inodes deleted in the last minute, and these runs delete hundreds. On
# this project's VM (whose root filesystem is such) the warm build measured 1.43-1.68x of
# `cat` with outputs there, 1.19-1.23x on a journaled ext4 on the same disk. Keeping every
# run's outputs instead (no deletions) measured 2.11x: new page-cache pages are then memory
# the VM's host has to back on first touch, where deleted files' pages are reused at once.
#
#   benches/compare.sh DIR [RUNS]      (DIR: e.g. made by `benches/numpy_pyramid.py make DIR`)
#
# The numpy peer runs in a venv of its own (target/bench-venv: numpy, tifffile), which the
# script makes when missing; evicting the page cache uses posix_fadvise, which needs no root.
# Builds into a temporary folder under $TMPDIR (/tmp by default: set it to measure outputs
# on another filesystem), never into DIR.
# The Python package's two entry points are timed too (process start and import included, as
# the CLI's are) when $PYTHON (default: the venv .ci/python makes, target/python-venv) can
# import them: `ctpyramid.build` and CTHarvester's call, `ct_thumbnail.build_thumbnails` with
# a progress callback that returns True; the latter writes into <folder>/.thumbnail, so it
# builds a folder of symbolic links to DIR's slices whose .thumbnail leads to the outputs.
set -euo pipefail
shopt -s inherit_errexit  # a command that fails in a timed run stops the script
dir=$1
runs=${2:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/target/release/ctpyramid
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
venv=$root/target/bench-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import numpy, tifffile' 2> /dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet numpy tifffile
fi
peer=$venv/bin/python
out=$(mktemp -d)
links=$(mktemp -d)
trap 'rm -rf "$out" "$links"' EXIT
python=${PYTHON:-$root/target/python-venv/bin/python}
if [ -x "$python" ] && "$python" -c 'import ctpyramid, ct_thumbnail' 2>/dev/null; then
    for f in "$dir"/*.tif; do ln -s "$f" "$links/"; done
    ln -s "$out/ct" "$links/.thumbnail"
else
    echo "($python cannot import ctpyramid: the Python package is not timed; run .ci/python or set PYTHON)"
    python=
fi

# shellcheck source=benches/common.sh
source "$root/benches/common.sh"

# One timed run of "$@" into an empty folder; cold=1 evicts the stack first, else warms it.
timed() {
    prepare "$1"; shift
    local t0 t1
    t0=$(date +%s.%N)
    run "$@"
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc
}

echo "stack: $(ls "$dir"/*.tif | wc -l) files, $(du -sh "$dir" | cut -f1); machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB, $(uname -r)"
names=(
    "cat DIR/*.tif > /dev/null"
    "ctpyramid build (--reader mmap, --writer buffered)"
    "ctpyramid build --writer mapped"
    "ctpyramid build --reader buffered"
    "numpy + tifffile (benches/numpy_pyramid.py)"
    "python: ctpyramid.build(DIR, OUT)"
    "python: ct_thumbnail.build_thumbnails(DIR, callback)"
)
# Warm runs read the stack as a plain sequential read cached it: a page cache filled by reads
# holds the files in small folios (4-256 KiB), mapped a 4 KiB page at a time; files cached by
# whole-file writes (as a writer such as tifffile leaves them) sit in 2 MiB folios, which the
# kernel maps whole, and every mapped reader gains. Evicting and reading the stack once
# first makes the warm figures the conservative ones, whatever cached the stack before.
evict
cat "$dir"/*.tif > /dev/null
for cold in 0 1; do
    # Runs interleaved, one of each command in turn, so that the machine's drift over the
    # minutes of a run spreads over all of them rather than favouring one.
    declare -a times=("" "" "" "" "" "" "")
    count=$([ "$cold" = 1 ] && echo 4 || echo 5)
    for _ in $(seq "$runs"); do
        times[0]+=" $(timed "$cold" sh -c "cat '$dir'/*.tif > /dev/null")"
        times[1]+=" $(timed "$cold" "$bin" build "$dir" --out "$out/a" --quiet --reader mmap)"
        times[2]+=" $(timed "$cold" "$bin" build "$dir" --out "$out/b" --quiet --reader mmap --writer mapped)"
        times[3]+=" $(timed "$cold" "$bin" build "$dir" --out "$out/c" --quiet --reader buffered)"
        if [ "$count" = 5 ]; then
            times[4]+=" $(timed "$cold" "$peer" "$root/benches/numpy_pyramid.py" build "$dir" "$out/np")"
        fi
        if [ -n "$python" ]; then
            times[5]+=" $(timed "$cold" "$python" -c 'import sys, ctpyramid; ctpyramid.build(sys.argv[1], sys.argv[2])' "$dir" "$out/py")"
            times[6]+=" $(timed "$cold" sh -c 'mkdir "$1/ct" && exec "$2" -c "import sys, ct_thumbnail; ct_thumbnail.build_thumbnails(sys.argv[1], lambda pct: True)" "$3"' sh "$out" "$python" "$links")"
        fi
    done
    floor=$(echo "${times[0]}" | median)
    echo
    echo "$([ "$cold" = 1 ] && echo cold || echo warm) page cache, median of $runs, interleaved:"
    echo '| command | wall | x cat |'
    echo '| --- | --- | --- |'
    for k in "${!names[@]}"; do
        [ -n "${times[$k]}" ] || continue
        t=$(echo "${times[$k]}" | median)
        printf '| %-50s | %6.3f s | %5.2fx |\n' "${names[$k]}" "$t" "$(echo "$t / $floor" | bc -l)"
    done
done
# Peak memory: one warm run of each build into an empty folder (issue 25's budget: 32 MiB for
# a TIFF build of 2048x2048 slices).
echo
echo '| command, warm | peak RSS |'
echo '| --- | --- |'
peak_row() {
    local k=$1
    shift
    prepare 0
    printf '| %-50s | %6s MiB |\n' "${names[$k]}" "$(peak_mib "$@")"
}
peak_row 1 "$bin" build "$dir" --out "$out/a" --quiet --reader mmap
peak_row 2 "$bin" build "$dir" --out "$out/b" --quiet --reader mmap --writer mapped
peak_row 3 "$bin" build "$dir" --out "$out/c" --quiet --reader buffered
peak_row 4 "$peer" "$root/benches/numpy_pyramid.py" build "$dir" "$out/np"
# Every run above started from an empty folder: build both pyramids once more to compare them.
"$bin" build "$dir" --out "$out/a" --quiet
"$peer" "$root/benches/numpy_pyramid.py" build "$dir" "$out/np" > /dev/null
"$peer" "$root/benches/numpy_pyramid.py" compare "$out/a" "$out/np"
if [ -n "$python" ]; then
    mkdir -p "$out/ct"
    "$python" -c 'import sys, ctpyramid; ctpyramid.build(sys.argv[1], sys.argv[2])' "$dir" "$out/py"
    "$python" -c 'import sys, ct_thumbnail; ct_thumbnail.build_thumbnails(sys.argv[1], lambda pct: True)' "$links"
    cmp <(cd "$out/a" && find . -name '*.tif' | sort | xargs cat) <(cd "$out/py" && find . -name '*.tif' | sort | xargs cat)
    cmp <(cd "$out/a" && find . -name '*.tif' | sort | xargs cat) <(cd "$out/ct" && find . -name '*.tif' | sort | xargs cat)
    echo "the Python modules' outputs are the CLI's, byte for byte"
fi
