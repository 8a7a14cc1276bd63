"""Accuracy and speed of `probe_many` on ../shared/data, against the expected outputs shipped there.

    PYTHONPATH=src:cli .venv/bin/python benchmarks/bench_metadata.py [--data DIR] [--workers N]

Oracles: metadata-extractor's `<format>/metadata/java/*.txt`, exif-py's `dump.txt`, and
ExifTool's `t/*.out` (those that read an unmodified `t/images` file), plus `exiftool -j -n`
when it is installed. For each field (capture time in UTC, GPS, make, model) it prints the
agreement on files where the oracle has a value, then every disagreement with a category.
It also counts crashes and hangs on fuzzing/ and the invalid files, and files per second.

Capture times are compared as instants when both sides know their zone, and as wall-clock
times when the file gives none (EXIF without OffsetTime): no reader can put those in UTC.
Where an oracle's only time is a modification time (IFD0 DateTime, ModifyDate: when the file
was last changed), it states no capture time; that comparison is printed on its own line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from forensics.inputs import media_files
from forensics.media.metadata.probe import probe_many
from forensics.media.metadata.record import MediaRecord

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
FIELDS = ("captured", "gps", "make", "model")
ROUNDS = 5  # timed turns of probe and exiftool per folder
MODIFIED = "modified"  # the capture field where the oracle's only time is a modification time
_NOT_MEDIA = re.compile(r"(\.txt|\.out|\.rst|\.md)$", re.IGNORECASE)
_TIME = re.compile(r"(\d{4})[:\-](\d\d)[:\-](\d\d)[ T](\d\d):(\d\d)(?::(\d\d))?(?:\.\d+)?\s*(Z|[+\-]\d\d:?\d\d)?")


@dataclass(frozen=True)
class Expected:
    """What one oracle says about one file."""

    oracle: str
    path: Path
    captured: datetime | None = None
    captured_tag: str | None = None
    gps: tuple[float, float, float] | None = None  # latitude, longitude, tolerance in degrees
    make: str | None = None
    model: str | None = None


# ---------------------------------------------------------------------------------------------- oracles


def _time(text: str | None, *, zone: timezone | None = None) -> datetime | None:
    m = _TIME.search(text or "")
    if not m:
        return None
    try:
        value = datetime(*(int(g) for g in m.groups()[:5]), int(m[6] or 0))
    except ValueError:
        return None
    if m[7]:
        tz = m[7].replace(":", "")
        zone = UTC if tz == "Z" else timezone(timedelta(hours=int(tz[:3]), minutes=int(tz[0] + tz[3:5])))
    return value.replace(tzinfo=zone) if zone else value


def _java_time(text: str) -> datetime | None:
    # "Wed Jul 24 18:25:57 +10:00 2019" or "Wed Feb 22 19:20:28 AEDT 2017": the collector's zone.
    m = re.match(r"\w{3} (\w{3}) (\d\d) (\d\d):(\d\d):(\d\d) (\S+) (\d{4})", text)
    if not m:
        return None
    zones = {"AEDT": 11, "AEST": 10, "UTC": 0, "GMT": 0}
    zone_text = m[6]
    hours = zones.get(zone_text)
    if hours is None:
        z = re.match(r"([+\-])(\d\d):?(\d\d)", zone_text)
        if not z:
            return None
        hours = (1 if z[1] == "+" else -1) * (int(z[2]) + int(z[3]) / 60)
    month = datetime.strptime(m[1], "%b").month
    local = datetime(int(m[7]), month, int(m[2]), int(m[3]), int(m[4]), int(m[5]))
    return local.replace(tzinfo=timezone(timedelta(hours=hours))).astimezone(UTC)


def _dms(text: str | None) -> tuple[float, float] | None:
    """Degrees from "51° 45' 44.67"", "54 degrees 59.38 minutes", "53 deg 22' 58.25"", with precision."""
    if not text:
        return None
    nums = re.findall(r"-?\d+(?:\.\d+)?", text)
    if not nums:
        return None
    values = [float(n) for n in nums[:3]] + [0.0] * (3 - min(3, len(nums)))
    last = nums[min(len(nums), 3) - 1]
    decimals = len(last.partition(".")[2])
    unit = (1.0, 60.0, 3600.0)[min(len(nums), 3) - 1]
    degrees = abs(values[0]) + values[1] / 60 + values[2] / 3600
    sign = -1 if re.search(r"\b[SW]\s*$|^-", text.strip()) else 1
    return sign * degrees, 0.5 * 10 ** -decimals / unit + 1e-7


def _pick(tags: dict[str, str], *names: str) -> tuple[str | None, str | None]:
    for name in names:
        if tags.get(name):
            return tags[name], name
    return None, None


def java_expected(data: Path) -> list[Expected]:
    out = []
    for txt in sorted((data / "metadata-extractor-images").glob("*/metadata/java/*.txt")):
        media = txt.parents[2] / txt.name[:-4]
        if not media.exists():
            continue
        tags: dict[str, str] = {}
        for line in txt.read_text(encoding="utf-8", errors="replace").splitlines():
            m = re.match(r"^\[([^\]]+?)(?: - 0x[0-9a-f]+)?\] (.+?) = (.*)$", line)
            if m:
                tags.setdefault(f"{m[1].split(' - ')[0]}:{m[2]}", m[3])
        captured, tag = None, None
        for name in ("Exif SubIFD:Date/Time Original", "QuickTime Metadata:Creation Date",
                     "XMPMeta:exif:DateTimeOriginal", "XMPMeta:photoshop:DateCreated",
                     "Exif SubIFD:Date/Time Digitized", "XMPMeta:xmp:CreateDate", "Exif IFD0:Date/Time",
                     "XMPMeta:xmp:ModifyDate"):
            if tags.get(name):
                offset = tags.get("Exif SubIFD:Time Zone Original") if name.endswith("Original") else None
                captured = _time(tags[name] + (offset or ""))
                if captured is not None:
                    tag = name
                    break
        if captured is None:
            for name in ("QuickTime:Creation Time", "MP4:Creation Time"):
                if tags.get(name):
                    captured, tag = _java_time(tags[name]), name
                    break
        gps = None
        lat, lon = _dms(tags.get("GPS:GPS Latitude")), _dms(tags.get("GPS:GPS Longitude"))
        if lat and lon:
            lat_sign = -1 if tags.get("GPS:GPS Latitude Ref", "").startswith("S") else 1
            lon_sign = -1 if tags.get("GPS:GPS Longitude Ref", "").startswith("W") else 1
            gps = (lat_sign * abs(lat[0]), lon_sign * abs(lon[0]), max(lat[1], lon[1]))
        elif tags.get("QuickTime Metadata:ISO 6709"):
            m = re.match(r"([+\-][\d.]+)([+\-][\d.]+)", tags["QuickTime Metadata:ISO 6709"])
            if m:
                gps = (float(m[1]), float(m[2]), 1e-4)
        elif tags.get("MP4:Latitude") and tags.get("MP4:Longitude"):
            gps = (float(tags["MP4:Latitude"]), float(tags["MP4:Longitude"]), 6e-4)  # printed to 3 decimals
        make, _ = _pick(tags, "Exif IFD0:Make", "QuickTime Metadata:Make", "XMPMeta:tiff:Make")
        model, _ = _pick(tags, "Exif IFD0:Model", "QuickTime Metadata:Model", "XMPMeta:tiff:Model")
        out.append(Expected("metadata-extractor", media, captured, tag, gps, make, model))
    return out


def exifpy_expected(data: Path) -> list[Expected]:
    root = data / "exif-py"
    dump = root / "tests" / "resources" / "dump.txt"
    if not dump.exists():
        return []
    out = []
    blocks = re.split(r"^Opening: ", dump.read_text(encoding="utf-8", errors="replace"), flags=re.MULTILINE)[1:]
    for block in blocks:
        name, _, body = block.partition("\n")
        tags = {}
        for line in body.splitlines():
            m = re.match(r"^(\S+ \S+) \([^)]*\): (.*)$", line)
            if m:
                tags[m[1]] = m[2]
        captured, tag = None, None
        for key, offset_key in (("EXIF DateTimeOriginal", "EXIF OffsetTimeOriginal"),
                                ("EXIF DateTimeDigitized", "EXIF OffsetTimeDigitized"),
                                ("Image DateTime", "EXIF OffsetTime")):
            if tags.get(key):
                captured = _time(tags[key] + (tags.get(offset_key) or ""))
                if captured:
                    tag = key
                    break
        gps = None
        if "GPS GPSLatitude" in tags and "GPS GPSLongitude" in tags:
            lat, lon = _ratio_dms(tags["GPS GPSLatitude"]), _ratio_dms(tags["GPS GPSLongitude"])
            if lat is not None and lon is not None:
                lat *= -1 if tags.get("GPS GPSLatitudeRef", "N").startswith("S") else 1
                lon *= -1 if tags.get("GPS GPSLongitudeRef", "E").startswith("W") else 1
                gps = (lat, lon, 1e-6)
        make, model = (tags.get("Image Make") or "").strip(), (tags.get("Image Model") or "").strip()
        out.append(Expected("exif-py dump.txt", root / name.strip(), captured, tag, gps, make or None, model or None))
    return out


def _ratio_dms(text: str) -> float | None:
    parts = [p.strip() for p in text.strip("[] ").split(",")]
    if len(parts) != 3 or "..." in text:
        return None
    try:
        values = [float(p.split("/")[0]) / (float(p.split("/")[1]) if "/" in p else 1.0) for p in parts]
    except (ValueError, ZeroDivisionError):
        return None
    return values[0] + values[1] / 60 + values[2] / 3600


def exiftool_expected(data: Path) -> list[Expected]:
    """ExifTool test outputs that read an unmodified t/images file (named in the output, or test 2)."""
    t = data / "exiftool" / "t"
    images = t / "images"
    out = []
    for result in sorted(t.glob("*_*.out")):
        text = result.read_text(encoding="utf-8", errors="replace")
        named = re.search(r"FileName - File Name: (.+)", text)
        if named:
            image = images / named[1].strip()
        else:
            module, _, number = result.stem.rpartition("_")
            candidates = list(images.glob(f"{module}.*"))
            image = candidates[0] if number == "2" and len(candidates) == 1 else None
        # Outputs with "####" are masked on purpose by their test: nothing to compare.
        if image is None or not image.exists() or not text.startswith("[") or "####" in text:
            continue
        tags: dict[str, str] = {}
        for line in text.splitlines():
            m = re.match(r"^\[([^\]]*)\] \S+ - ([^:]+): (.*)$", line)
            if m:
                groups = [g.strip() for g in m[1].split(",")]
                tags.setdefault(f"{groups[0]}:{groups[1]}:{m[2]}", m[3])
                tags.setdefault(f"{groups[0]}:{m[2]}", m[3])
        captured, tag = None, None
        for key in ("EXIF:Date/Time Original", "QuickTime:Keys:Creation Date", "XMP:Date/Time Original",
                    "XMP:Date Created", "EXIF:Create Date", "XMP:Create Date", "EXIF:Modify Date"):
            if tags.get(key):
                captured = _time(tags[key])
                if captured:
                    tag = key
                    break
        if captured is None and tags.get("QuickTime:QuickTime:Create Date"):
            captured, tag = _time(tags["QuickTime:QuickTime:Create Date"], zone=UTC), "QuickTime:Create Date"
        gps = None
        lat, lon = tags.get("Composite:GPS Latitude"), tags.get("Composite:GPS Longitude")
        if lat and lon:
            la, lo = _dms(lat), _dms(lon)
            if la and lo:  # _dms already signed them from the trailing N/S/E/W
                gps = (la[0], lo[0], max(la[1], lo[1]))
        make = tags.get("EXIF:IFD0:Make") or tags.get("QuickTime:Make") or tags.get("XMP:Make")
        model = tags.get("EXIF:IFD0:Camera Model Name") or tags.get("QuickTime:Camera Model Name") \
            or tags.get("XMP:Camera Model Name")
        out.append(Expected(f"ExifTool {result.name}", image, captured, tag, gps, make, model))
    return out


# ---------------------------------------------------------------------------------------------- comparison


def _norm(text: str | None) -> str | None:
    return " ".join(text.replace("\x00", "").split()) if text else None


def _same_time(ours: datetime, theirs: datetime) -> bool:
    if ours.tzinfo is not None and theirs.tzinfo is not None:
        return abs((ours - theirs).total_seconds()) < 1
    # A zone-less side: compare the wall clocks each side states.
    wall_ours, wall_theirs = ours.replace(tzinfo=None, microsecond=0), theirs.replace(tzinfo=None, microsecond=0)
    return abs((wall_ours - wall_theirs).total_seconds()) < 1


def compare(expected: Expected, record: MediaRecord) -> dict[str, tuple[str, str] | None]:
    """For each field the oracle has: None when we agree, else (category, detail).

    The capture time agrees when our chosen time is the oracle's; when we chose another
    tag (one the oracle does not read, such as XMP for exifread's dump) the category is
    "other tag chosen", and the reading of the oracle's own tag is checked separately.
    """
    result: dict[str, tuple[str, str] | None] = {}
    failed = f"reader error ({record.error})" if record.error else None
    if expected.captured is not None:
        ours = record.captured_at
        if ours is None:
            result["captured"] = (failed or "not read", f"expected {expected.captured} from {expected.captured_tag}")
        elif _same_time(ours, expected.captured):
            result["captured"] = None
        else:
            same_reading = any(t.value is not None and _same_time(t.value, expected.captured) for t in record.times)
            category = ("other tag chosen, the oracle's tag read the same" if same_reading
                        else "other tag chosen" if not _same_family(record.captured_at_source, expected.captured_tag)
                        else "value differs")
            result["captured"] = (category, (f"ours {ours.isoformat()} ({record.captured_at_source}), expected "
                                             f"{expected.captured.isoformat()} ({expected.captured_tag})"))
    if expected.gps is not None:
        lat, lon, tol = expected.gps
        g = record.gps
        if g is None:
            result["gps"] = (failed or "not read", f"expected {lat:.6f}, {lon:.6f}")
        elif abs(g.latitude_deg - lat) <= tol and abs(g.longitude_deg - lon) <= tol:
            result["gps"] = None
        else:
            result["gps"] = ("value differs", (f"ours {g.latitude_deg:.6f}, {g.longitude_deg:.6f} ({g.source}), "
                                               f"expected {lat:.6f}, {lon:.6f}"))
    for field in ("make", "model"):
        theirs = _norm(getattr(expected, field))
        if theirs is None:
            continue
        ours = _norm(getattr(record.device, field))
        if ours == theirs:
            result[field] = None
        elif ours is None:
            result[field] = (failed or "not read", f"expected {theirs!r}")
        else:
            result[field] = ("value differs", f"ours {ours!r}, expected {theirs!r}")
    return result


def _value(expected: Expected, field: str) -> object:
    return {"captured": expected.captured, "gps": expected.gps, "make": expected.make, "model": expected.model}[field]


def _same_family(ours: str | None, theirs: str | None) -> bool:
    """Whether our capture tag and the oracle's name the same kind of time (original, digitized...)."""
    return bool(ours and theirs) and _tag_family(ours) == _tag_family(theirs)  # type: ignore[arg-type]


def _tag_family(tag: str) -> str:
    text = re.sub(r"[^a-z]", "", tag.lower())
    for needle, name in (("original", "original"), ("digitized", "digitized"), ("createdate", "digitized"),
                         ("creationdate", "apple"), ("creationtime", "container"), ("mvhd", "container"),
                         ("modifydate", "modified"), ("datetime", "modified")):
        if needle in text:
            return name
    return text


# ---------------------------------------------------------------------------------------------- main

# Disagreements looked at by hand, keyed by (field, file under the data folder).
EXPLANATIONS: dict[tuple[str, str], str] = {
    ("captured", "exiftool/t/images/ExifTool.jpg"): "a test file with blocks of two cameras: EXIF says FUJIFILM "
        "FinePix2400Zoom 2001-05-19, a Canon CIFF APP0 says PowerShot A5 1998-05-01; ExifTool -j keeps the last "
        "block it reads, probe ranks EXIF first like everywhere else, keeps the CIFF block in raw.vendor and "
        "flags blocks_disagree with both values",
    ("make", "exiftool/t/images/ExifTool.jpg"): "same file: EXIF FUJIFILM vs CIFF Canon, both kept, flagged",
    ("model", "exiftool/t/images/ExifTool.jpg"): "same file: EXIF FinePix2400Zoom vs CIFF Canon PowerShot A5, "
        "both kept, flagged",
    ("captured", "exiftool/t/images/Pentax.avi"): "the IDIT chunk says '2009/10/27 12:14:34'; ExifTool 12.57's "
        "RIFF date pattern for Casio's '2001/ 1/27  1:42PM' matches first and drops the seconds (RIFF.pm "
        "ConvertRIFFDate)",
    ("captured", "metadata-extractor-images/mp4/Issue 515 (java).mp4"): "metadata-extractor does not read the "
        "3GPP udta 'date' box (2020-11-20T15:04:02+0100, what ExifTool reads too) and falls back to mvhd; probe "
        "read mvhd to the same value and prefers the capture date",
}
# Categories whose reason is the same wherever they occur.
CATEGORY_NOTES = {
    "other tag chosen, the oracle's tag read the same": "the oracle does not read XMP (exifread's dump) or ranks "
        "IFD0 DateTime, a modification time, above XMP's creation dates; probe read the oracle's tag to the "
        "same value and prefers the XMP capture/creation date",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()
    data: Path = args.data.resolve()
    if not data.is_dir():
        print(f"no data at {data}: nothing to measure")
        return 2
    files = [p for p in media_files([data]) if not _NOT_MEDIA.search(p.name) and "/metadata/" not in p.as_posix()]
    print(f"forensics probe over {data} ({len(files)} media files, workers={args.workers or 'one per core'})\n")

    list(probe_many(files[:4], timeout_s=args.timeout, workers=args.workers))  # start the workers
    start = time.perf_counter()
    records: dict[Path, MediaRecord] = {}
    for record in probe_many(files, timeout_s=args.timeout, workers=args.workers):
        records[Path(record.path)] = record
    elapsed = time.perf_counter() - start

    _report_accuracy(data, records)
    _report_robustness(data, records)
    _report_speed(data, files, records, elapsed, args)
    return 0


def _report_accuracy(data: Path, records: dict[Path, MediaRecord]) -> None:
    expected = java_expected(data) + exifpy_expected(data) + exiftool_expected(data)
    absent = [e for e in expected if e.path not in records]
    zero = [e for e in expected if e.path in records and e.captured is not None and e.captured.year <= 1970]
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    by_oracle: dict[str, Counter[str]] = defaultdict(Counter)
    problems: list[tuple[str, str, str, str, str]] = []
    for exp in expected:
        if exp.path not in records:
            continue
        if exp in zero:  # a zeroed clock is not a time to agree on; probe flags it instead
            exp = Expected(exp.oracle, exp.path, None, None, exp.gps, exp.make, exp.model)
        for field, verdict in compare(exp, records[exp.path]).items():
            if field == "captured" and _tag_family(exp.captured_tag or "") == "modified":
                field = MODIFIED  # the oracle states no capture time, only when the file was last changed
            oracle = exp.oracle.split(" ")[0]
            totals[field]["compared"] += 1
            by_oracle[oracle][f"{field} compared"] += 1
            if verdict is None:
                totals[field]["agree"] += 1
                by_oracle[oracle][f"{field} agree"] += 1
            else:
                if verdict[0].endswith("read the same"):
                    totals[field]["same reading"] += 1
                problems.append((field, verdict[0], exp.oracle, _short(data, exp.path), verdict[1]))
    print("== Agreement with the shipped expected outputs (files where the oracle has a value)")
    print(f"   {len(expected) - len(absent)} expected records compared: metadata-extractor java/*.txt, "
          f"exif-py dump.txt, ExifTool t/*.out")
    print(f"   ({len(absent)} oracle entries name files not shipped; {len(zero)} oracle capture time(s) are "
          "zeroed clocks (1904/1970), flagged by probe, not compared)")
    for field in FIELDS:
        c = totals[field]
        share = 100.0 * c["agree"] / c["compared"] if c["compared"] else float("nan")
        label = "capture time (UTC)" if field == "captured" else field
        print(f"   {label:20s} {c['agree']:4d} / {c['compared']:4d}  {share:6.2f}%   (target 99%)")
        if field == "captured" and c["same reading"]:
            read = c["agree"] + c["same reading"]
            share = 100.0 * read / c["compared"]
            print(f"   {'  same tag as oracle':20s} {read:4d} / {c['compared']:4d}  {share:6.2f}%   "
                  "(our reading of the tag the oracle chose)")
    c = totals[MODIFIED]
    if c["compared"]:
        print(f"   {'modification time':20s} {c['agree']:4d} / {c['compared']:4d}  "
              f"{100.0 * c['agree'] / c['compared']:6.2f}%   (files whose oracle gives only IFD0 DateTime or "
              "ModifyDate, when the file was last changed, not a capture time: compared with probe's "
              "captured_at, which falls back to it only when nothing better is stated)")
    for oracle, c in sorted(by_oracle.items()):
        parts = [f"{f} {c[f + ' agree']}/{c[f + ' compared']}" for f in (*FIELDS, MODIFIED) if c[f + " compared"]]
        print(f"     {oracle:20s} " + ", ".join(parts))
    print(f"\n== Every disagreement ({len(problems)}), by field and category")
    for field, category, oracle, name, detail in sorted(problems):
        print(f"   [{field}] {category}: {name} ({oracle}): {detail}")
        note = EXPLANATIONS.get((field, name)) or CATEGORY_NOTES.get(category)
        if note:
            print(f"        why: {note}")
    if shutil.which("exiftool") is None:
        print("\n== exiftool -j -n: not installed on this machine, so that comparison (and the throughput "
              "ratio against exiftool) could not be made.")
    else:
        _report_exiftool_live(data, records)


def run_exiftool(paths: list[Path], *options: str) -> list[dict]:
    """Runs exiftool -j over paths in batches (one process per batch, as people run it)."""
    found: list[dict] = []
    for start in range(0, len(paths), 300):
        batch = [str(p) for p in paths[start:start + 300]]
        out = subprocess.run(["exiftool", "-j", "-q", "-q", "-m", *options, *batch], capture_output=True,
                             check=False).stdout
        with contextlib.suppress(ValueError):
            found += json.loads(out or b"[]")
    return found


def exiftool_live_expected(paths: list[Path]) -> list[Expected]:
    """What `exiftool -j -n` says now: make, model, GPS, and DateTimeOriginal with its offset when given."""
    result = []
    for tags in run_exiftool(paths, "-n"):
        path = Path(tags["SourceFile"])
        lat, lon = tags.get("GPSLatitude"), tags.get("GPSLongitude")
        gps = None
        if isinstance(lat, (int, float)) and isinstance(lon, (int, float)):
            # -n prints a maker's GPS (FLIR's) unsigned, its reference beside it; EXIF's composite is signed.
            lat = -abs(lat) if str(tags.get("GPSLatitudeRef", "")).upper().startswith("S") else lat
            lon = -abs(lon) if str(tags.get("GPSLongitudeRef", "")).upper().startswith("W") else lon
            gps = (float(lat), float(lon), 1e-4)
        captured = None
        if isinstance(tags.get("DateTimeOriginal"), str):
            zone = _offset(tags.get("OffsetTimeOriginal"))
            captured = _time(tags["DateTimeOriginal"], zone=zone)
        make, model = tags.get("Make"), tags.get("Model")
        if isinstance(make, (int, float)):
            # -n gives some makers' codes as numbers (AVCHD's MDPM: 4113 is Canon): compare the name.
            printed = run_exiftool([path], "-Make")
            make = printed[0].get("Make") if printed else make
        result.append(Expected("exiftool -j -n", path, captured, "EXIF DateTimeOriginal" if captured else None, gps,
                               str(make) if make else None, str(model) if model else None))
    return result


def _offset(text: object) -> timezone | None:
    m = re.fullmatch(r"([+-])(\d\d):?(\d\d)", text) if isinstance(text, str) else None
    if not m:
        return None
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    return timezone(timedelta(minutes=minutes if m.group(1) == "+" else -minutes))


def _report_exiftool_live(data: Path, records: dict[Path, MediaRecord]) -> None:
    expected = [e for e in exiftool_live_expected(sorted(records)) if e.path in records]
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    problems = []
    for exp in expected:
        for field, verdict in compare(exp, records[exp.path]).items():
            totals[field]["compared"] += 1
            totals[field]["agree"] += verdict is None
            if verdict is not None:
                problems.append((field, verdict[0], _short(data, exp.path), verdict[1]))
    print(f"\n== Agreement with exiftool -j -n run now ({len(expected)} files it read)")
    for field in FIELDS:
        c = totals[field]
        if c["compared"]:
            print(f"   {field:20s} {c['agree']:4d} / {c['compared']:4d}  {100 * c['agree'] / c['compared']:6.2f}%")
    print(f"   disagreements ({len(problems)}):")
    for field, category, name, detail in sorted(problems):
        print(f"     [{field}] {category}: {name}: {detail}")
        note = EXPLANATIONS.get((field, name))
        if note:
            print(f"          why: {note}")


def _report_robustness(data: Path, records: dict[Path, MediaRecord]) -> None:
    hostile = [p for p in records if "/fuzzing/" in p.as_posix() or "/invalid/" in p.as_posix()]
    hangs = [p for p in hostile if records[p].error and "time limit" in records[p].error]
    crashes = [p for p in hostile if records[p].error and "crashed" in records[p].error]
    errors = [p for p in hostile if records[p].error]
    all_hangs = [p for p, r in records.items() if r.error and "time limit" in r.error]
    all_crashes = [p for p, r in records.items() if r.error and "crashed" in r.error]
    print(f"\n== Hostile files: {len(hostile)} (fuzzing/ and */invalid/)")
    print(f"   records: {len(hostile)}, with an error: {len(errors)}, reader crashes: {len(crashes)}, "
          f"hangs: {len(hangs)}")
    print(f"   whole run: reader crashes {len(all_crashes)}, hangs {len(all_hangs)}, "
          f"records with an error {sum(1 for r in records.values() if r.error)} of {len(records)}")
    for p in all_crashes + all_hangs:
        print(f"     {_short(data, p)}: {records[p].error}")


def _report_speed(data: Path, files: list[Path], records: dict[Path, MediaRecord], elapsed: float,
                  args: argparse.Namespace) -> None:
    print("\n== Throughput of probe (hashing included, page cache warm)")
    print(f"   all files: {len(files)} in {elapsed:.2f} s = {len(files) / elapsed:.1f} files/s")
    video_dirs = ("mov", "mp4", "m4v", "3gp", "3g2", "avi", "mts", "m2ts")
    groups = {
        "video folders": [p for p in files if p.parent.name in video_dirs or p.parent.parent.name == "footage"
                          or p.parent.name == "footage"],
        "JPEG folders": [p for p in files if p.parent.name == "jpg" or "/resources/jpg/" in p.as_posix()],
    }
    for name, group in groups.items():
        size = sum(p.stat().st_size for p in group) / 1e6
        digests = {p: records[p].sha256 for p in group if records[p].sha256}
        for label, known in (("hashing", None), ("digest given, as ingest calls it", digests)):
            start = time.perf_counter()
            for _ in probe_many(group, timeout_s=args.timeout, workers=args.workers, sha256_by_path=known):
                pass
            took = time.perf_counter() - start
            print(f"   {name:13s}: {len(group)} files, {size:.1f} MB in {took:.2f} s = "
                  f"{len(group) / took:6.1f} files/s  ({label})")
    if shutil.which("exiftool") is None:
        print("   exiftool -j: not installed, no ratio to report (target: 3x exiftool on video and JPEG)")
        return
    # A folder takes each side half a second: the two take turns, ROUNDS times, and the best of each counts.
    # Two short lists, each file linked four times so that exiftool's start-up (0.2 s) does not weigh
    # on them: the photos of 1.5 MB or more (a thumbnail check that decoded whole pictures would cost
    # in proportion to their size), and the HEIF and AVIF stills (phones' own format since 2017).
    large = [p for p in files if records[p].media_type == "image" and p.suffix.lower() in (".jpg", ".jpeg")
             and p.stat().st_size >= 1_500_000]
    heif = [p for p in files if records[p].detected_format in ("image/heif", "image/heic", "image/avif")
            and not records[p].error]
    with tempfile.TemporaryDirectory() as tmp:
        for name, chosen in (("JPEGs >= 1.5 MB", large), ("HEIF/AVIF stills", heif)):
            links = _linked(chosen, Path(tmp) / name.split()[0])
            groups[name] = list(links)
            records = {**records, **{link: records[path] for link, path in links.items()}}
        _compare_with_exiftool(groups, records, args)


def _linked(paths: list[Path], folder: Path, *, copies: int = 4) -> dict[Path, Path]:
    """Each of `paths` linked `copies` times under `folder`: link -> original."""
    folder.mkdir(parents=True, exist_ok=True)
    links = {}
    for copy in range(copies):
        for i, path in enumerate(paths):
            link = folder / f"{copy}-{i}{path.suffix}"
            link.symlink_to(path.resolve())
            links[link] = path
    return links


def _compare_with_exiftool(groups: dict[str, list[Path]], records: dict[Path, MediaRecord],
                           args: argparse.Namespace) -> None:
    for name, group in groups.items():
        digests = {p: records[p].sha256 for p in group if records[p].sha256}
        ours, theirs = [], []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            for _ in probe_many(group, timeout_s=args.timeout, workers=args.workers, sha256_by_path=digests):
                pass
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            run_exiftool(group)
            theirs.append(time.perf_counter() - start)
        rounds = ", ".join(f"{t / o:.1f}" for o, t in zip(ours, theirs))
        print(f"   {name:15s}: probe {len(group) / min(ours):6.1f} files/s, exiftool -j {len(group) / min(theirs):6.1f} "
              f"files/s -> {min(theirs) / min(ours):.1f}x exiftool's throughput ("
              f"{'target 3x; ' if name in ('video folders', 'JPEG folders') else ''}best of {ROUNDS} each, "
              f"rounds {rounds})")


def _short(data: Path, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(data))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
