#!/usr/bin/env python3
"""bench/store.py: intaked recording in PostgreSQL against recording in its SQLite file.

Called by `make bench`. A throw-away PostgreSQL cluster (initdb and pg_ctl from Debian's
postgresql, on a private Unix socket, fsync on: durability is what is being paid for) and the
same burst of small corpus photos renamed into inbox/prod at once, through a release intaked on
SQLite and on PostgreSQL, alternating (SQLite, PostgreSQL, SQLite, PostgreSQL) so that a noisy
machine hurts both alike. Prints images/s, the daemon's CPU per image (user + system from
/proc/<pid>/stat, the first drop to the last job final), the server's CPU per image, and the
ratio PostgreSQL / SQLite of the daemon's CPU per image against the goal (<= 1.15). Then two
daemons sharing one inbox (polled, each file claimed by a row in PostgreSQL), a core each,
against one daemon on both: images/s (goal >= 0.9: no time lost to claims).

Env: INTAKE_CORPUS, INTAKED_BIN, BENCH_STORE_FILES (default 400; 0 skips), BENCH_STORE_ROUNDS (4).
"""
import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

from benchlib import CORPUS, INTAKED, OUT, corpus_photos

TICK = os.sysconf("SC_CLK_TCK")
# Rounds of the three kinds alternating: the machine's noise (2x between minutes here) is met by
# medians over several, not by one run each.
ROUNDS = int(os.environ.get("BENCH_STORE_ROUNDS", "4"))


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def tree_cpu_seconds(pid):
    """The postmaster and every backend it started (their cpu, children's included once reaped)."""
    total = 0.0
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = open(stat).read()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid or int(stat.split("/")[2]) == pid:  # ppid or itself
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / TICK
    return total


class Cluster:
    """initdb + pg_ctl in a temporary folder; as root, run as the postgres user."""

    def __init__(self):
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
        self.bin = os.path.dirname(versions[0]) if versions else None
        if not self.bin:
            return
        self.folder = tempfile.mkdtemp(prefix="pg.", dir=OUT)
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        self.run("initdb", "-D", self.data, "-U", "intake", "-A", "trust", "-E", "UTF8", "--no-instructions")
        self.run("pg_ctl", "-D", self.data, "-l", os.path.join(self.folder, "log"), "-w", "-o",
                 f"-k {self.folder} -c listen_addresses='' -p 5432", "start")
        self.run("createdb", "-h", self.folder, "-U", "intake", "intake")
        self.url = f"postgresql://intake@/intake?host={self.folder}&port=5432"
        self.pid = int(open(os.path.join(self.data, "postmaster.pid")).readline())

    @property
    def data(self):
        return os.path.join(self.folder, "data")

    def run(self, program, *arguments):
        command = [os.path.join(self.bin, program), *arguments]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def sql(self, text):
        return subprocess.run(["psql", "-tA", "-h", self.folder, "-U", "intake", "-d", "intake", "-c", text],
                              check=True, capture_output=True, text=True).stdout.strip()

    def reset(self):
        self.sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")

    def stop(self):
        self.run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def burst(files, cluster, store, daemons=1):
    """Fresh daemons on `store` ("sqlite" or "postgresql"), `daemons` of them sharing one inbox
    (polled, claims in PostgreSQL) with the cores split between them; returns (images/s, the
    daemons' cpu ms/image, server cpu ms/image)."""
    folder = tempfile.mkdtemp(prefix="store.", dir=OUT)
    root = os.path.join(folder, "state")
    staging = os.path.join(folder, "staging")
    os.makedirs(staging)
    if store == "postgresql":
        cluster.reset()
    configs = []
    for index in range(daemons):
        config = os.path.join(folder, f"intake-{index}.toml")
        workers = max(1, os.cpu_count() // daemons)
        with open(config, "w") as f:
            f.write(f'[daemon]\nroot = "{root}"\nworkers = {workers}\nlog_level = "warning"\nmin_free_bytes = 0\n')
            if daemons > 1:
                f.write(f'host = "bench-{index}"\n[watch]\nmode = "poll"\npoll_milliseconds = 200\nsettle_milliseconds = 0\n')
            if store == "postgresql":
                f.write(f'[store]\nurl = "{cluster.url}"\n')
        configs.append(config)
    for n, path in enumerate(files):
        shutil.copyfile(path, os.path.join(staging, f"s{n}-{os.path.basename(path)}"))
    log = open(os.path.join(folder, "intaked.log"), "w")
    running = [subprocess.Popen([INTAKED, "--config", config], stdout=log, stderr=log) for config in configs]
    try:
        deadline = time.time() + 30
        while not os.path.isdir(os.path.join(root, "inbox", "prod")):
            if time.time() > deadline or any(daemon.poll() is not None for daemon in running):
                sys.exit("bench: intaked did not start; see " + log.name)
            time.sleep(0.02)
        time.sleep(0.5)
        if store == "sqlite":
            import sqlite3
            db = sqlite3.connect(f"file:{os.path.join(root, 'intake.db')}?mode=ro", uri=True)
            final = lambda: db.execute("SELECT count(*) FROM jobs WHERE status IN ('done','failed')").fetchone()[0]
        else:
            final = lambda: int(cluster.sql("SELECT count(*) FROM jobs WHERE status IN ('done','failed')") or 0)
        daemon_before = sum(cpu_seconds(daemon.pid) for daemon in running)
        server_before = tree_cpu_seconds(cluster.pid) if cluster.bin else 0
        start = time.time()
        for name in os.listdir(staging):
            os.rename(os.path.join(staging, name), os.path.join(root, "inbox", "prod", name))
        # Polled through files first (cheap), the store only near the end: the poller's own load
        # on the server would otherwise be counted.
        while len(os.listdir(os.path.join(root, "inbox", "prod"))) > 0 or final() < len(files):
            if time.time() - start > 600:
                sys.exit(f"bench: {store}: jobs not final after 600 s")
            time.sleep(0.05)
        wall = time.time() - start
        daemon_cpu = sum(cpu_seconds(daemon.pid) for daemon in running) - daemon_before
        server_cpu = (tree_cpu_seconds(cluster.pid) - server_before) if cluster.bin and store == "postgresql" else 0
    finally:
        for daemon in running:
            daemon.terminate()
        for daemon in running:
            daemon.wait(timeout=60)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
    n = len(files)
    return n / wall, daemon_cpu * 1000 / n, server_cpu * 1000 / n


def main():
    count = int(os.environ.get("BENCH_STORE_FILES", "400"))
    if count == 0:
        return
    if not os.path.isdir(CORPUS):
        print(f"bench: corpus not found at {CORPUS} (set INTAKE_CORPUS); skipping the store bench.")
        return
    os.makedirs(OUT, exist_ok=True)
    cluster = Cluster()
    if not cluster.bin:
        print("store    skipped: no PostgreSQL server binaries (Debian's postgresql)")
        return
    small = sorted(corpus_photos(), key=os.path.getsize)[:100]
    files = [small[i % len(small)] for i in range(count)]
    results = {"sqlite": [], "postgresql": [], "shared": []}
    try:
        # Alternating, so that a noisy machine hurts every kind alike.
        for kind in ("sqlite", "postgresql", "shared") * ROUNDS:
            results[kind].append(burst(files, cluster, "postgresql" if kind == "shared" else kind, daemons=2 if kind == "shared" else 1))
    finally:
        cluster.stop()
    names = {"sqlite": "sqlite", "postgresql": "postgresql", "shared": "2 daemons, one inbox, postgresql"}
    for kind, runs in results.items():
        print(f"store    {names[kind]}: {count} images, " + ", ".join(
            f"{rate:.0f} images/s, daemons {cpu:.2f} ms/image, server {server:.2f} ms/image" for rate, cpu, server in runs))
    median = lambda values: sorted(values)[len(values) // 2]
    ratio = median([r[1] for r in results["postgresql"]]) / median([r[1] for r in results["sqlite"]])
    print(f"store    daemon CPU per image, PostgreSQL / SQLite (medians of {ROUNDS}): {ratio:.2f} (goal <= 1.15: "
          f"{'met' if ratio <= 1.15 else 'missed'})")
    scaling = median([r[0] for r in results["shared"]]) / median([r[0] for r in results["postgresql"]])
    print(f"store    two daemons sharing one inbox (a core each) / one daemon (both cores), images/s, medians of {ROUNDS}: "
          f"{scaling:.2f} (goal >= 0.9: {'met' if scaling >= 0.9 else 'missed'})")


if __name__ == "__main__":
    main()
