#!/usr/bin/env bash
# Replays every artifact of a target (default: all) and prints, per artifact, the kind of
# failure and the first frames of the library (ctpyramid, tiff, png, zune) on the stack:
#   fuzz/triage.sh [target...]
# Build the targets first (`cargo fuzz build -O -a`); uses the same limits as the runs.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(slice_file inspect)
for target in "${targets[@]}"; do
    bin="target/x86_64-unknown-linux-gnu/release/$target"
    [ -x "$bin" ] || { echo "$target: not built" >&2; continue; }
    for f in artifacts/"$target"/*; do
        [ -f "$f" ] || continue
        out="$(timeout 120 "$bin" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 "$f" 2>&1)"
        kind="$(grep -m1 -oE 'ERROR: libFuzzer: [a-z-]+( \(malloc\([0-9]+\)\))?|panicked at [^ ]+|ERROR: AddressSanitizer: [a-zA-Z-]+|deadly signal' <<<"$out")"
        frames="$(grep -oE ' in [^ ]*(ctpyramid|tiff|png|zune)[^ ]* [^ ]+' <<<"$out" | grep -v ctpyramid_fuzz | head -3 | sed 's/^ in //' | tr '\n' ';')"
        echo "$target $(basename "$f") $(stat -c %s "$f")B first-byte=$(head -c1 "$f" | xxd -p) | ${kind:-no failure on replay} | $frames"
    done
done
