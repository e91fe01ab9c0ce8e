#!/usr/bin/env python3
"""bench/exif_unseen.py: intake's EXIF against ExifTool's on the corpus JPEGs no one tuned on.

ExifToolAgreementTests compares the corpus's camera JPEGs (MANIFEST rows with a make), the files
the maker-note rules were written by looking at. This compares the others: JPEGs with no make in
MANIFEST where ExifTool still finds camera data (make, model, date taken, ISO or GPS), field by
field as the test does (make, model, date taken to the second, orientation, ISO, GPS to 4
decimals), and lists every difference. Needs a release `intake` (INTAKE_BIN) and exiftool.
Run: python3 bench/exif_unseen.py
"""
import csv
import json
import os
import subprocess

from benchlib import CORPUS, INTAKE

FIELDS = ["Make", "Model", "DateTimeOriginal", "Orientation", "ISO", "GPSLatitude", "GPSLongitude"]


def text(value):
    return None if value is None else str(value).strip()


def number(value):
    return value if isinstance(value, (int, float)) else None


def pairs(tool, facts):
    exif = facts.get("exif") or {}
    # The orientation intake applied, wherever it came from, as ExifTool reports either.
    orientation = facts.get("orientation") if facts.get("orientation_source") else exif.get("orientation")
    lat, lon = number(tool.get("GPSLatitude")), number(tool.get("GPSLongitude"))
    return [
        ("make", text(tool.get("Make")), text(exif.get("make"))),
        ("model", text(tool.get("Model")), text(exif.get("model"))),
        ("date taken", text(tool.get("DateTimeOriginal"))[:19] if tool.get("DateTimeOriginal") else None,
         text(exif.get("date_taken"))[:19] if exif.get("date_taken") else None),
        ("orientation", str(int(tool["Orientation"])) if number(tool.get("Orientation")) is not None else None,
         str(orientation) if orientation else None),
        ("ISO", str(int(round(tool["ISO"]))) if number(tool.get("ISO")) is not None else None, text(exif.get("iso"))),
        ("GPS", "%.4f %.4f" % (lat, lon) if lat is not None and lon is not None else None,
         "%.4f %.4f" % (exif["latitude"], exif["longitude"]) if exif.get("latitude") is not None and exif.get("longitude") is not None else None),
    ]


def main():
    with open(os.path.join(CORPUS, "MANIFEST.csv"), newline="") as f:
        files = [row["path"] for row in csv.DictReader(f) if row["type"] == "jpeg" and not row["make"]]
    paths = [os.path.join(CORPUS, p) for p in files]
    tool = json.loads(subprocess.run(["exiftool", "-json", "-n"] + ["-" + f for f in FIELDS] + paths,
                                     capture_output=True, text=True).stdout or "[]")
    by_path = {os.path.relpath(t["SourceFile"], CORPUS): t for t in tool}
    agree = total = compared = 0
    differences = []
    for path in files:
        found = by_path.get(path, {})
        if not any(k in found for k in ["Make", "Model", "DateTimeOriginal", "ISO", "GPSLatitude"]):
            continue
        out = subprocess.run([INTAKE, "process", "--json", os.path.join(CORPUS, path)], capture_output=True, text=True).stdout
        if not out:
            continue
        facts = json.loads(out.splitlines()[0])
        if facts.get("status") != "ok":
            continue
        compared += 1
        for field, theirs, ours in pairs(found, facts):
            if theirs is None and ours is None:
                continue
            total += 1
            if theirs == ours:
                agree += 1
            else:
                differences.append(f"  {field} of {os.path.basename(path)}: ExifTool {theirs}, intake {ours}")
    print(f"EXIF agreement with ExifTool on {compared} corpus JPEGs with no make in MANIFEST: "
          f"{agree}/{total} = {100 * agree / max(total, 1):.1f}%")
    print("\n".join(differences))


if __name__ == "__main__":
    main()
