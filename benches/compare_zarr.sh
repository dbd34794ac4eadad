#!/usr/bin/env bash
# `ctpyramid build --format ome-zarr` against the Python tools a user would pick to turn a
# slice stack into an OME-Zarr pyramid, same stack, codec and chunks, warm and cold page
# cache, median of RUNS with the commands taking turns run by run, peak RSS beside:
#
#   - ngff-zarr (tifffile read, to_multiscales with a 2x2x2 local mean, to_ngff_zarr);
#   - ome-zarr-py (write_multiscale of the same pyramid computed with numpy: its own Scaler
#     halves only y and x);
#   - the floor: ctpyramid writing level 0 alone (--min-size above the slice size), that is
#     reading the input and compressing and writing it on all cores, timed by the build's own
#     clock up to its last chunk (not the omero window's pass over the store after it);
#   - `cat` of the stack.
#
#   benches/compare_zarr.sh DIR [RUNS] [CHUNKS] [CODEC]
#       DIR: e.g. made by `benches/numpy_pyramid.py make DIR` (1 GiB: 128 x 2048x2048 u16)
#       RUNS: 3; CHUNKS: 16,256,256 (ctpyramid's default); CODEC: zstd or blosc-lz4
#   CHUNK_SWEEP=1 benches/compare_zarr.sh DIR
#       times ctpyramid alone (warm) with a few chunk shapes, with peak RSS and file count:
#       the measurement behind the default --chunks.
#   PAIRS=1 benches/compare_zarr.sh DIR [RUNS]
#       ctpyramid and ngff-zarr's dask path (the fastest Python tool) alone, one after the
#       other RUNS times, cold then warm: each pair's times and ratio, then the medians. The
#       two of a pair are seconds apart, where a full run puts minutes between them.
#
# Makes its own venv (target/bench-zarr-venv: ngff-zarr with dask-image, ome-zarr, tifffile).
# Builds into a temporary folder under $TMPDIR, never into DIR. Figures depend on the
# machine's load: run it on a quiet machine.
set -euo pipefail
shopt -s inherit_errexit  # a command that fails in a timed run stops the script
dir=$1
runs=${2:-3}
chunks=${3:-16,256,256}
codec=${4:-zstd}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/target/release/ctpyramid
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
venv=$root/target/bench-zarr-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import ngff_zarr, ome_zarr, tifffile, dask_image' 2> /dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'ngff-zarr[dask-image]' ome-zarr tifffile numpy zarr
fi
py=$venv/bin/python
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# shellcheck source=benches/common.sh
source "$root/benches/common.sh"

# One run of "$@" into an empty folder: "seconds peak-KB"; cold=1 evicts the stack first.
timed() {
    prepare "$1"; shift
    run /usr/bin/time -f "%e %M" -o "$out/.time" "$@"
    cat "$out/.time"
}

size=$("$py" -c 'import sys,tifffile; p=tifffile.TiffFile(sys.argv[1]).pages[0]; print(max(p.shape))' "$(ls "$dir"/*.tif | head -1)")
echo "stack: $(ls "$dir"/*.tif | wc -l) files, $(du -sh "$dir" | cut -f1); chunks $chunks, $codec, OME-NGFF 0.4; machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "${CHUNK_SWEEP:-0}" = 1 ]; then
    printf '%-16s %10s %12s %8s %10s\n' chunks "time (s)" "peak RSS MB" files "store MB"
    for c in 1,1024,1024 8,512,512 16,256,256 32,256,256 64,64,64 64,128,128; do
        t=""
        for _ in $(seq "$runs"); do
            t+=" $(timed 0 "$bin" build "$dir" --format ome-zarr --out "$out/s" --chunks "$c" --quiet | cut -d' ' -f1)"
        done
        "$bin" build "$dir" --format ome-zarr --out "$out/s" --chunks "$c" --quiet
        rss=$(/usr/bin/time -f %M "$bin" build "$dir" --format ome-zarr --out "$out/t" --chunks "$c" --quiet 2>&1 >/dev/null | tail -1)
        printf '%-16s %10s %12s %8s %10s\n' "$c" "$(echo "$t" | median)" "$((rss / 1024))" \
            "$(find "$out/s" -type f | wc -l)" "$(du -sm "$out/s" | cut -f1)"
        rm -rf "${out:?}"/s "${out:?}"/t
    done
    exit 0
fi

common=(--chunks "$chunks" --codec "$codec")
if [ "${PAIRS:-0}" = 1 ]; then
    for cold in 1 0; do
        echo
        echo "$([ "$cold" = 1 ] && echo cold || echo warm) cache, $runs pairs:"
        printf '%10s %10s %8s\n' ctpyramid ngff-zarr ratio
        ours="" theirs="" ratios=""
        for _ in $(seq "$runs"); do
            a=$(timed "$cold" "$bin" build "$dir" --format ome-zarr --out "$out/a" --quiet "${common[@]}" | cut -d' ' -f1)
            d=$(timed "$cold" "$py" "$root/benches/zarr_peers.py" ngff-zarr "$dir" "$out/d" "${common[@]}" --method dask_bin_shrink | cut -d' ' -f1)
            r=$(echo "scale=2; $d / $a" | bc)
            printf '%10s %10s %8s\n' "$a" "$d" "$r"
            ours+=" $a" theirs+=" $d" ratios+=" $r"
        done
        printf '%10s %10s %8s   (medians)\n' "$(echo "$ours" | median)" "$(echo "$theirs" | median)" "$(echo "$ratios" | median)"
    done
    exit 0
fi

names=(
    "cat DIR/*.tif > /dev/null"
    "ctpyramid build --format ome-zarr"
    "floor: ctpyramid, level 0 only"
    "ngff-zarr (itkwasm bin shrink)"
    "ngff-zarr (dask bin shrink)"
    "ome-zarr-py (numpy pyramid)"
)
evict
cat "$dir"/*.tif > /dev/null
for cold in 0 1; do
    declare -a times=("" "" "" "" "" "") rss=("" "" "" "" "" "")
    for _ in $(seq "$runs"); do
        cmds=(
            "sh -c cat\ $dir/*.tif\ >\ /dev/null"
            "$bin build $dir --format ome-zarr --out $out/a --quiet ${common[*]}"
            ""  # the floor: below
            "$py $root/benches/zarr_peers.py ngff-zarr $dir $out/c ${common[*]} --method itkwasm_bin_shrink"
            "$py $root/benches/zarr_peers.py ngff-zarr $dir $out/d ${common[*]} --method dask_bin_shrink"
            "$py $root/benches/zarr_peers.py ome-zarr $dir $out/e ${common[*]}"
        )
        for i in "${!cmds[@]}"; do
            if [ "$i" = 0 ]; then
                r=$(timed "$cold" sh -c "cat '$dir'/*.tif > /dev/null")
            elif [ "$i" = 2 ]; then
                # Level 0 alone; its time is the build's own clock when the last chunk row
                # is written: publishing then reads the store's smallest level back for the
                # omero window, which here is level 0, the whole input again.
                r=$(timed "$cold" sh -c "'$bin' build '$dir' --format ome-zarr --out '$out/b' --min-size $size ${common[*]} --progress json > '$out/floor.jsonl'")
                t=$("$py" -c 'import json,sys
print(max(e["elapsed"] for e in map(json.loads, open(sys.argv[1])) if e["event"] == "progress"))' "$out/floor.jsonl")
                r="$t ${r#* }"
            else
                # shellcheck disable=SC2086 # the command's words
                r=$(timed "$cold" ${cmds[$i]})
            fi
            times[$i]+=" ${r% *}"
            rss[$i]+=" ${r#* }"
        done
    done
    echo
    echo "$([ "$cold" = 1 ] && echo cold || echo warm) cache, median of $runs:"
    printf '%-36s %10s %10s %14s\n' command "time (s)" "x ours" "peak RSS (MB)"
    ours=$(echo "${times[1]}" | median)
    for i in "${!names[@]}"; do
        t=$(echo "${times[$i]}" | median)
        m=$(echo "${rss[$i]}" | median)
        printf '%-36s %10s %10s %14s\n' "${names[$i]}" "$t" "$(echo "scale=2; $t / $ours" | bc)" "$((m / 1024))"
    done
done
