#!/usr/bin/env python3
"""bench/web.py: intake serve, measured against what it replaces and what it promises.

Called by `make bench` after bench/daemon.py. Prints, on the corpus's camera JPEGs:
  upload   MB/s of the same files uploaded to `intake serve` (one connection, one file after
           another, each answered 202 only once synced and renamed into the inbox) against
           copying them into the inbox with Python (a plain copy, and a copy synced as the upload
           is), measured alternately in the same run; intaked is not running, so nothing else
           competes for the disk or the CPU;
  requests requests per second of GET /v1/jobs/ID over 4 keep-alive connections for 5 s (the
           client is Python: the figure is a floor for the server, not its ceiling);
  result   p50/p99 from the end of an upload (its 202) to its COMPLETED event on /v1/events, one
           small photo every 100 ms with intaked running (at idle);
  rss      intake serve's resident memory after all of the above, its peak (VmHWM), and how
           much of it is its own (RssAnon) rather than pages of the executable.

Env: INTAKE_CORPUS, INTAKE_BIN, INTAKED_BIN, BENCH_WEB_MB (bytes uploaded per throughput round,
default 200).
"""
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import CORPUS, INTAKE, INTAKED, OUT, corpus_photos
from daemon import memory_kb, percentile


class Serve:
    """A release `intake serve` on a state root of its own (or intaked's), on a port the kernel picks."""

    def __init__(self, folder, root):
        self.config = os.path.join(folder, "serve.toml")
        with open(self.config, "w") as f:
            f.write(f'[daemon]\nroot = "{root}"\nlog_level = "warning"\n[web]\nmax_bytes = 104857600\n')
        self.out = open(os.path.join(folder, "serve.out"), "w+")
        self.process = subprocess.Popen([INTAKE, "serve", "--config", self.config, "--listen", "127.0.0.1:0"],
                                        stdout=self.out, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        self.port = None
        while self.port is None:
            if time.time() > deadline or self.process.poll() is not None:
                sys.exit("bench: intake serve did not start; see " + self.out.name)
            self.out.seek(0)
            for line in self.out.read().splitlines():
                if "listening on http://" in line:
                    self.port = int(line.rsplit(":", 1)[1])
            time.sleep(0.02)

    def connection(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.out.close()


def upload(connection, path, data, name):
    connection.request("POST", f"/v1/inbox/prod?name={name}", body=data, headers={"Content-Length": str(len(data))})
    response = connection.getresponse()
    body = response.read()
    if response.status != 202:
        sys.exit(f"bench: upload of {path} answered {response.status}: {body[:200]!r}")
    return json.loads(body)["jobId"]


def throughput(files, total_mb):
    """Upload against copy, alternately, on one state root with no daemon; MB/s of each."""
    folder = tempfile.mkdtemp(prefix="web.", dir=OUT)
    root = os.path.join(folder, "state")
    inbox = os.path.join(root, "inbox", "prod")
    os.makedirs(inbox)
    serve = Serve(folder, root)
    chosen, size = [], 0
    while size < total_mb * 1e6:
        for path in files:
            chosen.append(path)
            size += os.path.getsize(path)
            if size >= total_mb * 1e6:
                break
    for path in set(chosen):  # in the page cache for every contender alike
        open(path, "rb").read()

    def clear():
        for name in os.listdir(inbox):
            os.unlink(os.path.join(inbox, name))

    def by_upload():
        connection = serve.connection()
        for n, path in enumerate(chosen):
            with open(path, "rb") as f:
                upload(connection, path, f.read(), f"u{n}.jpg")
        connection.close()

    def by_copy(synced):
        for n, path in enumerate(chosen):
            target = os.path.join(inbox, f"c{n}.jpg")
            if not synced:
                shutil.copyfile(path, target)
                continue
            temporary = os.path.join(root, "inbox", f".c{n}.part")
            with open(path, "rb") as source, open(temporary, "wb") as out:
                out.write(source.read())
                out.flush()
                os.fsync(out.fileno())
            os.rename(temporary, target)
            directory = os.open(inbox, os.O_RDONLY)
            os.fsync(directory)
            os.close(directory)

    rounds = {"upload": [], "copy": [], "synced copy": []}
    try:
        for _ in range(3):
            for label, work in (("copy", lambda: by_copy(False)), ("upload", by_upload), ("synced copy", lambda: by_copy(True))):
                clear()
                start = time.perf_counter()
                work()
                rounds[label].append(size / 1e6 / (time.perf_counter() - start))
        clear()
    finally:
        serve.stop()
        shutil.rmtree(folder, ignore_errors=True)
    best = {label: max(values) for label, values in rounds.items()}
    print(f"upload   intake serve: {len(chosen)} files, {size / 1e6:.0f} MB, best of 3 alternating rounds: upload {best['upload']:.0f} MB/s, "
          f"copy {best['copy']:.0f} MB/s, synced copy {best['synced copy']:.0f} MB/s; upload/copy = {best['upload'] / best['copy']:.2f}, "
          f"upload/synced copy = {best['upload'] / best['synced copy']:.2f} (goal: upload >= 0.8x the copy)")


def requests_per_second(serve, job, seconds=5.0, connections=4):
    counts = [0] * connections
    stop = time.perf_counter() + seconds

    def client(index):
        connection = serve.connection()
        while time.perf_counter() < stop:
            connection.request("GET", f"/v1/jobs/{job}")
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                sys.exit(f"bench: GET /v1/jobs/{job} answered {response.status}")
            counts[index] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"requests intake serve: GET /v1/jobs/ID over {connections} keep-alive connections: {sum(counts) / seconds:.0f} requests/s "
          f"(a Python client: a floor for the server)")


class Events:
    """Reads /v1/events on its own thread; remembers when each job's event arrived."""

    def __init__(self, serve):
        self.arrived = {}
        self.lock = threading.Lock()
        self.connection = serve.connection()
        self.connection.request("GET", "/v1/events")
        self.response = self.connection.getresponse()
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        job = None
        while True:
            line = self.response.fp.readline()
            if not line:
                return
            line = line.decode().rstrip("\r\n")
            if line.startswith("id: "):
                job = line[4:]
            elif line.startswith("data: ") and job:
                status = json.loads(line[6:]).get("status")
                with self.lock:
                    self.arrived[job] = (time.perf_counter(), status)

    def wait(self, job, timeout=30):
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self.lock:
                if job in self.arrived:
                    return self.arrived[job]
            time.sleep(0.0005)
        sys.exit(f"bench: no event for job {job} within {timeout} s")


def results(files, count=100, gap=0.1):
    """intaked and intake serve on one root: upload-to-event latency at idle, then requests/s and RSS."""
    from daemon import Daemon

    daemon = Daemon(workers=os.cpu_count())
    serve = Serve(daemon.folder, daemon.root)
    try:
        events = Events(serve)
        time.sleep(0.2)
        small = sorted(files, key=os.path.getsize)[:20]
        connection = serve.connection()
        latencies, job = [], None
        for n in range(count):
            path = small[n % len(small)]
            with open(path, "rb") as f:
                data = f.read()
            job = upload(connection, path, data, f"r{n}.jpg")
            answered = time.perf_counter()
            arrived, status = events.wait(job)
            if status != "COMPLETED":
                sys.exit(f"bench: {path} ended {status}")
            latencies.append((arrived - answered) * 1000)
            time.sleep(gap)
        connection.close()
        print(f"result   intake serve + intaked: {count} small photos, one every {gap * 1000:.0f} ms: upload answered to COMPLETED event "
              f"p50_ms={percentile(latencies, 50):.1f} p99_ms={percentile(latencies, 99):.1f} (goal: p99 < 50)")
        requests_per_second(serve, job)
        rss = memory_kb(serve.process.pid, "VmRSS") / 1024
        peak = memory_kb(serve.process.pid, "VmHWM") / 1024
        private = memory_kb(serve.process.pid, "RssAnon") / 1024
        print(f"rss      intake serve: {rss:.1f} MB now, {peak:.1f} MB peak (goal: < 40), of which {private:.1f} MB its own (RssAnon); "
              f"the rest is clean pages of the intake executable, shared with the page cache")
    finally:
        serve.stop()
        daemon.stop()


def main():
    if not os.path.isdir(CORPUS):
        print(f"bench: corpus not found at {CORPUS} (set INTAKE_CORPUS); skipping the web bench.")
        return
    for binary in (INTAKE, INTAKED):
        if not os.access(binary, os.X_OK):
            sys.exit(f"bench: {binary} not built (make release)")
    os.makedirs(OUT, exist_ok=True)
    files = corpus_photos()
    throughput(sorted(files, key=os.path.getsize, reverse=True)[:60], int(os.environ.get("BENCH_WEB_MB", "200")))
    results(files)


if __name__ == "__main__":
    main()
