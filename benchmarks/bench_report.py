"""Builds a case from ../shared/data/footage, renders its report and exports, and shows the report in Chromium.

Prints the time of each step beside the baseline it contains (the report runs
`verify` first, so its cost beyond verify is what rendering adds), the size of
the folder, and saves what a person should look at in benchmarks/out/report/:
the report folder itself, full-page screenshots at desktop (1280 px) and phone
(390 px) widths, and the report printed to PDF.

    .venv/bin/python benchmarks/bench_report.py [--footage DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "cli")]

from forensics.custody.signing import new_key  # noqa: E402
from forensics.custody.verify import verify_case  # noqa: E402
from forensics.incident import ingest  # noqa: E402
from forensics.report.export import FORMATS, SUFFIXES, write_export  # noqa: E402
from forensics.report.html import write_report  # noqa: E402

CHROMIUM = Path(os.environ.get("FORENSICS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-default-apps"]


def timed(step, *args, **kwargs):
    start = time.perf_counter()
    result = step(*args, **kwargs)
    return result, time.perf_counter() - start


def browse(folder: Path, out: Path) -> dict:
    """Loads the report in Chromium at two widths and as print; gives what it saw."""
    from playwright.sync_api import sync_playwright

    seen = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for width in (1280, 390):
            page = browser.new_page(viewport={"width": width, "height": 900})
            messages, outside = [], []
            page.on("console", lambda m, messages=messages: messages.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e, messages=messages: messages.append(f"pageerror: {e}"))
            page.on("request", lambda r, outside=outside: None if r.url.startswith(folder.as_uri() + "/")
                    else outside.append(r.url))
            start = time.perf_counter()
            page.goto((folder / "index.html").as_uri(), wait_until="load")
            page.evaluate("document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; })")
            page.wait_for_function("() => Array.from(document.images).every(i => i.complete)", timeout=60_000)
            load_s = time.perf_counter() - start
            broken = page.evaluate("Array.from(document.images).filter(i => !(i.naturalWidth > 0)).length")
            shot = out / f"screenshot-{width}px.png"
            page.screenshot(path=str(shot), full_page=True)
            seen[width] = {"load_s": round(load_s, 3), "console": messages, "outside_requests": outside,
                           "images": page.evaluate("document.images.length"), "broken_images": broken,
                           "page_width_px": page.evaluate("document.documentElement.scrollWidth"),
                           "screenshot": str(shot)}
            page.close()
        page = browser.new_page()
        page.goto((folder / "index.html").as_uri(), wait_until="load")
        page.evaluate("document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; })")
        page.wait_for_function("() => Array.from(document.images).every(i => i.complete)", timeout=60_000)
        page.emulate_media(media="print")
        page.pdf(path=str(out / "report.pdf"), format="A4")
        seen["pdf"] = str(out / "report.pdf")
        browser.close()
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--footage", type=Path, default=REPO.parent / "shared" / "data" / "footage")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "report")
    args = parser.parse_args()
    if not args.footage.is_dir():
        sys.exit(f"no footage at {args.footage}: see ../shared/data/README.md")
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        work = Path(tmp)
        key = new_key("bench", work / "bench.key")
        case = work / "case"
        ingested, ingest_s = timed(ingest, [args.footage], case, key=key, incident="footage")
        verification, verify_s = timed(verify_case, case)
        _exported, report_s = timed(write_report, case, key, out_dir=args.out / "folder")
        export_s = {}
        for fmt in FORMATS:
            _result, export_s[fmt] = timed(write_export, case, key, fmt=fmt, redacted=fmt != "case-uco",
                                           out_path=args.out / f"export{SUFFIXES[fmt]}")
        validate_s = None
        case_validate = Path(sys.executable).with_name("case_validate")
        if case_validate.exists():
            start = time.perf_counter()
            done = subprocess.run([str(case_validate), str(args.out / "export.jsonld")], capture_output=True, text=True,
                                  check=False)
            validate_s = time.perf_counter() - start
            conforms = "Conforms: True" in done.stdout
        else:
            conforms = None
    folder = args.out / "folder"
    files = [p for p in folder.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    print(f"footage: {sum(ingested.counts.values())} files, {ingested.bytes_copied / 1e6:.1f} MB; "
          f"ingest {ingest_s:.2f} s (metadata and frames: {ingested.analysed})")
    print(f"verify (the baseline)   {verify_s:7.2f} s  ({verification.files_checked} files, intact={verification.intact})")
    print(f"report (verify + render){report_s:7.2f} s  ratio report/verify {report_s / verify_s:.2f}; "
          f"{len(files)} files, {size / 1e6:.2f} MB, index.html {(folder / 'index.html').stat().st_size / 1e3:.0f} kB")
    for fmt, seconds in export_s.items():
        out = args.out / f"export{SUFFIXES[fmt]}"
        print(f"export {fmt:<9}        {seconds:7.2f} s  ratio export/verify {seconds / verify_s:.2f}; "
              f"{out.stat().st_size / 1e3:.0f} kB{' (redacted)' if fmt != 'case-uco' else ''}")
    if validate_s is not None:
        print(f"case_validate            {validate_s:7.2f} s  conforms={conforms}")
    seen = browse(folder, args.out) if CHROMIUM.exists() else None
    if seen is None:
        print(f"no Chromium at {CHROMIUM}: no screenshots (Debian: apt-get install chromium)")
    else:
        for width in (1280, 390):
            s = seen[width]
            print(f"chromium {width:>4} px: loaded in {s['load_s']:.2f} s, {s['images']} images, "
                  f"{s['broken_images']} broken, {len(s['console'])} console messages, "
                  f"{len(s['outside_requests'])} requests outside the folder, page {s['page_width_px']} px wide; "
                  f"{s['screenshot']}")
        print(f"printed: {seen['pdf']}")
    print(json.dumps({"ingest_s": ingest_s, "verify_s": verify_s, "report_s": report_s,
                      "report_over_verify": report_s / verify_s, "export_s": export_s, "case_validate_s": validate_s,
                      "case_uco_conforms": conforms, "report_files": len(files), "report_bytes": size,
                      "report_manifest_sha256": hashlib.sha256((folder / "report-manifest-sha256.txt").read_bytes()).hexdigest(),
                      "browser": seen}, default=str))


if __name__ == "__main__":
    main()
