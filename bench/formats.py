#!/usr/bin/env python3
"""bench/formats.py: what each format costs intake to decode, per megapixel.

    bench/out/venv/bin/python bench/formats.py      (make bench runs it)

The same photos in every format: the bench set's 12 MP JPEGs (make_images.py; eight different
photos) are shrunk to
2000x1500 and saved by Pillow as PNG, WebP (quality 90), TIFF (LZW), GIF (256 colours), BMP and,
when Pillow has it, AVIF. HEIC has no writer here: the corpus's phone HEICs (real 12-16 MP
photos) stand in, said as such. Each format's files go through `intake process --json` in one
process; the table gives

    decode ms/MP    the decode stage's time per megapixel (from stages_ms; one thread's wall time)
    job cpu ms/MP   the whole command's CPU per megapixel (rusage, every thread: libheif decodes
                    tiles on several)
    ×PNG            decode ms/MP against PNG's in this run (the machines are noisy: only ratios
                    within one run are compared)

JPEG is decoded as the pipeline does it, scaled by the DCT to what the derivative needs, so
its figure is what intake pays, not a full decode.
"""
import glob
import json
import os
import subprocess
import sys

from PIL import Image, features

from benchlib import CORPUS, INTAKE, OUT, SET, measure

SIZE = (2000, 1500)
PHOTOS = 8
FOLDER = os.path.join(OUT, "formats")
HEIC_FILES = (
    "images/exif-samples/heic/mobile/iphone_13_pro_max.HEIC",
    "images/exif-samples/heic/mobile/HMD_Nokia_8.3_5G.heif",
    "images/exif-samples/heic/IMG_5195.HEIC",
    "images/photoprism-samples/examples/iphone_7.heic",
)


def build_set():
    # Each photo once: the set holds each with orientation 1 and 6, which re-encoding drops.
    sources = sorted(glob.glob(os.path.join(SET, "12mp", "*-o1.jpg")))[:PHOTOS]
    if not sources:
        sys.exit("formats: no bench set; run make_images.py first (make bench does)")
    savers = {
        "jpeg": lambda im, p: im.save(p + ".jpg", quality=92),
        "png": lambda im, p: im.save(p + ".png"),
        "webp": lambda im, p: im.save(p + ".webp", quality=90),
        "tiff": lambda im, p: im.save(p + ".tiff", compression="tiff_lzw"),
        "gif": lambda im, p: im.quantize(256).save(p + ".gif"),
        "bmp": lambda im, p: im.save(p + ".bmp"),
    }
    if features.check("avif"):
        savers["avif"] = lambda im, p: im.save(p + ".avif", quality=75)
    sets = {}
    for name, save in savers.items():
        folder = os.path.join(FOLDER, name)
        os.makedirs(folder, exist_ok=True)
        if len(os.listdir(folder)) < len(sources):
            for index, source in enumerate(sources):
                with Image.open(source) as im:
                    save(im.convert("RGB").resize(SIZE, Image.LANCZOS), os.path.join(folder, f"photo{index}"))
        sets[name] = sorted(os.path.join(folder, f) for f in os.listdir(folder))
    heics = [os.path.join(CORPUS, f) for f in HEIC_FILES if os.path.exists(os.path.join(CORPUS, f))]
    if heics:
        sets["heic (corpus phones)"] = heics
    return sets


def run(files):
    """Decode ms per MP (stage) and the whole job's CPU ms per MP, over files; None when intake
    refuses them (AVIF where this machine's libheif has no AV1 decoder)."""
    out = subprocess.run([INTAKE, "process", "--json", *files], capture_output=True, text=True)
    decode_ms = megapixels = 0.0
    for line in out.stdout.splitlines():
        job = json.loads(line)
        if job.get("status") != "ok":
            print(f"formats: {os.path.basename(job.get('file', '?'))} refused: {job.get('reason')}; its format is not measured")
            return None
        decode_ms += job["stages_ms"]["decode"]
        megapixels += job["width"] * job["height"] / 1e6
    cpu = measure([INTAKE, "process", *files])
    return decode_ms / megapixels, cpu.cpu_s * 1000 / megapixels, megapixels / len(files)


def main():
    sets = build_set()
    rows = {name: row for name, files in sets.items() if (row := run(files))}
    png = rows["png"][0]
    print(f"{'format':22} {'files':>5} {'MP each':>8} {'decode ms/MP':>13} {'job cpu ms/MP':>14} {'×PNG':>6}")
    for name, (decode, cpu, mp) in rows.items():
        print(f"{name:22} {len(sets[name]):5} {mp:8.1f} {decode:13.2f} {cpu:14.2f} {decode / png:6.2f}")
    if "avif" not in rows:
        print("avif: this Pillow cannot write it; not measured")


if __name__ == "__main__":
    main()
