#!/usr/bin/env bash
# Jobs on a slow disk (issue 25): a stack mounted with ../shared/tools/hddfs.py, a FUSE view
# whose reads cost what one spinning disk's would (or a NAS's), logging every request with its
# offset and whether it seeked. Cold (the mounted files evicted before every run), median of
# RUNS, the commands taking turns; for each, the bytes the disk read and its seeks, from the
# log.
#
#   benches/compare_disk.sh DIR [RUNS]
#       DIR: a folder of uncompressed TIFF slices, e.g. the 1 GiB stack of
#       `benches/numpy_pyramid.py make DIR`. Only read. RUNS: 3 (or $RUNS).
#   MODEL=disk (default): --seek-model distance --stroke-gb 4000 (a 4 TB disk, 180 MB/s,
#       12 ms average seek, ~5 ms within a few MB); MODEL=nas: --seek-ms 0.5 --mbps 110 (a
#       share over 1 GbE).
#
# The commands: `cat DIR/*.tif` (the floor: every file read once); `ctpyramid build` (into a
# temporary folder on the local disk); `ctpyramid crop` of a sparse box (the centred 10% of
# the width and of the height, every slice) and of a band (every column of the centred 10%
# of the rows); `ctpyramid.read` of the sparse box from Python (target/python-venv, which
# .ci/python makes). Needs root or fusermount3, libfuse3 and mfusepy (installed into that
# venv when missing). On the development VM one run of the five takes about 25 s (MODEL=disk).
set -euo pipefail
shopt -s inherit_errexit
dir=$(cd "${1:?usage: benches/compare_disk.sh DIR [RUNS]}" && pwd)
runs=${2:-${RUNS:-3}}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${CTPYRAMID:-$root/target/release/ctpyramid}
py=${CTPYRAMID_VENV:-$root/target/python-venv}/bin/python
"$py" -c 'import mfusepy' 2> /dev/null || "$py" -m pip install -q mfusepy
case ${MODEL:-disk} in
    disk) model=(--seek-model distance --stroke-gb 4000) ;;
    nas) model=(--seek-ms 0.5 --mbps 110) ;;
    *) echo "MODEL: disk or nas" >&2; exit 2 ;;
esac
work=$(mktemp -d)
mnt=$work/mnt
log=$work/disk.log
mkdir -p "$mnt"
cleanup() {
    mountpoint -q "$mnt" && umount "$mnt" 2> /dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
"$py" "$root/../shared/tools/hddfs.py" "$dir" "$mnt" "${model[@]}" --log "$log" 2> /dev/null &
for _ in $(seq 100); do mountpoint -q "$mnt" && break; sleep 0.1; done
files=("$mnt"/*.tif)
read -r width height < <("$py" -c 'import sys, tifffile; p = tifffile.TiffFile(sys.argv[1]).pages[0]; print(p.imagewidth, p.imagelength)' "${files[0]}")
x0=$((width * 45 / 100)) x1=$((width * 55 / 100)) y0=$((height * 45 / 100)) y1=$((height * 55 / 100))
total=$(cat "$dir"/*.tif | wc -c)
echo "stack: ${#files[@]} files of ${width}x${height}, $((total >> 20)) MiB; model: ${MODEL:-disk} (${model[*]})"
echo "machine: $(nproc) cores, Linux $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg)"

evict() {
    "$py" -c 'import os, sys
for f in sys.argv[1:]:
    fd = os.open(f, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "${files[@]}"
}
run() {
    case $1 in
        cat) cat "${files[@]}" > /dev/null ;;
        build) rm -rf "$work/out" && "$bin" build "$mnt" --out "$work/out" -q ;;
        sparse) rm -rf "$work/out" && "$bin" crop "$mnt" --x "$x0..$x1" --y "$y0..$y1" --out "$work/out" -q ;;
        band) rm -rf "$work/out" && "$bin" crop "$mnt" --y "$y0..$y1" --out "$work/out" -q ;;
        read) "$py" -c "import ctpyramid; ctpyramid.read('$mnt', x=($x0, $x1), y=($y0, $y1))" ;;
    esac
}
commands=(cat build sparse band read)
declare -A t bytes seeks
for ((i = 0; i < runs; i++)); do
    for c in "${commands[@]}"; do
        evict
        sync
        from=$(wc -l < "$log")
        start=$(date +%s.%N)
        run "$c"
        end=$(date +%s.%N)
        read -r b s < <(tail -n +$((from + 1)) "$log" | awk '!/^#/ { b += $5; if ($6 == "yes") s++ } END { print b + 0, s + 0 }')
        t[$c]+=" $(echo "$end - $start" | bc)" bytes[$c]=$b seeks[$c]=$s
    done
done
med() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
cat_t=$(echo "${t[cat]}" | med)
echo
echo "median of $runs, cold; bytes and seeks of the last run, from the disk's log"
echo '| command | time | x cat | disk read | seeks |'
echo '| --- | --- | --- | --- | --- |'
for c in "${commands[@]}"; do
    m=$(echo "${t[$c]}" | med)
    awk -v c="$c" -v m="$m" -v f="$cat_t" -v b="${bytes[$c]}" -v tot="$total" -v s="${seeks[$c]}" \
        'BEGIN { printf "| %-6s | %6.2f s | %5.2fx | %5.0f MB (%3.0f%%) | %5d |\n", c, m, m / f, b / 1e6, 100 * b / tot, s }'
done
