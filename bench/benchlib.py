"""bench/benchlib.py: what the bench scripts share — paths, the image set, measuring a process.

Imported by make_images.py (inside the bench venv), compare.py, daemon.py and cpu.py (system
python3), so it uses the standard library only.
"""
import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
SET = os.path.join(OUT, "set")  # the image set make_images.py builds, one folder per subset
CORPUS = os.path.abspath(os.environ.get("INTAKE_CORPUS", os.path.join(ROOT, "..", "shared", "corpus")))
INTAKE = os.environ.get("INTAKE_BIN", os.path.join(ROOT, ".build", "release", "intake"))
INTAKED = os.environ.get("INTAKED_BIN", os.path.join(ROOT, ".build", "release", "intaked"))
FLOOR = os.path.join(OUT, "floor")  # built from bench/floor.c by `make bench`
VENV_PYTHON = os.path.join(OUT, "venv", "bin", "python")  # has the pinned Pillow

# Subsets in the order they are printed; make_images.py fills a folder for each.
SUBSETS = ("small", "12mp", "24mp", "progressive")
LARGE = ("12mp", "24mp", "progressive")

# The corpus folders of real camera and phone photos (JPEG), as the first bench used them.
PHOTO_FOLDERS = ("images/exif-samples/jpg", "images/photoprism-samples/examples")


def is_jpeg(path):
    """By magic bytes, never the name: the corpus has JPEGs named .png, .bmp or nothing."""
    with open(path, "rb") as f:
        return f.read(3) == b"\xff\xd8\xff"


def corpus_photos():
    """The corpus's camera and phone JPEGs, sorted."""
    files = []
    for folder in PHOTO_FOLDERS:
        for base, _, names in os.walk(os.path.join(CORPUS, folder)):
            files.extend(p for p in (os.path.join(base, n) for n in names) if is_jpeg(p))
    return sorted(files)


def subset_files(name):
    """The files of one subset of the built image set, sorted (small/ holds symlinks)."""
    folder = os.path.join(SET, name)
    return sorted(os.path.join(folder, n) for n in os.listdir(folder) if not n.startswith("."))


TIME = "/usr/bin/time"  # GNU time (Debian package "time"), for peak RSS; see measure()


@dataclass
class Run:
    cpu_s: float    # user + system of the process and the children it waited for
    wall_s: float
    peak_kb: int    # the command's largest resident set, as GNU time saw it
    code: int       # exit status; negative: killed by that signal


def measure(cmd, cwd=ROOT, stderr=None):
    """Runs cmd to completion (stdout discarded). CPU comes from os.wait4's rusage.

    Peak RSS comes from GNU time, which forks the command from its own small process: a child's
    ru_maxrss also counts the process it was forked from (Linux carries the old memory's high-water
    mark across exec), so straight from Python no figure could come out below Python's own ~15 MB."""
    with tempfile.NamedTemporaryFile("r", prefix="intake-bench-peak.") as peak:
        t0 = time.monotonic()
        proc = subprocess.Popen([TIME, "-q", "-f", "%M", "-o", peak.name, *cmd], cwd=cwd,
                                stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.monotonic() - t0
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        lines = peak.read().split()
    return Run(ru.ru_utime + ru.ru_stime, wall, int(lines[-1]) if lines else 0, code)


def measure_parallel(cmds, cwd=ROOT):
    """Starts every command at once; returns the wall time until the last one ends, and the exit codes."""
    t0 = time.monotonic()
    procs = [subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for cmd in cmds]
    codes = [proc.wait() for proc in procs]
    return time.monotonic() - t0, codes


def shards(files, count):
    """files split into count lists of about equal bytes (largest first, each to the lightest list):
    round-robin over sorted names would put every 24 MP file of progressive/ in one shard."""
    lists = [[] for _ in range(count)]
    weights = [0] * count
    for path in sorted(files, key=os.path.getsize, reverse=True):
        lightest = weights.index(min(weights))
        lists[lightest].append(path)
        weights[lightest] += os.path.getsize(path)
    return [shard for shard in lists if shard]


def median(values):
    return statistics.median(values) if values else float("nan")
