#!/usr/bin/env bash
# Runs every fuzz target of intake-fuzz for FUZZ_SECONDS (default 60) each, with AddressSanitizer
# and leak detection, seeded from the corpus (../shared/corpus or $INTAKE_CORPUS) when it is there.
# Inputs that crash, hang or leak are saved under .build/fuzz/artifacts/<target>/; the run fails
# if there is any. Usage: scripts/fuzz.sh [target…] (default: all).
set -uo pipefail

seconds=${FUZZ_SECONDS:-60}
corpus=${INTAKE_CORPUS:-../shared/corpus}
binary=.build/fuzz/release/intake-fuzz
work=.build/fuzz/work
targets=("$@")
((${#targets[@]} == 0)) && targets=(image exif png toml csv sidecar classifier)

# The Swift runtime's crash backtracer symbolicates for minutes; libFuzzer reports on its own.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1

seed() {  # seed TARGET FOLDER: fills FOLDER with starting inputs for TARGET
    local target=$1 folder=$2
    mkdir -p "$folder"
    case $target in
    image)
        # The project's own small WebP, TIFF, HEIC and AVIF, whatever the corpus holds.
        find Tests/Fixtures/formats -type f ! -name '*.sh' -exec cp -t "$folder" {} +
        if [[ -d $corpus ]]; then
            find "$corpus/fuzz-seeds" -type f -size -200k -exec cp -t "$folder" {} + 2>/dev/null
            find "$corpus/images" -type f -size -60k \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) | head -400 | xargs -r cp -t "$folder" 2>/dev/null
            find "$corpus/images" -type f -size -200k \( -iname '*.gif' -o -iname '*.bmp' -o -iname '*.webp' -o -iname '*.tif*' -o -iname '*.hei[cf]' -o -iname '*.avif' \) \
                | head -100 | xargs -r cp -t "$folder" 2>/dev/null
        fi ;;
    png)
        [[ -d $corpus ]] && find "$corpus/images/pngsuite" "$corpus/images/libpng-testpngs" -type f -name '*.png' -size -60k | head -300 | xargs -r cp -t "$folder" 2>/dev/null ;;
    exif)
        [[ -d $corpus ]] && python3 scripts/fuzz-exif-seeds.py "$corpus/images" "$folder" ;;
    toml)
        cp etc/intake.toml "$folder/shipped.toml"
        printf '[daemon]\nroot = "/srv"\nworkers = 4\n[environments.x]\nweight = 2\n[derive]\nangles = [90, 180]\n' > "$folder/small.toml" ;;
    csv)
        printf 'meter_id,read_at,value,unit,note\nM1,2026-11-20T08:30:00Z,530.5,m3,"read by ""Ann"", at the door"\nM1,2026-11-21 09:00,531,m3,\n' > "$folder/readings.csv"
        [[ -d $corpus ]] && head -40 "$corpus/meters/digits/labels.csv" > "$folder/labels.csv" ;;
    sidecar)
        printf '{"reading": 530.488, "meter": "demo-meter", "time": "2026-11-21T09:30:00Z"}' > "$folder/full.json"
        printf '{"reading": "530.4"}' > "$folder/text.json" ;;
    classifier)
        printf '{"labels": [{"name": "cat", "confidence": 0.9, "box": {"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4}}]}' > "$folder/object.json"
        printf '[{"name": "dog", "confidence": 0.5}]' > "$folder/array.json" ;;
    esac
}

failed=0
for target in "${targets[@]}"; do
    seeds=$work/seeds/$target grown=$work/corpus/$target artifacts=$work/artifacts/$target
    rm -rf "$seeds"
    seed "$target" "$seeds"
    mkdir -p "$grown" "$artifacts"
    echo "== $target: $seconds s from $(find "$seeds" -type f | wc -l) seeds"
    INTAKE_FUZZ_TARGET=$target "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=1048576 \
        -artifact_prefix="$artifacts/" -print_final_stats=1 "$grown" "$seeds" > "$work/$target.log" 2>&1
    status=$?
    grep -E "^stat::(number_of_executed_units|peak_rss_mb|new_units_added)" "$work/$target.log" | tr '\n' ' '; echo
    found=$(find "$artifacts" -type f | wc -l)
    if ((status != 0 || found > 0)); then
        echo "!! $target: exit $status, $found saved input(s) in $artifacts; see $work/$target.log"
        failed=1
    fi
done
exit $failed
