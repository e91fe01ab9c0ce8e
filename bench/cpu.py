#!/usr/bin/env python3
"""Measure a command's CPU per image.

    python3 bench/cpu.py --images N --label NAME -- CMD ARGS...

Runs CMD (stdout to /dev/null, stderr passes through, in the current folder) and prints
    NAME: images=N cpu_ms_per_image=X.XXX wall_s=Y.YY peak_rss_mb=Z.Z
CPU from os.wait4's rusage, peak RSS from GNU time (see benchlib.measure). On
Linux that rusage includes the child's own waited-for descendants, so wrappers
(sh, xargs) are counted too.
Exit code 2 from CMD means "some files refused" and is accepted.
"""
import argparse
import sys

from benchlib import measure


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd or a.images <= 0:
        ap.error("need --images N > 0 and a command after --")

    run = measure(cmd, cwd=None)
    print(f"{a.label}: images={a.images} cpu_ms_per_image={run.cpu_s * 1000 / a.images:.3f} "
          f"wall_s={run.wall_s:.2f} peak_rss_mb={run.peak_kb / 1024:.1f}", flush=True)
    if run.code not in (0, 2):
        print(f"{a.label}: command failed (exit {run.code})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
