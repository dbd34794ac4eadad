#!/usr/bin/env bash
# The README's performance table, in one run: `cat` of the stack, `ctpyramid build` with each
# reader and writer, the numpy + tifffile peer, warm and cold page cache, median of RUNS.
# Every run builds into an empty output folder, as a first build does: the previous run's
# outputs are removed and everything is synced before the clock starts, so no run pays for
# freeing (and, on a disk mounted with discard, trimming) the blocks of the one before.
#
#   benches/compare.sh DIR [RUNS]      (DIR: e.g. made by `benches/numpy_pyramid.py make DIR`)
#
# Needs python3 with numpy and tifffile (for the peer and for evicting the page cache with
# posix_fadvise, which needs no root). Builds into a temporary folder, never into DIR.
set -euo pipefail
dir=$1
runs=${2:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/target/release/ctpyramid
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

evict() {
    python3 -c 'import os,sys
for f in sys.argv[1:]:
    fd = os.open(f, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$dir"/*.tif
}

# median wall seconds of `runs` runs of "$@"; cold=1 evicts the stack before each run
median() {
    local cold=$1; shift
    local times=()
    for _ in $(seq "$runs"); do
        rm -rf "${out:?}"/*
        if [ "$cold" = 1 ]; then evict; else cat "$dir"/*.tif > /dev/null; fi
        sync
        local t0 t1
        t0=$(date +%s.%N)
        "$@" > /dev/null 2>&1
        t1=$(date +%s.%N)
        times+=("$(echo "$t1 - $t0" | bc)")
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}

row() {
    local name=$1 cold=$2; shift 2
    local t
    t=$(median "$cold" "$@")
    printf '| %-50s | %6.3f s | %5.2fx |\n' "$name" "$t" "$(echo "$t / ${floor[$cold]}" | bc -l)"
}

echo "stack: $(ls "$dir"/*.tif | wc -l) files, $(du -sh "$dir" | cut -f1); machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB, $(uname -r)"
declare -A floor
for cold in 0 1; do
    floor[$cold]=$(median "$cold" sh -c "cat '$dir'/*.tif > /dev/null")
    label=$([ "$cold" = 1 ] && echo cold || echo warm)
    echo
    echo "$label page cache, median of $runs:"
    echo '| command | wall | x cat |'
    echo '| --- | --- | --- |'
    printf '| %-50s | %6.3f s | %5.2fx |\n' "cat DIR/*.tif > /dev/null" "${floor[$cold]}" 1
    row "ctpyramid build (--reader mmap, --writer buffered)" "$cold" "$bin" build "$dir" --out "$out/a" --quiet --reader mmap
    row "ctpyramid build --writer mapped" "$cold" "$bin" build "$dir" --out "$out/b" --quiet --reader mmap --writer mapped
    row "ctpyramid build --reader buffered" "$cold" "$bin" build "$dir" --out "$out/c" --quiet --reader buffered
    if [ "$cold" = 0 ]; then
        row "numpy + tifffile (benches/numpy_pyramid.py)" "$cold" python3 "$root/benches/numpy_pyramid.py" build "$dir" "$out/np"
    fi
done
# Every run above started from an empty folder: build both pyramids once more to compare them.
"$bin" build "$dir" --out "$out/a" --quiet
python3 "$root/benches/numpy_pyramid.py" build "$dir" "$out/np" > /dev/null
python3 "$root/benches/numpy_pyramid.py" compare "$out/a" "$out/np"
