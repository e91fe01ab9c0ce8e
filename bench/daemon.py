#!/usr/bin/env python3
"""bench/daemon.py: intaked end to end, beside `intake process` on the same files.

Called by `make bench` after bench/run.sh. Prints, for the corpus's camera JPEGs:
  burst    all files dropped into inbox/prod at once: images/s, daemon CPU ms per image,
           drop-to-commit p50/p99, peak RSS; and `intake process` on the same files, so the
           daemon's own overhead shows as a ratio measured in the same run;
  idle     small photos dropped one at a time: drop-to-commit p50/p99 (the daemon's reaction
           time, inotify to commit);
  rss      N files streamed through (default 10,000): resident memory after each tenth.

CPU is read from /proc/<pid>/stat (user + system), memory from /proc/<pid>/status. Drop-to-
commit is the job row's updated_at (set when its batch commits) minus the moment the file was
renamed into the inbox. Env: INTAKE_CORPUS, BENCH_ROUNDS (default 3), BENCH_BURST_COPIES (copies of the set, default 4),
BENCH_RSS_FILES (default 10000; 0 skips), INTAKED_BIN, INTAKE_BIN.
"""
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
CORPUS = os.path.abspath(os.environ.get("INTAKE_CORPUS", os.path.join(ROOT, "..", "shared", "corpus")))
INTAKED = os.environ.get("INTAKED_BIN", os.path.join(ROOT, ".build", "release", "intaked"))
INTAKE = os.environ.get("INTAKE_BIN", os.path.join(ROOT, ".build", "release", "intake"))
TICK = os.sysconf("SC_CLK_TCK")


def corpus_photos():
    """The camera and phone JPEGs bench/run.sh measures, by magic bytes."""
    files = []
    for folder in ("images/exif-samples/jpg", "images/photoprism-samples/examples"):
        for base, _, names in os.walk(os.path.join(CORPUS, folder)):
            for name in names:
                path = os.path.join(base, name)
                with open(path, "rb") as f:
                    if f.read(3) == b"\xff\xd8\xff":
                        files.append(path)
    return sorted(files)


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

    def __init__(self, workers):
        self.folder = tempfile.mkdtemp(prefix="daemon.", dir=OUT)
        self.root = os.path.join(self.folder, "state")
        self.staging = os.path.join(self.folder, "staging")
        os.makedirs(self.staging)
        config = os.path.join(self.folder, "intake.toml")
        with open(config, "w") as f:
            f.write(f'[daemon]\nroot = "{self.root}"\nworkers = {workers}\nlog_level = "warning"\nmetrics_interval_seconds = 1\n')
        self.log = open(os.path.join(self.folder, "intaked.log"), "w")
        self.process = subprocess.Popen([INTAKED, "--config", config], stdout=self.log, stderr=self.log)
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


def burst(files, rounds, workers):
    daemon = Daemon(workers)
    staged = daemon.stage(files * rounds, "b")
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
    daemon.stop()
    n = len(staged)
    print(f"burst    intaked: images={n} failed={failed} images_per_s={n / wall:.1f} cpu_ms_per_image={cpu * 1000 / n:.3f} "
          f"p50_ms={percentile(latency, 50):.0f} p99_ms={percentile(latency, 99):.0f} peak_rss_mb={peak / 1024:.1f} workers={workers} "
          f"jobs_per_commit={batch:.1f}")
    return cpu * 1000 / n, n


def one_shot(files, rounds):
    out = tempfile.mkdtemp(prefix="process.", dir=OUT)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    status = subprocess.run([INTAKE, "process", "--out", out] + files * rounds, stdout=subprocess.DEVNULL).returncode
    wall = time.time() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    shutil.rmtree(out, ignore_errors=True)
    if status not in (0, 2):
        sys.exit(f"bench: intake process failed with {status}")
    n = len(files) * rounds
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    print(f"burst    intake process: images={n} images_per_s={n / wall:.1f} cpu_ms_per_image={cpu * 1000 / n:.3f} "
          f"peak_rss_mb={after.ru_maxrss / 1024:.1f} (one process, one thread)")
    return cpu * 1000 / n


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
    for binary in (INTAKED, INTAKE):
        if not os.access(binary, os.X_OK):
            sys.exit(f"bench: {binary} not built (make release)")
    os.makedirs(OUT, exist_ok=True)
    files = corpus_photos()
    copies = int(os.environ.get("BENCH_BURST_COPIES", "4"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    # Alternate the contenders, several rounds, and compare medians: the machine is shared.
    one_shot_ms, daemon_ms, single_ms = [], [], []
    for _ in range(rounds):
        one_shot_ms.append(one_shot(files, copies))
        daemon_ms.append(burst(files, copies, os.cpu_count())[0])
        single_ms.append(burst(files, copies, 1)[0])
    base = statistics.median(one_shot_ms)
    print(f"burst    median cpu_ms_per_image: intake process={base:.3f} intaked={statistics.median(daemon_ms):.3f} "
          f"intaked (1 worker)={statistics.median(single_ms):.3f}")
    print(f"burst    daemon CPU per image / intake process = {statistics.median(daemon_ms) / base:.2f} ({os.cpu_count()} workers), "
          f"{statistics.median(single_ms) / base:.2f} (1 worker) (goal <= 1.50)")
    idle(files)
    total = int(os.environ.get("BENCH_RSS_FILES", "10000"))
    if total > 0:
        rss_over(files, total)


if __name__ == "__main__":
    main()
