#!/usr/bin/env python3
"""bench/pillow_pipeline.py: the Pillow contender — the per-image work of the cloud design, done well.

    bench/out/venv/bin/python bench/pillow_pipeline.py [-o DIR] FILE...

For each file: open; for a JPEG, draft() so libjpeg shrinks on load by the largest DCT scale that
still covers the fit size (what intake and the floor do; thumbnail() would draft to twice the size,
and only on an image not yet loaded, which exif_transpose does); exif_transpose; alpha or a
transparent palette composited on white; thumbnail into 256x256 (default resample: bicubic after an
integer reduce); pasted centred on a white 256x256 canvas; saved as JPEG quality 90, 4:2:0; then
rotate(90), rotate(180) and rotate(270) of the canvas, each saved the same way.

Outputs go to memory, or with -o DIR to files (temporary name, then rename, one syncfs at the end,
as bench/floor.c -o does). Prints nothing per image; a file Pillow can't open or decode is counted
and skipped. One summary line goes to stderr: pillow: files=N ok=K skipped=S.
"""
import argparse
import ctypes
import io
import os
import sys

from PIL import Image, ImageFile, ImageOps

BOX = 256
QUALITY = 90

# intake and the floor decode truncated JPEGs with a warning; so does this contender.
ImageFile.LOAD_TRUNCATED_IMAGES = True


def fit(width, height):
    """The size that fits width x height inside BOX x BOX without enlarging (same in either orientation)."""
    scale = min(1.0, BOX / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def on_white(image):
    """RGB, with any transparency composited on white rather than dropped."""
    if (image.mode == "P" and "transparency" in image.info) or image.mode in ("LA", "PA"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        canvas = Image.new("RGB", image.size, "white")
        canvas.paste(image, mask=image.getchannel("A"))
        return canvas
    return image if image.mode == "RGB" else image.convert("RGB")


def derive(path):
    """The 256x256 derivative, upright, centred on white."""
    with Image.open(path) as image:
        if image.format == "JPEG":
            image.draft("RGB", fit(*image.size))  # picks a scale whose size is >= the one asked for
        upright = ImageOps.exif_transpose(image)  # loads (with the draft applied)
    upright = on_white(upright)
    upright.thumbnail((BOX, BOX))
    canvas = Image.new("RGB", (BOX, BOX), "white")
    canvas.paste(upright, ((BOX - upright.width) // 2, (BOX - upright.height) // 2))
    return canvas


def encode(image):
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=QUALITY, subsampling="4:2:0")
    return buffer.getvalue()


def write_output(folder, index, number, data):
    final = os.path.join(folder, f"{index}-{number}.jpg")
    temporary = os.path.join(folder, f".tmp-{index}-{number}")
    with open(temporary, "wb") as f:
        f.write(data)
    os.rename(temporary, final)


def syncfs(folder):
    """Makes the outputs durable in one call, like intake's commit; Python's os has no syncfs."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if ctypes.CDLL(None, use_errno=True).syncfs(fd) != 0:
            raise OSError(ctypes.get_errno(), "syncfs failed")
    finally:
        os.close(fd)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", dest="out", help="write the four JPEGs of each file to this folder")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    ok = skipped = 0
    for index, path in enumerate(args.files):
        try:
            canvas = derive(path)
        except Exception:  # not an image, corrupt, a decompression bomb: counted, not fatal
            skipped += 1
            continue
        rotations = (canvas, canvas.rotate(90), canvas.rotate(180), canvas.rotate(270))
        for number, image in enumerate(rotations):
            data = encode(image)
            if args.out:
                write_output(args.out, index, number, data)
        ok += 1
    if args.out:
        syncfs(args.out)
    print(f"pillow: files={len(args.files)} ok={ok} skipped={skipped}", file=sys.stderr)


if __name__ == "__main__":
    main()
