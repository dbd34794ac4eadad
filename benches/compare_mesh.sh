#!/usr/bin/env bash
# `ctpyramid mesh` against the ways an isosurface of a stack is made today (issue 24): warm
# and cold page cache, median of RUNS, the commands taking turns run by run, with each
# command's peak RSS and the triangles of its mesh.
#
#   benches/compare_mesh.sh DIR [RUNS]
#       DIR: a folder of uncompressed TIFF slices: the 1 GiB stack (128 x 2048x2048 u16),
#       made once with `target/bench-mesh-venv/bin/python benches/numpy_pyramid.py make DIR`
#       (any venv with numpy and tifffile will do; ~30 s). Only read: every mesh goes to a
#       temporary folder under $TMPDIR. RUNS: 5 (or $RUNS). ISO: 9830.5 (or $ISO).
#   LONG=1 benches/compare_mesh.sh DIR [RUNS]
#       memory against the stack's length: DIR is the long stack (3000 x 1024x1024 u16, 6 GiB),
#       made with `... numpy_pyramid.py make DIR --slices 3000 --size 1024` (~2.5 min).
#       cat and ctpyramid run RUNS times (default 1 here) in each cache state; PyMCubes and
#       VTK once in each, and only when their volume (and the mesh) fits in MemAvailable: a
#       skipped peer says why.
#   CTPYRAMID: the binary (default target/release/ctpyramid, built first). RAW=1 prints
#   every run's time too.
#
# The commands, each writing into an empty folder (removed and synced before the clock
# starts, as in compare.sh):
#   cat        cat DIR/*.tif > /dev/null: reading the files, the floor of anything that reads
#              every voxel
#   ctpyramid  ctpyramid mesh DIR --iso ISO --out OUT/mesh.ply --quiet (binary PLY; its
#              default threads)
#   PyMCubes   the path a user runs today (benches/mesh_peers.py pymcubes): tifffile reads
#              every slice into one array volume[z][y][x], mcubes.marching_cubes(volume, ISO)
#              (uint16 used as is: no float copy; one thread), numpy writes a binary PLY
#              (float32 x y z: PyMCubes's columns reversed; faces uchar 3 + int32 indices)
#   VTK        the same volume, wrapped without a copy (vtk.util.numpy_support), through
#              vtkFlyingEdges3D (SetValue(0, ISO), normals and scalars off; the STDThread SMP
#              backend, every core: the PyPI wheel's default is Sequential) and vtkPLYWriter
#              (binary) (benches/mesh_peers.py vtk)
# The peers run in a venv of their own (target/bench-mesh-venv: numpy, tifffile, pymcubes,
# vtk from PyPI), made when missing. Times are wall clock around the process (start-up and
# imports included, as for the CLI). Peak RSS is the process's maximum resident set
# (`/usr/bin/time -f %M` when installed, else getrusage of the reaped child: the same
# number; for ctpyramid, which maps the slices, the pages of slices mapped at the time count
# too). Cold runs evict the stack with posix_fadvise (common.sh, no root needed); warm
# runs read it once with cat first. Triangles are the `element face N` of each PLY's header.
# After the table, the meshes of ctpyramid and PyMCubes are compared triangle by triangle
# (mesh_peers.py compare: corners as the lattice edges they lie on, so rounding does not
# matter): with a non-integer ISO on integer data ctpyramid (which drops degenerate
# triangles and shares vertices at equal points) must make PyMCubes's triangles. VTK's
# flying edges cuts some cells into other triangles (same vertices, same count on the
# phantom), so it is only counted.
#
# PyMCubes's faces are written in its order, so with the columns reversed to x y z they are
# wound inwards (compare prints each mesh's signed volume: negative); ctpyramid and VTK wind
# them outwards. The comparison ignores orientation.
#
# On this project's VM (2 vCPUs, AMD EPYC, 24 GiB, virtio disk), a run takes ~6 min for the
# 1 GiB stack with RUNS=5 (PyMCubes's ~20-27 s a run is most of it) and ~11 min for LONG=1
# with RUNS=3 (PyMCubes ~2.5 min a run). Peak RSS, which the load does not move: ctpyramid
# 35-40 MiB on the 1 GiB stack and 18 MiB on the 6 GiB one; PyMCubes 1.35 and 7.2 GiB;
# VTK 1.6 and 9.6 GiB.
# A machine shared with a compiler gives slower medians: the load average is printed first.
set -euo pipefail
shopt -s inherit_errexit # a command that fails in a timed run stops the script
dir=${1:?usage: [LONG=1] benches/compare_mesh.sh DIR [RUNS]}
dir=$(cd "$dir" && pwd)
long=${LONG:-0}
runs=${2:-${RUNS:-$([ "$long" = 1 ] && echo 1 || echo 5)}}
iso=${ISO:-9830.5}
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${CTPYRAMID:-}" ]; then
    bin=$CTPYRAMID
else
    bin=$root/target/release/ctpyramid
    cargo build --release --quiet --bin ctpyramid --manifest-path "$root/Cargo.toml"
fi
venv=$root/target/bench-mesh-venv
if [ ! -x "$venv/bin/python" ] ||
    ! "$venv/bin/python" -c 'import numpy, tifffile, mcubes, vtkmodules.vtkFiltersCore' 2> /dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet numpy tifffile pymcubes vtk
fi
py=$venv/bin/python
peers=$root/benches/mesh_peers.py
out=$(mktemp -d)
keep=$(mktemp -d) # each command's last mesh, moved here after its run
trap 'rm -rf "$out" "$keep"' EXIT

# shellcheck source=benches/common.sh
source "$root/benches/common.sh"

# Runs a command, prints "seconds peak_rss_kib" (see the top).
measure_py='
import os, resource, shutil, subprocess, sys, tempfile, time
cmd = sys.argv[1:]
timer = shutil.which("/usr/bin/time")
if timer:
    rss_file = tempfile.NamedTemporaryFile(delete=False)
    cmd = [timer, "-f", "%M", "-o", rss_file.name] + cmd
t0 = time.perf_counter()
subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
t = time.perf_counter() - t0
if timer:
    rss = int(open(rss_file.name).read().split()[-1])
    os.unlink(rss_file.name)
else:
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"{t:.4f} {rss}")
'

# One run of command $2 into an empty folder; cold=$1 evicts the stack first, else warms it.
# Prints "seconds peak_rss_kib triangles" (triangles "-" for cat) and keeps the mesh.
timed() {
    local cold=$1 cmd=$2 result mesh=$out/$2.ply
    prepare "$cold"
    case $cmd in
        cat) result=$(python3 -c "$measure_py" sh -c "cat '$dir'/*.tif > /dev/null") ;;
        ctpyramid) result=$(python3 -c "$measure_py" "$bin" mesh "$dir" --iso "$iso" --out "$mesh" --quiet) ;;
        PyMCubes) result=$(python3 -c "$measure_py" "$py" "$peers" pymcubes "$dir" "$iso" "$mesh") ;;
        VTK) result=$(python3 -c "$measure_py" "$py" "$peers" vtk "$dir" "$iso" "$mesh") ;;
    esac
    if [ "$cmd" = cat ]; then
        echo "$result -"
    else
        mv "$mesh" "$keep/$cmd.ply"
        echo "$result $("$py" "$peers" count "$keep/$cmd.ply" | cut -d' ' -f2)"
    fi
}

files=("$dir"/*.tif)
read -r width height < <("$py" -c 'import sys, tifffile; p = tifffile.TiffFile(sys.argv[1]).pages[0]; print(p.imagewidth, p.imagelength)' "${files[0]}")
total_bytes=$(cat "${files[@]}" | wc -c)
volume_bytes=$((width * height * ${#files[@]} * 2)) # u16: the peers' one array
device=$(df --output=source "$dir" | tail -n 1)
echo "stack: ${#files[@]} files of ${width}x${height}, $((total_bytes >> 20)) MiB; iso $iso"
echo "machine: $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -n 1)), $(free -g | awk '/Mem/{print $2}') GiB, Linux $(uname -r), $device; load average $(cut -d' ' -f1-3 /proc/loadavg)"

commands=(cat ctpyramid PyMCubes VTK)
declare -A once=() # commands run once a cache state (LONG=1: the peers)
if [ "$long" = 1 ]; then
    # A peer holds the volume, the page cache it was read through can be dropped, and the
    # mesh: about 0.4 GB for PyMCubes on the 1 GiB stack's 1.7 million triangles, in
    # proportion to the surface. Ask for the volume and a mesh of that density with a GiB to
    # spare.
    avail=$(($(awk '/MemAvailable/ { print $2 }' /proc/meminfo) * 1024))
    need=$((volume_bytes + volume_bytes / 2 + (1 << 30)))
    for c in PyMCubes VTK; do
        if [ "$avail" -lt "$need" ]; then
            echo "$c skipped: its volume is $((volume_bytes >> 20)) MiB (u16, one array) and with the mesh needs ~$((need >> 20)) MiB; MemAvailable is $((avail >> 20)) MiB"
            commands=("${commands[@]/$c/}")
        else
            once[$c]=1
        fi
    done
    read -r -a commands <<< "${commands[*]}"
fi
if [ "${#once[@]}" -gt 0 ]; then
    echo "runs: $runs a command and cache state, interleaved; ${!once[*]}: 1"
else
    echo "runs: $runs a command and cache state, interleaved"
fi

# As compare.sh: a cache filled by reads, whatever cached the stack before.
evict
cat "${files[@]}" > /dev/null
declare -A t rss tri
for cold in 0 1; do
    for ((i = 0; i < runs; i++)); do
        for c in "${commands[@]}"; do
            [ "$i" -gt 0 ] && [ -n "${once[$c]:-}" ] && continue
            read -r secs kib n <<< "$(timed "$cold" "$c")"
            k=$cold:$c
            t[$k]+=" $secs" rss[$k]+=" $kib" tri[$c]=$n
        done
    done
done

# Median of a list of numbers however many there are (common.sh's median takes $runs).
med() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo
echo "median of $runs, wall clock with process start; x cat: against cat in the same cache state"
echo '| command | warm | cold | x cat (warm / cold) | peak RSS MiB (warm / cold) | triangles |'
echo '| --- | --- | --- | --- | --- | --- |'
cat_w=$(echo "${t[0:cat]}" | med) cat_c=$(echo "${t[1:cat]}" | med)
for c in "${commands[@]}"; do
    w=$(echo "${t[0:$c]}" | med) k=$(echo "${t[1:$c]}" | med)
    rw=$(echo "${rss[0:$c]}" | med) rc=$(echo "${rss[1:$c]}" | med)
    awk -v c="$c" -v w="$w" -v k="$k" -v cw="$cat_w" -v ck="$cat_c" -v rw="$rw" -v rc="$rc" -v n="${tri[$c]}" \
        'BEGIN { printf "| %-9s | %7.3f s | %7.3f s | %6.2fx / %6.2fx | %6.0f / %6.0f | %9s |\n", c, w, k, w / cw, k / ck, rw / 1024, rc / 1024, n }'
    if [ "${RAW:-0}" = 1 ]; then
        echo "|           | runs: warm${t[0:$c]} s, cold${t[1:$c]} s |"
    fi
done

echo
for c in ctpyramid PyMCubes VTK; do
    [ -f "$keep/$c.ply" ] || continue
    read -r nv nf < <("$py" "$peers" count "$keep/$c.ply")
    echo "$c: $nv vertices, $nf triangles"
done
if [ -f "$keep/PyMCubes.ply" ]; then
    # Triangle by triangle; the figures above stand whatever this finds.
    if ! "$py" "$peers" compare "$keep/ctpyramid.ply" "$keep/PyMCubes.ply"; then
        echo "*** ctpyramid's triangles are NOT PyMCubes's (see above) ***"
    fi
fi
