#!/usr/bin/env python3
"""bench/compare.py: the contenders on the same files, subset by subset. Called by `make bench`.

Contenders, each reading every file itself:
  floor            bench/out/floor: TurboJPEG's scaled decode (libpng for PNG) + four 256x256 q90 encodes
  Pillow           bench/pillow_pipeline.py in the bench venv: draft, exif_transpose, thumbnail, four encodes
  intake process   the pipeline in one process, outputs not written
  intake --out     the same, writing and syncing its outputs: the one-shot twin of the daemon
  intaked          the daemon end to end: the subset renamed into inbox/prod at once (staged beforehand),
                   timed until the last job is final; with one worker per core, and with one worker

Per subset of bench/out/set (make_images.py) and per round, every contender runs once, in an order
that rotates from round to round so drift on a shared machine hits them alike; then floor, Pillow
and intake process run once more with the subset split into one shard per core, all at once, for
images/s on all cores. CPU per image (user + system, from os.wait4, or /proc/<pid>/stat for the
daemon) is the figure to trust on a noisy machine; peak RSS comes from GNU time (VmHWM for the
daemon). Every figure is the median over rounds.

Prints a table and the goal ratios per subset, then a summary of all subsets; writes
bench/out/results.json. Env: BENCH_ROUNDS (default 5), BENCH_SUBSETS (default all, comma-separated),
INTAKE_BIN, INTAKED_BIN, INTAKE_CORPUS.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from benchlib import (FLOOR, INTAKE, INTAKED, LARGE, OUT, ROOT, SET, SUBSETS, VENV_PYTHON,
                      measure, measure_parallel, median, shards, subset_files)
from daemon import burst

PILLOW_SCRIPT = os.path.join(ROOT, "bench", "pillow_pipeline.py")
BIN = os.path.join(OUT, "bin")  # private copies of intake and intaked, see snapshot()
CONFIG = os.path.join(OUT, "intake-defaults.toml")
LOGS = os.path.join(OUT, "logs")
CORES = os.cpu_count()

# The small photos take well under a second a pass: several passes per run keep the machine's
# background noise from deciding their ratios.
REPEAT = {"small": 3}

# Goals from the issue. intake/floor: by subset; the rest apply to every subset unless noted.
FLOOR_GOAL = {"small": 1.30, **{s: 1.05 for s in LARGE}}
DAEMON_GOAL = {"small": 1.50}  # daemon CPU / intake process --out; no goal on the large subsets

NAMES = {
    "floor": "floor (TurboJPEG)",
    "pillow": "Pillow draft",
    "intake": "intake process",
    "intake_out": "intake process --out",
    "intaked": f"intaked, {CORES} workers",
    "intaked_1": "intaked, 1 worker",
}


def process_command(key, files, out=None):
    """The command line of a one-process contender."""
    if key == "floor":
        return [FLOOR, *files]
    if key == "pillow":
        return [VENV_PYTHON, PILLOW_SCRIPT, *files]
    # An explicit configuration of built-in defaults: etc/intake.toml follows the sources and may
    # hold keys a binary built earlier doesn't know yet.
    return [os.path.join(BIN, "intake"), "process", "--config", CONFIG, *(["--out", out] if out else []), *files]


def run_process(key, subset, files):
    """One process over the subset: CPU ms per image and peak RSS, from its own rusage."""
    out = tempfile.mkdtemp(prefix="out.", dir=OUT) if key == "intake_out" else None
    try:
        with open(os.path.join(LOGS, f"{subset}-{key}.txt"), "w") as log:  # the last round's is kept
            run = measure(process_command("intake" if out else key, files, out), stderr=log)
    finally:
        if out:
            shutil.rmtree(out, ignore_errors=True)
    # intake exits 2 when it refused a file: the others processed it, so it is noted, not fatal.
    if run.code not in (0, 2) or (run.code == 2 and not key.startswith("intake")):
        sys.exit(f"bench: {NAMES[key]} failed on {subset} (exit {run.code}); see {LOGS}/{subset}-{key}.txt")
    return {"cpu_ms_per_image": run.cpu_s * 1000 / len(files), "peak_rss_mb": run.peak_kb / 1024,
            "refused": run.code == 2}


def run_daemon(workers, files):
    b = burst(files, workers, os.path.join(BIN, "intaked"))
    return {"cpu_ms_per_image": b.cpu_s * 1000 / b.images, "peak_rss_mb": b.peak_kb / 1024,
            "images_per_s": b.images / b.wall_s, "failed": b.failed, "p50_ms": b.p50_ms,
            "p99_ms": b.p99_ms, "jobs_per_commit": b.jobs_per_commit}


def all_cores(key, files):
    """Images/s with one process per core, each over its shard, all started at once."""
    wall, codes = measure_parallel([process_command(key, shard) for shard in shards(files, CORES)])
    if any(code not in (0, 2) for code in codes):
        sys.exit(f"bench: {NAMES[key]} failed on all cores (exit codes {codes})")
    return len(files) / wall


def intake_stages(files):
    """Where intake's time goes: the mean of each stage's milliseconds, from its own JSON report."""
    run = subprocess.run([os.path.join(BIN, "intake"), "process", "--json", "--config", CONFIG, *files],
                         capture_output=True, text=True)
    totals = {}
    for line in run.stdout.splitlines():
        for stage, ms in json.loads(line).get("stages_ms", {}).items():
            totals[stage] = totals.get(stage, 0) + ms
    order = ["sniff", "decode", "metadata", "orient", "classify", "derive"]
    return {stage: totals[stage] / len(files) for stage in order if stage in totals}


def rotated(items, round_index):
    k = round_index % len(items)
    return items[k:] + items[:k]


def bench_subset(subset, rounds):
    """Every contender, `rounds` times, alternating; returns the per-round samples."""
    files = subset_files(subset) * REPEAT.get(subset, 1)
    mb = sum(os.path.getsize(p) for p in files) / 1e6
    repeat = f" ({REPEAT[subset]} passes over {len(files) // REPEAT[subset]})" if subset in REPEAT else ""
    print(f"{subset}: {len(files)} files{repeat}, {mb:.1f} MB", flush=True)
    runners = {
        "floor": lambda: run_process("floor", subset, files),
        "pillow": lambda: run_process("pillow", subset, files),
        "intake": lambda: run_process("intake", subset, files),
        "intake_out": lambda: run_process("intake_out", subset, files),
        "intaked": lambda: run_daemon(CORES, files),
        "intaked_1": lambda: run_daemon(1, files),
    }
    samples = {key: [] for key in runners}
    for r in range(rounds):
        for key in rotated(list(runners), r):
            samples[key].append(runners[key]())
        for key in rotated(["floor", "pillow", "intake"], r):
            samples[key][-1]["images_per_s"] = all_cores(key, files)
        print(f"  round {r + 1}: " + "  ".join(
            f"{key} {samples[key][-1]['cpu_ms_per_image']:.1f}" for key in runners) + " ms/img", flush=True)
    return {"files": len(files), "mb": mb, "samples": samples}


def medians(samples):
    """Per contender, the median of every numeric figure over the rounds."""
    result = {}
    for key, rows in samples.items():
        fields = [f for f, v in rows[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        result[key] = {f: median([row[f] for row in rows if f in row]) for f in fields}
    return result


def verdict(met):
    return "no goal" if met is None else ("meets goal" if met else "misses goal")


def check(name, value, goal, met):
    return {"name": name, "value": value, "goal": goal, "met": met}


def goal_checks(subset, m):
    """The ratios the issue sets goals on; met is None where it sets none for this subset."""
    intake_ms = m["intake"]["cpu_ms_per_image"]
    floor_ratio = intake_ms / m["floor"]["cpu_ms_per_image"]
    pillow_ratio = m["pillow"]["cpu_ms_per_image"] / intake_ms
    daemon_ratio = m["intaked"]["cpu_ms_per_image"] / m["intake_out"]["cpu_ms_per_image"]
    daemon_goal = DAEMON_GOAL.get(subset)
    # Peak RSS per worker: the daemon as it runs by default (one worker per core), its peak shared
    # among its workers. The 1-worker figure, which carries the whole fixed cost, is printed beside.
    rss_ratio = m["intaked"]["peak_rss_mb"] / CORES / m["pillow"]["peak_rss_mb"]
    return [
        check("intake/floor", floor_ratio, f"<= {FLOOR_GOAL[subset]:.2f}", floor_ratio <= FLOOR_GOAL[subset]),
        check("Pillow/intake", pillow_ratio, "> 1", pillow_ratio > 1),
        check(f"intaked ({CORES} workers)/intake --out", daemon_ratio,
              f"<= {daemon_goal:.2f}" if daemon_goal else "(small photos only)",
              daemon_ratio <= daemon_goal if daemon_goal else None),
        check(f"intaked peak RSS / {CORES} workers / Pillow", rss_ratio, "<= 1", rss_ratio <= 1),
    ]


def print_subset(subset, result):
    m = result["medians"]
    print(f"  {'median of ' + str(result['rounds']) + ' rounds':<24} {'cpu ms/img':>10} {'img/s all cores':>16} "
          f"{'peak RSS MB':>12}")
    for key, name in NAMES.items():
        rate = m[key].get("images_per_s") if key in ("floor", "pillow", "intake", "intaked") else None
        print(f"  {name:<24} {m[key]['cpu_ms_per_image']:>10.2f} "
              f"{(f'{rate:.1f}' if rate else '-'):>16} {m[key]['peak_rss_mb']:>12.1f}")
    for c in result["checks"]:
        print(f"  {c['name']:<38} {c['value']:6.2f}  goal {c['goal']:<20} {verdict(c['met'])}")
    print(f"  intaked peak RSS per worker: {m['intaked_1']['peak_rss_mb']:.1f} MB with 1 worker, "
          f"{m['intaked']['peak_rss_mb']:.1f}/{CORES} = {m['intaked']['peak_rss_mb'] / CORES:.1f} MB "
          f"with {CORES}; Pillow {m['pillow']['peak_rss_mb']:.1f} MB")
    stages = result.get("intake_stages")
    if stages:
        print("  intake's own stages, ms/img: " + "  ".join(f"{k} {v:.2f}" for k, v in stages.items())
              + "  (metadata is SHA-256 of every byte, plus EXIF)")
        print(f"  classify: {100 * stages.get('classify', 0) / max(sum(stages.values()), 1e-9):.1f}% of those stages "
              "(goal: under 10% of a job)")
    for note in result["notes"]:
        print(f"  note: {note}")
    print(flush=True)


def notes(subset, samples):
    """What a reader needs to trust the figures: skipped files, refusals, failed jobs."""
    found = []
    for key in ("floor", "pillow"):
        with open(os.path.join(LOGS, f"{subset}-{key}.txt")) as log:
            found.extend(line.strip() for line in log if line.strip())
    if any(s["refused"] for s in samples["intake"]):
        found.append("intake process refused some files (exit 2); `intake process --json FILE` gives the reason")
    for key in ("intaked", "intaked_1"):
        failed = max(s["failed"] for s in samples[key])
        if failed:
            found.append(f"{NAMES[key]}: {failed} jobs failed")
    return found


def print_summary(results):
    def cell(c):
        return f"{c['value']:.2f} {'-' if c['met'] is None else ('ok' if c['met'] else 'MISS')}"
    header = (f"{'subset':<12} {'files':>5} {'floor':>7} {'Pillow':>7} {'intake':>7} {'intaked':>7}   "
              f"{'intake/floor':>12} {'Pillow/intake':>13} {'intaked/--out':>13} {'RSS/wkr/Pillow':>16}")
    print("summary: CPU ms per image (medians); ratios with ok / MISS against the goals")
    print(header)
    for subset, r in results.items():
        m = r["medians"]
        print(f"{subset:<12} {r['files']:>5} " + " ".join(
            f"{m[k]['cpu_ms_per_image']:>7.2f}" for k in ("floor", "pillow", "intake", "intaked"))
            + "   " + " ".join(f"{cell(c):>{w}}" for c, w in zip(r["checks"], (12, 13, 13, 16))))


def binary_stamp(path):
    st = os.stat(path)
    return {"path": path, "bytes": st.st_size, "mtime": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(st.st_mtime))}


def snapshot():
    """Copies intake and intaked aside, so a rebuild during the run (the machine may be shared with
    a developer's builds) can't mix two builds in one set of figures. Returns the originals' stamps."""
    os.makedirs(BIN, exist_ok=True)
    for path, name in ((INTAKE, "intake"), (INTAKED, "intaked")):
        shutil.copy2(path, os.path.join(BIN, name))
    return [binary_stamp(p) for p in (INTAKE, INTAKED)]


def check_ready():
    if not os.path.exists(os.path.join(SET, ".stamp")):
        sys.exit(f"bench: no image set in {SET}; run `make bench` (bench/make_images.py builds it)")
    for path, how in ((FLOOR, "make bench builds it"), (VENV_PYTHON, "make bench makes the venv"),
                      (INTAKE, "make release"), (INTAKED, "make release")):
        if not os.access(path, os.X_OK):
            sys.exit(f"bench: {path} missing ({how})")


def main():
    check_ready()
    os.makedirs(LOGS, exist_ok=True)
    with open(CONFIG, "w") as f:
        f.write("# Written by bench/compare.py: no keys, so intake runs on its built-in defaults.\n")
    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
    subsets = os.environ.get("BENCH_SUBSETS", ",".join(SUBSETS)).split(",")
    pillow = subprocess.run([VENV_PYTHON, "-c", "import PIL; print(PIL.__version__)"],
                            capture_output=True, text=True, check=True).stdout.strip()
    NAMES["pillow"] = f"Pillow {pillow} draft"
    binaries = snapshot()
    print(f"bench: {CORES} cores, {rounds} rounds, Pillow {pillow}, intake built {binaries[0]['mtime']}, "
          f"intaked built {binaries[1]['mtime']}\n", flush=True)

    results = {}
    for subset in subsets:
        r = bench_subset(subset, rounds)
        r["rounds"] = rounds
        r["medians"] = medians(r["samples"])
        r["checks"] = goal_checks(subset, r["medians"])
        r["notes"] = notes(subset, r["samples"])
        r["intake_stages"] = intake_stages(subset_files(subset))
        results[subset] = r
        print_subset(subset, r)
    print_summary(results)

    if [binary_stamp(p) for p in (INTAKE, INTAKED)] != binaries:
        print("bench: note: intake or intaked was rebuilt during the run (its CPU load may have disturbed "
              "wall-clock figures); all figures are of the copies taken at the start")
    report = {"cores": CORES, "rounds": rounds, "pillow": pillow, "binaries": binaries,
              "contenders": NAMES, "subsets": results}
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(f"\nbench: results in {os.path.join(OUT, 'results.json')}")


if __name__ == "__main__":
    main()
