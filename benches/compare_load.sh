#!/usr/bin/env bash
# Issue 25 item 4: a warm build on a shared machine. `cat` of the stack and `ctpyramid build`
# take turns, RUNS times each, first quiet, then beside one CPU-bound process (a shell loop
# that never sleeps, as another user's job would be), and the build's time is set against
# `cat`'s under the same load, run by run; with the build's CPU (user + system) and its
# context switches, from /usr/bin/time.
#
#   benches/compare_load.sh DIR [RUNS] [-- BUILD ARGS...]
#       DIR: e.g. made by `ctpyramid demo --dir DIR --slices 3000 --size 1024` (6 GiB)
#       RUNS: 7; BUILD ARGS: passed to the build (e.g. -- --threads 1)
#
# Builds into a temporary folder under $TMPDIR (emptied before every run), never into DIR. On
# this project's VM set TMPDIR=/dev/shm: its root ext4 has no journal, and creating files
# there searches past every inode deleted in the last minutes, which a benchmark deleting its
# outputs pays at every create (docs/performance.md, "The outputs' filesystem").
set -euo pipefail
shopt -s inherit_errexit
dir=$1
runs=${2:-7}
shift $(( $# < 2 ? $# : 2 ))
[ "${1:-}" = "--" ] && shift
args=("$@")
if [ ! -x /usr/bin/time ]; then
    echo "$(basename "$0"): needs GNU time as /usr/bin/time (Debian: apt install time)" >&2
    exit 1
fi
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/target/release/ctpyramid
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
out=$(mktemp -d)
times=$(mktemp)
hog=
trap 'rm -rf "$out" "$times"; [ -z "$hog" ] || kill "$hog" 2> /dev/null' EXIT
# shellcheck source=benches/common.sh
. "$(dirname "$0")/common.sh"

# Prints "elapsed cpu switches" of "$@" (its output discarded).
timed() {
    /usr/bin/time -o "$times" -f '%e %U %S %c %w' "$@" > /dev/null 2>&1
    awk '{ printf "%s %.2f %d\n", $1, $2 + $3, $4 + $5 }' "$times"
}

# RUNS turns of cat and build; prints the medians.
measure() {
    local cats=() builds=() ratios=() cpus=() switches=()
    for ((i = 0; i < runs; i++)); do
        prepare 0
        # shellcheck disable=SC2016 # $1 is the inner shell's
        read -r c _ _ < <(timed sh -c 'cat "$1"/*.tif' _ "$dir")
        read -r b cpu sw < <(timed "$bin" build "$dir" --out "$out/o" --quiet "${args[@]}")
        cats+=("$c") builds+=("$b") cpus+=("$cpu") switches+=("$sw")
        ratios+=("$(awk -v b="$b" -v c="$c" 'BEGIN { printf "%.2f", b / c }')")
    done
    printf '| %s | %s s | %s s | **%s** (%s) | %s s | %s |\n' "$1" \
        "$(echo "${cats[*]}" | median)" "$(echo "${builds[*]}" | median)" \
        "$(echo "${ratios[*]}" | median)" "$(echo "${ratios[*]}" | tr ' ' '\n' | sort -n |
            sed -n '1p;$p' | paste -sd-)" "$(echo "${cpus[*]}" | median)" \
        "$(echo "${switches[*]}" | median)"
}

slices=("$dir"/*.tif)
echo "${#slices[@]} slices, $(du -shL "$dir" | cut -f1), median of $runs, outputs in $out"
echo
# shellcheck disable=SC2016 # backquotes of Markdown
echo '| load | `cat` | `ctpyramid build` | x `cat` (range) | build CPU | its switches |'
echo '| --- | --- | --- | --- | --- | --- |'
measure quiet
sh -c 'while :; do :; done' &
hog=$!
measure 'one busy process'
