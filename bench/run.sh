#!/usr/bin/env bash
# bench/run.sh: compare intake's CPU per image with the TurboJPEG floor
# (scaled decode + four 256x256 q90 encodes, see floor.c). Called by `make bench`.
#
# Env: INTAKE_CORPUS  corpus root (default: <repo>/../shared/corpus)
#      BENCH_ROUNDS   rounds, alternating floor/intake (default 3)
#      INTAKE_BIN     intake binary (default: <repo>/.build/release/intake)
set -euo pipefail

# Resolve paths from this script's location so any cwd works.
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
OUT=$BENCH/out
CORPUS=${INTAKE_CORPUS:-$ROOT/../shared/corpus}
ROUNDS=${BENCH_ROUNDS:-3}
INTAKE=${INTAKE_BIN:-$ROOT/.build/release/intake}

if [[ ! -d $CORPUS ]]; then
    echo "bench: corpus not found at $CORPUS (set INTAKE_CORPUS); skipping."
    exit 0
fi
CORPUS=$(cd -- "$CORPUS" && pwd)  # absolute, so bench/out/files.txt works from any cwd
if [[ ! -x $INTAKE ]]; then
    echo "bench: intake binary not found at $INTAKE (run 'swift build -c release' first)." >&2
    exit 1
fi

mkdir -p "$OUT"
cc -O2 -o "$OUT/floor" "$BENCH/floor.c" -lturbojpeg

# Image set: real camera/phone JPEGs, picked by magic bytes (FF D8 FF) rather
# than extension. NUL-separated because names contain spaces and parentheses.
python3 - "$OUT/files.txt" "$CORPUS/images/exif-samples/jpg" \
    "$CORPUS/images/photoprism-samples/examples" <<'EOF'
import os, sys
out, dirs = sys.argv[1], sys.argv[2:]
files = []
for d in dirs:
    for base, _, names in os.walk(d):
        for n in names:
            p = os.path.join(base, n)
            with open(p, "rb") as f:
                if f.read(3) == b"\xff\xd8\xff":
                    files.append(p)
files.sort()
with open(out, "wb") as f:
    f.write(b"".join(os.fsencode(p) + b"\0" for p in files))
mb = sum(os.path.getsize(p) for p in files) / 1e6
print(f"bench: {len(files)} JPEG files, {mb:.1f} MB")
EOF
mapfile -d '' FILES <"$OUT/files.txt"
N=${#FILES[@]}
if ((N == 0)); then echo "bench: no JPEGs found under $CORPUS; skipping."; exit 0; fi

TMPOUT=
trap '[[ -n $TMPOUT ]] && rm -rf -- "$TMPOUT"' EXIT
FLOOR_MS=() FLOOR_OUT_MS=() PIPE_MS=() OUT_MS=()

# Alternate the contenders each round so machine noise hits them alike. The floor reports its
# own CPU (processing loop only); intake is measured from outside by cpu.py, so its figure also
# includes start-up, reading files, EXIF and SHA-256. "intake" runs the pipeline without writing;
# "intake --out" also writes the derivative and rotations and makes them durable (one syncfs).
# The output folder sits in bench/out, on the filesystem a state root would live on.
for ((r = 1; r <= ROUNDS; r++)); do
    # floor's stderr (skip/error/warning counts) is the same every round: show it once.
    line=$("$OUT/floor" "${FILES[@]}" 2>"$OUT/floor.stderr")
    ((r == 1)) && sed 's/^/         /' "$OUT/floor.stderr"
    echo "round $r  $line"
    FLOOR_MS+=("${line##*cpu_ms_per_image=}")

    TMPOUT=$(mktemp -d "$OUT/run.XXXXXX")
    line=$("$OUT/floor" -o "$TMPOUT" "${FILES[@]}" 2>/dev/null)
    echo "round $r  ${line/floor:/floor -o:}"
    rm -rf -- "$TMPOUT"; TMPOUT=
    FLOOR_OUT_MS+=("${line##*cpu_ms_per_image=}")

    line=$(python3 "$BENCH/cpu.py" --images "$N" --label intake -- "$INTAKE" process "${FILES[@]}")
    echo "round $r  $line"
    line=${line#*cpu_ms_per_image=}
    PIPE_MS+=("${line%% *}")

    TMPOUT=$(mktemp -d "$OUT/run.XXXXXX")  # fresh each round
    line=$(python3 "$BENCH/cpu.py" --images "$N" --label "intake --out" -- \
        "$INTAKE" process --out "$TMPOUT" "${FILES[@]}")
    echo "round $r  $line"
    rm -rf -- "$TMPOUT"; TMPOUT=
    line=${line#*cpu_ms_per_image=}
    OUT_MS+=("${line%% *}")
done

python3 - "${FLOOR_MS[*]}" "${FLOOR_OUT_MS[*]}" "${PIPE_MS[*]}" "${OUT_MS[*]}" <<'EOF2'
import statistics, sys
f, fo, p, o = (statistics.median(map(float, a.split())) for a in sys.argv[1:5])
print(f"median cpu_ms_per_image: floor={f:.3f} floor -o={fo:.3f} intake={p:.3f} intake --out={o:.3f}")
print(f"intake/floor = {p / f:.2f} (goal <= 1.30)")
print(f"intake --out / floor -o = {o / fo:.2f} (both writing their outputs durably)")
EOF2
