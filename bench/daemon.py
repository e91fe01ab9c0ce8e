#!/usr/bin/env python3
"""bench/daemon.py: intaked on its own, and the burst measurement bench/compare.py uses.

Called by `make bench` after bench/compare.py (which measures the daemon end to end on every
subset, beside the other contenders, with burst() below). Prints, for the corpus's camera JPEGs:
  idle     small photos dropped one at a time: drop-to-commit p50/p99 (the daemon's reaction
           time, inotify to commit);
  rss      N files streamed through (default 10,000): resident memory after each tenth.

CPU is read from /proc/<pid>/stat (user + system), memory from /proc/<pid>/status. Drop-to-
commit is the job row's updated_at (set when its batch commits) minus the moment the file was
renamed into the inbox. Env: INTAKE_CORPUS, BENCH_RSS_FILES (default 10000; 0 skips), INTAKED_BIN.
"""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from benchlib import CORPUS, INTAKED, OUT, corpus_photos

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def memory_kb(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def commit_millis(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp() * 1000


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


class Daemon:
    """A release intaked on a fresh state root under bench/out."""

    def __init__(self, workers, binary=INTAKED):
        self.folder = tempfile.mkdtemp(prefix="daemon.", dir=OUT)
        self.root = os.path.join(self.folder, "state")
        self.staging = os.path.join(self.folder, "staging")
        os.makedirs(self.staging)
        config = os.path.join(self.folder, "intake.toml")
        with open(config, "w") as f:
            f.write(f'[daemon]\nroot = "{self.root}"\nworkers = {workers}\nlog_level = "warning"\nmetrics_interval_seconds = 1\n')
        self.log = open(os.path.join(self.folder, "intaked.log"), "w")
        self.process = subprocess.Popen([binary, "--config", config], stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while not os.path.exists(os.path.join(self.root, "intake.db")) or not os.path.isdir(os.path.join(self.root, "inbox", "prod")):
            if time.time() > deadline or self.process.poll() is not None:
                sys.exit("bench: intaked did not start; see " + self.log.name)
            time.sleep(0.02)
        time.sleep(0.3)  # past the start-up scan
        self.db = sqlite3.connect(f"file:{os.path.join(self.root, 'intake.db')}?mode=ro", uri=True)

    def stage(self, files, prefix):
        """Copies files into staging (outside any measurement), under unique names."""
        staged = []
        for n, path in enumerate(files):
            name = f"{prefix}{n}-{os.path.basename(path)}"
            shutil.copyfile(path, os.path.join(self.staging, name))
            staged.append(name)
        return staged

    def drop(self, name):
        """Renames a staged file into inbox/prod; returns the drop time in Unix milliseconds."""
        os.rename(os.path.join(self.staging, name), os.path.join(self.root, "inbox", "prod", name))
        return time.time() * 1000

    def final_count(self):
        return self.db.execute("SELECT count(*) FROM jobs WHERE status IN ('done','failed')").fetchone()[0]

    def wait_final(self, count, timeout=600):
        deadline = time.time() + timeout
        while self.final_count() < count:
            if time.time() > deadline:
                sys.exit(f"bench: only {self.final_count()} of {count} jobs final after {timeout} s")
            time.sleep(0.005)

    def latencies(self, drops):
        rows = self.db.execute("SELECT name, updated_at FROM jobs").fetchall()
        return [commit_millis(updated) - drops[name] for name, updated in rows if name in drops]

    def commit_batch_size(self):
        """Mean jobs per durable commit, from the daemon's own metrics (written every second)."""
        time.sleep(1.5)
        totals = {}
        for line in open(os.path.join(self.root, "metrics.prom")):
            for key in ("intake_commit_batch_jobs_sum", "intake_commit_batch_jobs_count"):
                if line.startswith(key + " "):
                    totals[key] = float(line.split()[1])
        count = totals.get("intake_commit_batch_jobs_count", 0)
        return totals.get("intake_commit_batch_jobs_sum", 0) / count if count else 0

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=60)
        self.db.close()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class Burst:
    images: int
    failed: int
    cpu_s: float       # the daemon's user + system from the first drop to the last commit
    wall_s: float      # first drop to last job final
    peak_kb: int       # VmHWM: the daemon's peak resident set over its life
    p50_ms: float      # drop to commit
    p99_ms: float
    jobs_per_commit: float


def burst(files, workers, binary=INTAKED):
    """A fresh daemon; files staged outside the timing, then all renamed into inbox/prod at once."""
    daemon = Daemon(workers, binary)
    try:  # stopped even when the wait times out, so no daemon outlives the bench
        staged = daemon.stage(files, "b")
        cpu_before = cpu_seconds(daemon.process.pid)
        start = time.time()
        drops = {name: daemon.drop(name) for name in staged}
        daemon.wait_final(len(staged))
        wall = time.time() - start
        cpu = cpu_seconds(daemon.process.pid) - cpu_before
        latency = daemon.latencies(drops)
        peak = memory_kb(daemon.process.pid, "VmHWM")
        batch = daemon.commit_batch_size()
        failed = daemon.db.execute("SELECT count(*) FROM jobs WHERE status = 'failed'").fetchone()[0]
    finally:
        daemon.stop()
    return Burst(len(staged), failed, cpu, wall, peak, percentile(latency, 50), percentile(latency, 99), batch)


def idle(files, count=100, gap=0.1):
    daemon = Daemon(workers=os.cpu_count())
    small = sorted(files, key=os.path.getsize)[:20]
    staged = daemon.stage((small * (count // len(small) + 1))[:count], "i")
    drops = {}
    for name in staged:
        drops[name] = daemon.drop(name)
        time.sleep(gap)
    daemon.wait_final(len(staged))
    latency = daemon.latencies(drops)
    daemon.stop()
    print(f"idle     intaked: images={count} one every {gap * 1000:.0f} ms: drop-to-commit p50_ms={percentile(latency, 50):.1f} "
          f"p99_ms={percentile(latency, 99):.1f} max_ms={max(latency):.1f} (goal: p99 < 100)")


def rss_over(files, total, chunk=500):
    daemon = Daemon(workers=os.cpu_count())
    small = sorted(files, key=os.path.getsize)[:40]
    samples = []
    done = 0
    while done < total:
        batch = min(chunk, total - done)
        staged = daemon.stage([small[(done + i) % len(small)] for i in range(batch)], f"r{done}-")
        for name in staged:
            daemon.drop(name)
        done += batch
        daemon.wait_final(done)
        samples.append((done, memory_kb(daemon.process.pid, "VmRSS")))
    daemon.stop()
    tenth = max(1, len(samples) // 10)
    shown = samples[tenth - 1::tenth]
    print("rss      intaked: " + " ".join(f"{n}:{kb / 1024:.1f}MB" for n, kb in shown))
    first, last = shown[0][1], shown[-1][1]
    print(f"rss      after {shown[-1][0]} files / after {shown[0][0]} = {last / first:.2f} (flat is 1.00)")


def main():
    if not os.path.isdir(CORPUS):
        print(f"bench: corpus not found at {CORPUS} (set INTAKE_CORPUS); skipping the daemon bench.")
        return
    if not os.access(INTAKED, os.X_OK):
        sys.exit(f"bench: {INTAKED} not built (make release)")
    os.makedirs(OUT, exist_ok=True)
    files = corpus_photos()
    idle(files)
    total = int(os.environ.get("BENCH_RSS_FILES", "10000"))
    if total > 0:
        rss_over(files, total)


if __name__ == "__main__":
    main()
