# Shared by benches/compare.sh, compare_zarr.sh and ab.sh, which source it and set $dir (the
# stack), $out (an output folder, emptied before each run) and $runs.

# Drops the stack from the page cache (posix_fadvise: no root needed).
evict() {
    python3 -c 'import os,sys
for f in sys.argv[1:]:
    fd = os.open(f, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$dir"/*.tif
}

# Before a timed run: an empty output folder, as a first build has; the stack evicted
# (cold=1) or read once; everything synced before the clock starts.
prepare() {
    rm -rf "${out:?}"/*
    if [ "$1" = 1 ]; then evict; else cat "$dir"/*.tif > /dev/null; fi
    sync
}

# Runs "$@" with its output discarded; a failure stops the benchmark (with inherit_errexit).
run() {
    "$@" > /dev/null 2>&1 || { echo "$(basename "$0"): failed: $*" >&2; return 1; }
}

median() {
    tr ' ' '\n' | grep . | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}

# Peak resident set of "$@" in MiB, its output discarded: the reaped child's getrusage (what
# `/usr/bin/time -f %M` prints). For a mapped reader, the pages of the files mapped at the
# time count too.
peak_mib() {
    python3 - "$@" <<'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
print(f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.1f}")
PY
}
