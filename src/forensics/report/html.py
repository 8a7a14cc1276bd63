"""`forensics report`: the case as one offline HTML folder, verified first, and logged as an export."""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import forensics
from forensics.custody.recovery import check_writable
from forensics.custody.signing import SigningKey
from forensics.custody.verify import VerifyReport, verify_case
from forensics.custody.view import CaseView, read_case
from forensics.progress import ProgressCallback, tell
from forensics.report import sections
from forensics.report.cards import Context, Pictures, card
from forensics.report.exhibits import Exhibits
from forensics.report.exported import Exported, log_export
from forensics.report.folder import MANIFEST, Assets, check_out_dir, manifest_text, stage_folder, swap_in
from forensics.report.markup import digest, esc, page
from forensics.report.where_when import chronology_section, places_section, where_when


@dataclass(frozen=True, slots=True)
class RenderedReport:
    """The files of a report folder, by path relative to it."""

    files: dict[str, bytes]
    index_sha256: str
    manifest_sha256: str


def render_report(view: CaseView, verification: VerifyReport, *, progress: ProgressCallback | None = None,
                  now_utc: datetime | None = None) -> RenderedReport:
    """Gives the report folder's files: index.html, its pictures, and a SHA-256 list of them all.

    Item cards follow the chronology (each item at its earliest claimed time, those claiming none last in
    exhibit order); every item is named and linked by its exhibit number (exhibits.py).
    """
    now = now_utc or datetime.now(UTC)
    assets = Assets()
    pictures = Pictures(view, assets)
    exhibits = Exhibits(view)
    found = where_when(view, exhibits, now_utc=now)
    ctx = Context.of(view, verification, exhibits, found)
    cards = []
    order = [view.item(sha) for sha in found.card_order(exhibits)]
    for done, item in enumerate(i for i in order if i is not None):
        tell(progress, done, len(view.items), item.display_name, unit="items")
        cards.append(card(ctx, item, pictures))
    tell(progress, len(view.items), len(view.items), "")
    incidents = ", ".join(view.state.incidents) or view.path.name
    head = view.head
    when = now.isoformat(timespec="seconds").replace("+00:00", "Z")
    cards_html = "".join(cards) or '<p class="none">The case holds no evidence items.</p>'
    links = ctx.links
    body = "".join([
        (f"<header><p class=\"muted\">Case report</p><h1>{esc(incidents)}</h1>"
         "<nav><a href=\"#summary\">Summary</a><a href=\"#chronology\">Chronology</a><a href=\"#places\">Places</a>"
         "<a href=\"#items\">Evidence items</a><a href=\"#duplicates\">Duplicate groups</a>"
         "<a href=\"#intercepts\">Intercept matches</a><a href=\"#custody\">Custody timeline</a></nav></header><main>"),
        sections.summary(ctx),
        chronology_section(found, links),
        places_section(view, found, links),
        (f'<section id="items"><h2>Evidence items</h2>{sections.exhibit_list(ctx)}'
         '<p class="muted">The cards below follow the chronology: each item at the earliest time it claims; items '
         f'that claim none last, by exhibit number.</p><div class="cards">{cards_html}</div></section>'),
        sections.duplicates(ctx, pictures),
        sections.intercepts(ctx, pictures),
        sections.timeline(ctx),
        sections.problems(view),
        "</main><footer>",
        f"Made by forensics {esc(forensics.__version__)} at {esc(when)} from the case at <code>{esc(view.path)}</code>",
        f", log entry {head.seq} {digest(head.line_hash)}. " if head else ". ",
        ("To check that the case still holds exactly what this report shows, run "
         f"<code>forensics verify CASE --expect-head {esc(head.line_hash if head else '')}</code>. "
         f"Every file of this folder is listed with its SHA-256 in <code>{MANIFEST}</code>.</footer>"),
    ])
    index = page(esc(f"Case report: {incidents}"), body).encode("utf-8")
    files = {"index.html": index, **assets.files}
    manifest = manifest_text(files)
    files[MANIFEST] = manifest
    return RenderedReport(files, hashlib.sha256(index).hexdigest(), hashlib.sha256(manifest).hexdigest())


def default_report_dir(case_path: Path) -> Path:
    """Gives the folder a report goes to when none is named: beside the case, named after it."""
    case_path = Path(os.path.abspath(case_path))
    return case_path.with_name(case_path.name + "-report")


def write_report(case_path: Path, key: SigningKey, *, out_dir: Path | None = None,
                 progress: ProgressCallback | None = None) -> Exported:
    """Verifies the case, renders its report into `out_dir` (replacing an older report) and logs the export.

    The folder is written outside the case, so the bag stays as verify checked it;
    the log entry records the digest of the folder's SHA-256 list, which covers
    every file in it.
    """
    out_dir = check_out_dir(out_dir or default_report_dir(case_path), case_path)
    check_writable(case_path)  # a damaged case is refused before it is read, as ingest refuses it
    verification = verify_case(case_path, progress=progress)
    view = read_case(case_path)
    rendered = render_report(view, verification, progress=progress)
    # Staged beside its place, logged, then swapped in: a report that could not be logged is never left.
    staging = stage_folder(out_dir, rendered.files)
    try:
        exported = log_export(case_path, key, fmt="html", path=out_dir, sha256=rendered.manifest_sha256,
                              rendered_from=view.head, redacted=False,
                              details={"index_sha256": rendered.index_sha256, "files": len(rendered.files),
                                       "verified_intact": verification.intact,
                                       "verify_findings": len(verification.findings)})
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_in(staging, out_dir)
    return exported
