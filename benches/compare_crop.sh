#!/usr/bin/env bash
# `ctpyramid crop` against the ways a box of a stack is cut today (issue 20 item 7): three
# boxes of level 0, warm and cold page cache, median of RUNS, the commands taking turns run
# by run, with each command's peak RSS and the bytes it read from disk (cold).
#
#   benches/compare_crop.sh DIR [RUNS]
#       DIR: a folder of uncompressed TIFF slices, e.g. the 1 GiB stack (128 x 2048x2048
#       u16) that `target/python-venv/bin/python benches/numpy_pyramid.py make DIR` writes.
#       Only read: every crop goes to a temporary folder under $TMPDIR.
#       RUNS: 5 (or $RUNS).
#   BOXES="sparse band whole" (the default) selects boxes; RAW=1 prints every run's time too.
#
# The boxes: `sparse`, 10% of the width and 10% of the height, centred, every slice;
# `band`, every column of 10% of the rows (centred), every slice; `whole`, the volume.
# The commands, each into an empty folder (removed and synced before the clock starts, as
# in compare.sh), each named after its input slice:
#   cat        cat DIR/*.tif > /dev/null: reading every file, the floor of anything that
#              reads the slices whole (the same command for every box)
#   cp         cp DIR/*.tif OUT/: reading and writing every file, the floor of writing the
#              whole volume (the same for every box; no crop writes less than its box)
#   ctpyramid  ctpyramid crop DIR --x --y --out OUT --quiet (one TIFF a slice)
#   Pillow     CTHarvester's "save cropped image stack": per slice
#              Image.open(path).crop(box).save(out)
#   tifffile   per slice tifffile.imread(path), numpy slicing, tifffile.imwrite(out, a[box])
# The peers run in a venv of their own (target/bench-crop-venv: numpy, tifffile, Pillow),
# made when missing. Times are wall clock around the process (start-up included, as for the
# CLI). Peak RSS is the process's maximum resident set (`/usr/bin/time -f %M` when installed,
# else getrusage of the reaped child: the same number). Bytes read from disk are the
# read_bytes of /proc/self/io of the runner around the command: Linux adds a reaped child's
# I/O counts to its parent's, so the delta is what the command (all its threads) had the
# block layer read, read-ahead included. Cold runs evict the stack with posix_fadvise
# (common.sh, no root needed); warm runs read it once with cat first.
# After the timed runs, one more cold crop of the sparse box reports ctpyramid's own count
# (`file_bytes_read` of its JSON summary) and the page cache's growth (fincore), and the
# crops of ctpyramid and tifffile are compared pixel by pixel.
#
# On this project's VM (2 vCPUs, virtio disk with read_ahead_kb 8192, ext4, Linux 6.18), with
# the crop of 7ab64ec: the sparse and band boxes read 577 MiB of the 1024 MiB cold (56%, for
# 102 MiB of rows): read_through advises the whole file POSIX_FADV_SEQUENTIAL, and the 8 MiB
# read-ahead window drags ~4.5 MiB per file in for a 0.8 MiB band; a Python loop reading the
# same bands after POSIX_FADV_WILLNEED on each band read 115 MiB in 0.22-0.45 s (cat: 0.9-1.1
# s). The whole volume spends 40-75% of its samples in the kernel copying each slice into
# the page cache from one 8 MiB write(): on this kernel, one write a file of 8 MiB took
# 0.43-1.7 s for 1 GiB (median ~1.1 s) where 1 MiB writes took 0.30-0.62 s (median ~0.37 s).
# A machine shared with a compiler gave medians up to 2x slower: check the load first.
set -euo pipefail
shopt -s inherit_errexit # a command that fails in a timed run stops the script
dir=${1:?usage: benches/compare_crop.sh DIR [RUNS]}
runs=${2:-${RUNS:-5}}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/target/release/ctpyramid
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
venv=$root/target/bench-crop-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import numpy, tifffile, PIL' 2> /dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet numpy tifffile Pillow
fi
py=$venv/bin/python
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# shellcheck source=benches/common.sh
source "$root/benches/common.sh"

# Runs a command, prints "seconds peak_rss_kib read_bytes" (see the top).
measure_py='
import os, resource, shutil, subprocess, sys, tempfile, time
def read_bytes():
    with open("/proc/self/io") as f:
        return int(dict(l.split(": ") for l in f.read().splitlines())["read_bytes"])
cmd = sys.argv[1:]
timer = shutil.which("/usr/bin/time")
if timer:
    rss_file = tempfile.NamedTemporaryFile(delete=False)
    cmd = [timer, "-f", "%M", "-o", rss_file.name] + cmd
r0 = read_bytes()
t0 = time.perf_counter()
subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
t = time.perf_counter() - t0
r = read_bytes() - r0
if timer:
    rss = int(open(rss_file.name).read().split()[-1])
    os.unlink(rss_file.name)
else:
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"{t:.4f} {rss} {r}")
'

# The peers: python -c "$peer_py" pillow|tifffile SRC OUT X0 X1 Y0 Y1
peer_py='
import os, sys
how, src, out = sys.argv[1:4]
x0, x1, y0, y1 = map(int, sys.argv[4:8])
names = sorted(n for n in os.listdir(src) if n.lower().endswith((".tif", ".tiff")))
os.makedirs(out, exist_ok=True)
if how == "pillow":
    from PIL import Image
    for n in names:
        Image.open(os.path.join(src, n)).crop((x0, y0, x1, y1)).save(os.path.join(out, n))
else:
    import tifffile
    for n in names:
        a = tifffile.imread(os.path.join(src, n))
        tifffile.imwrite(os.path.join(out, n), a[y0:y1, x0:x1])
'

# One run of command $2 on box $3 into an empty folder; cold=$1 evicts the stack first, else
# warms it. Prints what measure_py prints.
timed() {
    local cold=$1 cmd=$2 box=$3 x0 x1 y0 y1
    read -r x0 x1 y0 y1 <<< "${boxes[$box]}"
    prepare "$cold"
    case $cmd in
        cat) python3 -c "$measure_py" sh -c "cat '$dir'/*.tif > /dev/null" ;;
        cp) python3 -c "$measure_py" sh -c "mkdir '$out/cp' && cp '$dir'/*.tif '$out/cp/'" ;;
        ctpyramid) python3 -c "$measure_py" "$bin" crop "$dir" --x "$x0..$x1" --y "$y0..$y1" --out "$out/c" --quiet ;;
        Pillow) python3 -c "$measure_py" "$py" -c "$peer_py" pillow "$dir" "$out/p" "$x0" "$x1" "$y0" "$y1" ;;
        tifffile) python3 -c "$measure_py" "$py" -c "$peer_py" tifffile "$dir" "$out/t" "$x0" "$x1" "$y0" "$y1" ;;
    esac
}

files=("$dir"/*.tif)
read -r width height < <("$py" -c 'import sys, tifffile; p = tifffile.TiffFile(sys.argv[1]).pages[0]; print(p.imagewidth, p.imagelength)' "${files[0]}")
total_bytes=$(cat "${files[@]}" | wc -c)
wx=$((width / 10)) hy=$((height / 10))
x0=$(((width - wx) / 2)) y0=$(((height - hy) / 2))
declare -A boxes=(
    [sparse]="$x0 $((x0 + wx)) $y0 $((y0 + hy))"
    [band]="0 $width $y0 $((y0 + hy))"
    [whole]="0 $width 0 $height"
)
read -r -a box_names <<< "${BOXES:-sparse band whole}"
commands=(cat cp ctpyramid Pillow tifffile)

device=$(df --output=source "$dir" | tail -n 1)
ra=$(cat "/sys/block/$(basename "$device")/queue/read_ahead_kb" 2> /dev/null || echo '?')
echo "stack: ${#files[@]} files of ${width}x${height}, $((total_bytes >> 20)) MiB; machine: $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -n 1)), $(free -g | awk '/Mem/{print $2}') GiB, Linux $(uname -r), $device read_ahead_kb $ra"
for b in "${box_names[@]}"; do
    read -r a1 a2 a3 a4 <<< "${boxes[$b]}"
    echo "box $b: --x $a1..$a2 --y $a3..$a4 (all ${#files[@]} slices)"
done
echo "runs: $runs a command, box and cache state, interleaved"

# As compare.sh: a cache filled by reads, whatever cached the stack before.
evict
cat "${files[@]}" > /dev/null
declare -A t rss rd
for cold in 1 0; do
    for ((i = 0; i < runs; i++)); do
        for b in "${box_names[@]}"; do
            for c in "${commands[@]}"; do
                result=$(timed "$cold" "$c" "$b")
                read -r secs kib bytes <<< "$result"
                k=$cold:$b:$c
                t[$k]+=" $secs" rss[$k]+=" $kib" rd[$k]+=" $bytes"
            done
        done
    done
done

mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
for cold in 1 0; do
    echo
    echo "$([ "$cold" = 1 ] && echo cold || echo warm) page cache, median of $runs:"
    if [ "$cold" = 1 ]; then
        echo '| box | command | wall | x cat | x Pillow | peak RSS | read from disk |'
        echo '| --- | --- | --- | --- | --- | --- | --- |'
    else
        echo '| box | command | wall | x cat | x Pillow | peak RSS |'
        echo '| --- | --- | --- | --- | --- | --- |'
    fi
    for b in "${box_names[@]}"; do
        cat_t=$(echo "${t[$cold:$b:cat]}" | median)
        pil_t=$(echo "${t[$cold:$b:Pillow]}" | median)
        for c in "${commands[@]}"; do
            k=$cold:$b:$c
            m=$(echo "${t[$k]}" | median)
            row=$(awk -v m="$m" -v c="$cat_t" -v p="$pil_t" -v r="$(echo "${rss[$k]}" | median)" \
                'BEGIN { printf "%7.3f s | %5.2fx | %6.3fx | %5.0f MiB", m, m / c, m / p, r / 1024 }')
            if [ "$cold" = 1 ]; then
                bytes=$(echo "${rd[$k]}" | median)
                row+=$(printf ' | %5s MiB (%s%%)' "$(mib "$bytes")" "$(awk -v b="$bytes" -v t="$total_bytes" 'BEGIN { printf "%.1f", 100 * b / t }')")
            fi
            printf '| %-6s | %-9s | %s |\n' "$b" "$c" "$row"
            if [ "${RAW:-0}" = 1 ]; then
                echo "|        |           | runs:${t[$k]} s |"
            fi
        done
    done
done

# What the sparse crop reads, cold, by three counts; then its pixels against tifffile's.
read -r a1 a2 a3 a4 <<< "${boxes[sparse]}"
prepare 1
before=$(fincore -b -n -o RES "${files[@]}" | awk '{ s += $1 } END { print s + 0 }')
done_line=$("$bin" crop "$dir" --x "$a1..$a2" --y "$a3..$a4" --out "$out/c" --progress json | tail -n 1)
after=$(fincore -b -n -o RES "${files[@]}" | awk '{ s += $1 } END { print s + 0 }')
own=$(echo "$done_line" | python3 -c 'import json, sys; print(json.load(sys.stdin)["file_bytes_read"])')
box_bytes=$(echo "$done_line" | python3 -c 'import json, sys; print(json.load(sys.stdin)["bytes"])')
echo
echo "sparse box, cold, of $(mib "$total_bytes") MiB of files: $(mib "$box_bytes") MiB in the box;" \
    "ctpyramid counts $(mib "$own") MiB read (file_bytes_read); the page cache grew by" \
    "$(mib $((after - before))) MiB (fincore)"
run "$py" -c "$peer_py" tifffile "$dir" "$out/t" "$a1" "$a2" "$a3" "$a4"
"$py" -c '
import os, sys, numpy, tifffile
a, b = sys.argv[1:3]
names = sorted(n for n in os.listdir(b) if n.endswith(".tif"))
assert names and names == sorted(n for n in os.listdir(a) if n.endswith(".tif")), "file names differ"
for n in names:
    assert numpy.array_equal(tifffile.imread(os.path.join(a, n)), tifffile.imread(os.path.join(b, n))), n
print(f"the sparse crops of ctpyramid and tifffile are equal ({len(names)} files)")
' "$out/c" "$out/t"
