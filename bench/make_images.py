#!/usr/bin/env python3
"""bench/make_images.py: builds the bench's image set under bench/out/set/ (run with the bench venv's python).

    small/        symlinks to the corpus's real photos: its camera and phone JPEGs (the folders in
                  benchlib.PHOTO_FOLDERS, by magic bytes) and its real-photo PNGs (PHOTO_PNGS)
    12mp/         SOURCES corpus photos upscaled to 4000x3000, baseline, each with EXIF Orientation 1 and 6
    24mp/         the same at 6000x4000
    progressive/  the same photos, progressive, once at 12 MP and once at 24 MP, Orientation 1 for
                  half of each size and 6 for the other half

The corpus has only a handful of photos above 8 MP, most of them 4:2:2 or oddly compressed, so the
large files are made: the largest landscape camera JPEGs that decode cleanly (MANIFEST.csv is the
oracle), cropped to the aspect and upscaled with LANCZOS. An upscaled photo is much smoother than a
sensor's output and would compress to a third of a camera file's size, making decode look cheaper
than it is; seeded Gaussian grain brings the bytes per pixel to a camera's (a real 24 MP q92 file
is 8-12 MB). Saved at quality 92, 4:2:0, like a camera.

Cached: nothing is rebuilt while bench/out/set/.stamp names this generator version, the Pillow
version and the corpus. Uses Pillow only.
"""
import csv
import os
import random
import shutil
import statistics
import sys

import PIL
from PIL import Image, ImageChops, ImageOps

from benchlib import CORPUS, LARGE, PHOTO_FOLDERS, SET, SUBSETS, corpus_photos, subset_files

GENERATOR = 1          # bump when anything below changes what is built
SOURCES = 8            # corpus photos behind the large subsets: 16 files per subset
SIZES = {"12mp": (4000, 3000), "24mp": (6000, 4000)}
QUALITY = 92
GRAIN_SIGMA = 8        # grey levels; gives 9-10 MB at 24 MP, 4.5-5 MB at 12 MP
GRAIN_TILE = 1024      # the noise is a seeded tile repeated: fast, and JPEG can't see the period

# The corpus's PNGs that are photographs (INVENTORY.md §5): four Kodak photos and a cat (RGBA).
# The rest are test patterns, icons, screenshots and diagrams.
PHOTO_PNGS = (
    "images/image-png-extras/benches/kodim02.png",
    "images/image-png-extras/benches/kodim07.png",
    "images/image-png-extras/benches/kodim17.png",
    "images/image-png-extras/benches/kodim23.png",
    "images/image-png-extras/bugfixes/gama-srgb-order-issue#304.png",
)

EXIF_MAKE, EXIF_MODEL, EXIF_SOFTWARE, EXIF_ORIENTATION = 0x010F, 0x0110, 0x0131, 0x0112


def stamp_text():
    return f"generator {GENERATOR} pillow {PIL.__version__} corpus {CORPUS}\n"


def is_cached():
    try:
        with open(os.path.join(SET, ".stamp")) as f:
            return f.read() == stamp_text()
    except FileNotFoundError:
        return False


def large_sources():
    """The SOURCES largest landscape camera JPEGs (EXIF Make present) that decode cleanly, from MANIFEST.csv."""
    with open(os.path.join(CORPUS, "MANIFEST.csv"), newline="") as f:
        rows = [r for r in csv.DictReader(f)
                if r["type"] == "jpeg" and r["decode"] == "ok" and r["make"]
                and r["path"].startswith(tuple(f + "/" for f in PHOTO_FOLDERS))
                and r["w"] and r["h"] and int(r["w"]) > int(r["h"])]
    rows.sort(key=lambda r: (-int(r["pixels"]), r["path"]))
    picked, seen = [], set()
    for r in rows:
        if r["sha256"] not in seen:
            seen.add(r["sha256"])
            picked.append(os.path.join(CORPUS, r["path"]))
    return picked[:SOURCES]


def link_small(folder):
    """Symlinks, numbered so that equal names from different corpus folders can't collide."""
    files = corpus_photos() + [os.path.join(CORPUS, p) for p in PHOTO_PNGS if os.path.exists(os.path.join(CORPUS, p))]
    for n, path in enumerate(files):
        os.symlink(path, os.path.join(folder, f"{n:03d}-{os.path.basename(path)}"))


def grain(size, seed):
    """A luma noise layer centred on 128: a seeded tile of Gaussian values, repeated over size."""
    dist = statistics.NormalDist(128, GRAIN_SIGMA)
    lut = [max(0, min(255, round(dist.inv_cdf((i + 0.5) / 256)))) for i in range(256)]  # uniform -> Gaussian
    tile = Image.frombytes("L", (GRAIN_TILE, GRAIN_TILE), random.Random(seed).randbytes(GRAIN_TILE ** 2)).point(lut)
    layer = Image.new("L", size)
    for y in range(0, size[1], GRAIN_TILE):
        for x in range(0, size[0], GRAIN_TILE):
            layer.paste(tile, (x, y))
    return Image.merge("RGB", (layer, layer, layer))


def save_large(upscaled, path, seed, orientation, progressive, source_exif):
    """Adds grain and saves like a camera: q92, 4:2:0, an EXIF block with the given Orientation."""
    image = ImageChops.add(upscaled, grain(upscaled.size, seed), offset=-128)  # pixel + (noise - 128)
    exif = Image.Exif()
    for tag in (EXIF_MAKE, EXIF_MODEL):
        if tag in source_exif:
            exif[tag] = source_exif[tag]
    exif[EXIF_SOFTWARE] = f"intake bench/make_images.py {GENERATOR}"
    exif[EXIF_ORIENTATION] = orientation
    image.save(path, "JPEG", quality=QUALITY, subsampling="4:2:0", progressive=progressive, exif=exif.tobytes())


def make_large(root, sources):
    """12mp/ and 24mp/: every source at orientations 1 and 6; progressive/: each source once per size."""
    for k, source in enumerate(sources):
        with Image.open(source) as opened:
            source_exif = opened.getexif()
            photo = opened.convert("RGB")  # stored pixels: the source's own orientation is not applied
        stem = os.path.splitext(os.path.basename(source))[0]
        for s, (subset, size) in enumerate(SIZES.items()):
            upscaled = ImageOps.fit(photo, size, Image.Resampling.LANCZOS)  # crop to 3:2 or 4:3, then scale
            seed = (k * 10 + s) * 10  # distinct grain for every file made
            for orientation in (1, 6):
                save_large(upscaled, os.path.join(root, subset, f"{k}-{stem}-o{orientation}.jpg"),
                           seed + orientation, orientation, False, source_exif)
            orientation = (1, 6)[(k + s) % 2]  # half of each size 1, half 6
            save_large(upscaled, os.path.join(root, "progressive", f"{k}-{stem}-{subset}-o{orientation}.jpg"),
                       seed + 7, orientation, True, source_exif)
            print(f"make_images: {k + 1}/{len(sources)} {stem} at {size[0]}x{size[1]}", flush=True)


def describe(each_file):
    """Sizes per subset: the proof that the made files weigh what camera files do."""
    for subset in SUBSETS:
        sizes = [os.path.getsize(p) / 1e6 for p in subset_files(subset)]
        print(f"make_images: {subset:<12} {len(sizes):3d} files  {sum(sizes):7.1f} MB  "
              f"min {min(sizes):.2f}  median {statistics.median(sizes):.2f}  max {max(sizes):.2f} MB")
    for subset in LARGE if each_file else ():
        print(f"make_images: {subset}: " + ", ".join(
            f"{os.path.basename(p)} {os.path.getsize(p) / 1e6:.1f}" for p in subset_files(subset)))


def main():
    if not os.path.isdir(CORPUS):
        sys.exit(f"make_images: corpus not found at {CORPUS} (set INTAKE_CORPUS)")
    cached = is_cached()
    if cached:
        print(f"make_images: image set up to date in {SET}")
    else:
        building = SET + ".building"  # renamed into place when complete: a killed run leaves no half set
        shutil.rmtree(building, ignore_errors=True)
        for subset in SUBSETS:
            os.makedirs(os.path.join(building, subset))
        link_small(os.path.join(building, "small"))
        sources = large_sources()
        print(f"make_images: large files from {len(sources)} corpus photos: "
              + ", ".join(os.path.relpath(p, CORPUS) for p in sources), flush=True)
        make_large(building, sources)
        with open(os.path.join(building, ".stamp"), "w") as f:
            f.write(stamp_text())
        shutil.rmtree(SET, ignore_errors=True)
        os.rename(building, SET)
    describe(each_file=not cached)


if __name__ == "__main__":
    main()
