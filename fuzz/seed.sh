#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ with every file under fixtures/stacks and fixtures/bad.
#
# A fuzz input's first byte picks the file's extension (value mod 4: 0 tif, 1 bmp, 2 png,
# 3 jpg) and is stripped by the targets, so each fixture is stored with the byte of its own
# extension in front: the seeds are then exactly the fixtures.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(slice_file inspect)
for target in "${targets[@]}"; do
    out="$here/corpus/$target"
    mkdir -p "$out"
    n=0
    while IFS= read -r -d '' f; do
        name="${f#"$root"/fixtures/}"
        ext="${f##*.}"
        case "${ext,,}" in
            tif | tiff) b='\x00' ;;
            bmp) b='\x01' ;;
            png) b='\x02' ;;
            jpg | jpeg) b='\x03' ;;
            *) b='\x00' ;;
        esac
        dest="$out/seed_${name//\//_}"
        { printf "$b"; cat "$f"; } > "$dest"
        n=$((n + 1))
    done < <(find "$root/fixtures/stacks" "$root/fixtures/bad" -type f ! -name '.gitkeep' -print0)
    echo "$target: $n seeds in $out"
done
