#!/usr/bin/env python3
"""Writes the APP1 EXIF payloads of the corpus's JPEGs as seeds for the exif fuzz target, and the
TIFF structures inside the first 100 of them as they stand (the TIFF metadata copy's input)."""
import pathlib, sys

source, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
written = 0
for path in sorted(source.rglob("*")):
    if written >= 300 or path.suffix.lower() not in (".jpg", ".jpeg") or path.stat().st_size > 5_000_000:
        continue
    data = path.read_bytes()
    at = 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker, length = data[at + 1], int.from_bytes(data[at + 2:at + 4], "big")
        if marker == 0xE1 and data[at + 4:at + 10] == b"Exif\0\0":
            (target / f"app1-{written}.bin").write_bytes(data[at + 4:at + 2 + length])
            # The same TIFF structure without "Exif\0\0": what TIFFMetadataCopy takes.
            if written < 100:
                (target / f"tiff-{written}.bin").write_bytes(data[at + 10:at + 2 + length])
            written += 1
            break
        if marker == 0xDA:
            break
        at += 2 + length
