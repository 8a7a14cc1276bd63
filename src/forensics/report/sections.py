"""The report's sections as HTML: summary, exhibit list, custody timeline, duplicates, intercepts (cards are in
cards.py, chronology and places in where_when.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import groupby
from typing import Any

from forensics.custody.log import LogEntry
from forensics.custody.view import CaseView
from forensics.digests import named_sha256
from forensics.record_kinds import AUDIO, DEDUP
from forensics.report import facts
from forensics.report.cards import Context, Pictures
from forensics.report.exhibits import original_findings
from forensics.report.markup import definitions, digest, esc, folded, seconds, table
from forensics.report.methods import INTERCEPTS, NEAR_DUPLICATES, score_words
from forensics.report.verdict import capture_claim, group_id, intercept_id, lead_id, match_id

TIMELINE_ROWS_PER_GROUP = 200  # entries listed under one folded group; the log itself holds them all


def summary(ctx: Context) -> str:
    view, verification = ctx.view, ctx.verification
    item_link = ctx.link
    state = view.state
    by_type = Counter(i.item.media_type for i in view.items)
    names = sum(len(i.item.receipts) for i in view.items)
    if verification.intact:
        verdict = '<span class="verdict good">intact</span>'
    else:
        verdict = f'<span class="verdict bad">{len(verification.findings)} finding(s)</span>'
    findings = "".join(f"<li><code>{esc(f.code)}</code> {esc(f.subject)}: {esc(f.message)}</li>"
                       for f in verification.findings)
    checked = (f"{verdict} {verification.entries} log entries and {verification.files_checked} files "
               f"({verification.bytes_checked:,} bytes) checked by <code>forensics verify</code>")
    if view.head is not None and verification.log_head != view.head.line_hash:
        checked += (' <span class="flag">the case changed between verifying and reading it; '
                    "render the report again</span>")
    signers = "<br>".join(f"{esc(s.actor)} <code>{esc(s.key_id)}</code>: {s.entries} entries"
                          for s in verification.signers)
    seals = "<br>".join(f"entry {s['stamped_seq']} time-stamped {esc(s['gen_time_utc'])} by {esc(s['tsa'])}"
                        for s in verification.seals)
    unusable = "<br>".join(f"{esc(r['kind'])} record {esc(r['path'])}: {esc(r['reason'])}"
                           for r in view.unusable_records)
    span = facts.time_span(view)
    span_html = ('<span class="none">no item claims a capture time in UTC</span>' if span is None else
                 f"{esc(_utc(span.start_utc))} ({item_link(span.first)}) to {esc(_utc(span.end_utc))} "
                 f"({item_link(span.last)}); {span.dated_items} item(s) dated, {span.undated_items} media item(s) "
                 "without a capture time in UTC. Times are what the files claim, not proven.")
    pairs = [
        ("incident", ", ".join(esc(i) for i in state.incidents) or '<span class="none">none</span>'),
        ("case id", f"<code>{esc(state.case_id)}</code>"),
        ("created", esc(state.created)),
        ("organisation", esc(state.bag_info.get("Source-Organization", ""))),
        ("verification", checked + (f'<ul class="findings">{findings}</ul>' if findings else "")),
        ("log head", f"entry {view.head.seq} {digest(view.head.line_hash)}" if view.head else ""),
        ("evidence items", (f"{len(view.items)} ({', '.join(f'{n} {t}' for t, n in sorted(by_type.items()))}); "
                            f"{names} name(s) as received")),
        ("not taken in", f"{len(state.problems)} (listed under the custody timeline)" if state.problems else "none"),
        ("derived files", str(len(state.derived))),
        ("analysis records", str(len(state.records))),
        ("records not used", f'<span class="flag">{unusable}</span>' if unusable else ""),
        ("signed by", signers), ("sealed", seals), ("footage time span", span_html),
        ("places", _places_line(ctx)),
    ]
    return f'<section id="summary"><h2>Summary</h2>{definitions(pairs)}</section>'


def _places_line(ctx: Context) -> str:
    where = ctx.found.places
    if not where.positions and not where.left_out:
        return '<span class="none">no item carries GPS coordinates</span>'
    outliers = ", ".join(ctx.links.get(p.item_id, esc(p.label)) for p, _km in where.outliers)
    return (f'<a href="#places">{len(where.positions)} position(s) claimed</a>'
            + (f"; outliers: {outliers}" if outliers else "")
            + (f"; {len(where.left_out)} left out (unset or broken)" if where.left_out else ""))


def exhibit_list(ctx: Context) -> str:
    """Gives every item under its exhibit number: names, type, when first received, the capture time it claims,
    and whether verify found its stored copy intact."""
    rows = []
    for exhibit in ctx.exhibits:
        item = exhibit.item
        failed = original_findings(ctx.verification, item)
        first = item.item.receipts[0].time if item.item.receipts else ""
        meta = item.metadata
        claimed = capture_claim(meta)[0] if meta is not None and not meta.error else ""
        names = "<br>".join(esc(n) for n in item.names[:5]) + (f"<br>… {len(item.names) - 5} more"
                                                                 if len(item.names) > 5 else "")
        rows.append((f'<a href="#{exhibit.label}"><b>{exhibit.label}</b></a>', names, esc(item.item.media_type),
                     esc(first), f"<code>{esc(claimed)}</code>" if claimed else "",
                     f'<span class="bad-text">FAILED: {esc(failed[0].code)}</span>' if failed else "intact"))
    return ('<p class="muted">Exhibit numbers follow the order the custody log first received each item; the same '
            "numbers are in the PDF report and the CSV and json exports.</p>"
            + table(("exhibit", "names as received", "type", "first received (UTC)", "capture time claimed",
                     "verify"), rows, cls="exhibits"))


def _utc(value: Any) -> str:
    return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds").replace("+00:00", "Z")


def timeline(ctx: Context) -> str:
    """Gives the custody log as runs of like entries: who did what, when, to what."""
    view = ctx.view
    if not view.entries:
        return '<section id="custody"><h2>Custody timeline</h2><p class="none">The log is empty.</p></section>'
    rows = []
    for (actor, action, _incident, result, key_id), group in groupby(
            view.entries, key=lambda e: (e.actor, _phase(e.action), e.incident if e.action != "derived" else None,
                                         e.result, e.key_id)):
        run = list(group)
        incident = next((e.incident for e in run if e.incident), None)
        action = "analysed" if action == _ANALYSIS else action
        first, last = run[0], run[-1]
        when = _when(first.time) if len(run) == 1 else f"{_when(first.time)}<br>to {_when(last.time)}"
        seqs = str(first.seq) if len(run) == 1 else f"{first.seq}–{last.seq}"
        listed = "".join(f"<li>{e.seq} <code>{esc(e.time)}</code> {_entry_text(ctx, e)}</li>"
                         for e in run[:TIMELINE_ROWS_PER_GROUP])
        if len(run) > TIMELINE_ROWS_PER_GROUP:
            listed += f"<li>… and {len(run) - TIMELINE_ROWS_PER_GROUP} more in custody/log.jsonl</li>"
        what = _run_text(ctx, action, run)
        if len(run) > 1:
            what += folded(f"{len(run)} entries", f"<ul>{listed}</ul>")
        status = "" if result == "ok" else f' <span class="flag">{esc(result)}</span>'
        rows.append((seqs, when, (f'{esc(actor)} <span class="muted">on {esc(first.host)}</span><br>'
                                  f'<code title="{esc(key_id)}">{esc(key_id[:16])}…</code>'),
                     f"{esc(action)}{status}", esc(incident or ""), what))
    return ('<section id="custody"><h2>Custody timeline</h2><p class="muted">Every entry of the signed, '
            "hash-chained custody log, runs of like entries folded together (a printed report shows each run "
            "unfolded; every entry is in the case's custody/log.jsonl and in the json export). Times are UTC as the "
            "acting machine's clock gave them.</p>"
            + table(("entries", "time (UTC)", "who", "action", "incident", "what"), rows, cls="timeline")
            + "</section>")


def _when(time: str) -> str:
    """Gives a log time to the millisecond, which a reader can take in (the entries keep microseconds)."""
    return esc(f"{time[:10]} {time[11:23]}Z" if len(time) >= 23 else time)


def _run_text(ctx: Context, action: str, run: Sequence[LogEntry]) -> str:
    if len(run) == 1:
        return _entry_text(ctx, run[0])
    if action == "received":
        names = [esc(e.details["name"]["name"]) for e in run if "name" in e.details]
        shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        return f"{len(run)} files: {shown}"
    if action == "analysed":
        kinds = Counter(e.details.get("kind", "?") for e in run if e.action == "analysed")
        operations = Counter(e.details.get("operation", "?") for e in run if e.action == "derived")
        items = {o["sha256"] for e in run for o in e.objects if o.get("role") == "source"}
        parts = []
        if kinds:
            parts.append(f"{sum(kinds.values())} records (" + ", ".join(f"{n} {esc(k)}" for k, n in sorted(kinds.items())) + ")")
        if operations:
            parts.append(f"{sum(operations.values())} files made (" +
                         ", ".join(f"{n} by {esc(op)}" for op, n in sorted(operations.items())) + ")")
        return f"{' and '.join(parts)} about {len(items)} item(s)"
    return f"{len(run)} entries"


# Derived files and the records about them come interleaved, item by item: one phase of work.
_ANALYSIS = "analysis"


def _phase(action: str) -> str:
    return _ANALYSIS if action in ("derived", "analysed") else action


def _entry_text(ctx: Context, e: LogEntry) -> str:
    view, item_link = ctx.view, ctx.link
    d = e.details
    source = next((o for o in e.objects if o.get("role") in ("original", "source")), None)
    item = view.item(source["sha256"]) if source else None
    if e.action == "case-created":
        return f"case <code>{esc(d.get('case_id'))}</code> created, key <code>{esc(e.key_id)}</code>"
    if e.action == "key-added":
        return f"signing key <code>{esc(e.key_id)}</code> of {esc(e.actor)} added"
    if e.action == "received":
        name = esc(d.get("name", {}).get("name", ""))
        if e.result != "ok":
            return f"{name} not taken in: {esc(d.get('reason', ''))}"
        return f"{name} from {esc(d.get('source_root', ''))} {digest(named_sha256(e.objects[0]['sha256']))}"
    if e.action == "derived":
        return f"{esc(d.get('operation'))} of {item_link(item) if item else esc(source and source['sha256'])}"
    if e.action == "analysed":
        return f"{esc(d.get('kind'))} record of {item_link(item) if item else esc(source and source['sha256'])}"
    if e.action == "ingested":
        counts = ", ".join(f"{v} {esc(k)}" for k, v in (d.get("counts") or {}).items() if v)
        note = f"; note: {esc(d['note'])}" if d.get("note") else ""
        return f"ingest of {', '.join(esc(s) for s in d.get('sources', []))}: {counts or 'nothing new'}{note}"
    if e.action == "sealed":
        return f"log entry {esc(d.get('stamped_seq'))} time-stamped {esc(d.get('gen_time_utc'))} by {esc(d.get('tsa'))}"
    if e.action == "recovered":
        moved = [o for o in e.objects if o.get("role") == "quarantined"]
        listed = "; ".join(f"{esc(o.get('from', o.get('path')))} moved to {esc(o.get('path'))} "
                           f"{digest(named_sha256(str(o.get('sha256'))))} ({esc(o.get('why', ''))})" for o in moved[:20])
        more = f"; and {len(moved) - 20} more" if len(moved) > 20 else ""
        return esc(d.get("why", "an interrupted run was put right")) + (f": {listed}{more}" if moved else "")
    if e.action == "grouped":
        # The marker of a finished near-duplicate grouping (pipeline.grouping): what it covered, by digest.
        return (f"near-duplicates worked out over {esc(d.get('items_hashed'))} hashed item(s), every record "
                f"written; their hashes' digest <code>{esc(str(d.get('covers', ''))[:30])}…</code>")
    if e.action == "exported":
        redacted = " (redacted)" if d.get("redacted") else ""
        objects = "".join(f" {esc(o.get('path'))} {digest(named_sha256(str(o.get('sha256'))))}" for o in e.objects)
        return f"{esc(d.get('format'))} export{redacted}:{objects}"
    return esc(", ".join(sorted(d))) if d else ""


def problems(view: CaseView) -> str:
    if not view.state.problems:
        return ""
    rows = [(esc(p["incident"]), esc(p["name"]), esc(p["result"]), esc(p["reason"]), str(p["log_seq"]))
            for p in view.state.problems]
    return ('<section id="not-taken-in"><h2>Files not taken in</h2>'
            + table(("incident", "name as received", "result", "reason", "log entry"), rows) + "</section>")


def duplicates(ctx: Context, pictures: Pictures) -> str:
    view, related = ctx.view, ctx.related
    groups, matches = related.groups, related.matches
    head = '<section id="duplicates"><h2>Duplicate groups</h2>'
    if not any(DEDUP in i.records for i in view.items):
        return head + '<p class="none">This case holds no near-duplicate records: the dedup step has not been run on it.</p></section>'
    parts = [head, ('<p class="muted">Each pair is shown once. A match is said in its band and the precision '
                    "measured for that band on the benchmark's held-out half; weak matches are left out.</p>")]
    if not groups:
        parts.append('<p class="none">No two items show the same footage.</p>')
    for number, group in enumerate(groups, 1):
        figures = "".join(f"<figure>{pictures.thumbnail(r.item) if r.item else ''}<figcaption>"
                          f"{ctx.ref(r)}</figcaption></figure>" for r in group)
        parts.append(f'<div class="group" id="{group_id(number)}"><h3>Group {number}: {len(group)} files of the same '
                     f'footage</h3><div class="pair">{figures}</div></div>')
    if matches:
        parts.append("<h3>Matches</h3>")
    for number, m in enumerate(matches, 1):
        side = [(m.a, m.a_span_s), (m.b, m.b_span_s)]
        figures = "".join(
            f"<figure>{pictures.frame_at(r.item, span[0] if span else None)}<figcaption>"
            f"{ctx.ref(r)}"
            f"{f' {span[0]:.2f}–{span[1]:.2f} s' if span else ''}</figcaption></figure>" for r, span in side)
        score = "" if m.score is None else f", score {m.score:.3f}"
        confidence = f", {esc(m.confidence)} match" if m.confidence else ""
        parts.append(f'<div class="group" id="{match_id(number)}"><p><b>Match {number}: '
                     f'{esc(m.relation.replace("_", " "))}</b> ({esc(m.kind)}{score}{confidence})</p>'
                     f'<p class="muted">{esc(score_words(NEAR_DUPLICATES, m.confidence, m.score))}</p>'
                     f'<div class="pair">{figures}</div></div>')
    if related.leads:
        parts.append("<h3>Alike, not shown to be one recording (leads to check)</h3>")
        rows = [(f'<span id="{lead_id(n)}">{n}</span>', ctx.ref(lead.a), ctx.ref(lead.b), esc(lead.reason))
                for n, lead in enumerate(related.leads, 1)]
        parts.append(table(("lead", "file", "file", "why not the same recording"), rows))
    return "".join(parts) + "</section>"


def intercepts(ctx: Context, pictures: Pictures) -> str:
    view = ctx.view
    head = '<section id="intercepts"><h2>Intercept matches</h2>'
    if not any(AUDIO in i.records for i in view.items):
        return head + '<p class="none">This case holds no intercept audio records: the audio step has not been run on it.</p></section>'
    matches = ctx.related.intercepts
    if not matches:
        return head + '<p class="none">No recording of this case matched another or the intercept library.</p></section>'
    parts = [head, ('<p class="muted">Two recordings that each hold the other\'s audio are shown once, in the '
                    "direction that scored better; weak matches are left out. Matches are numbered by pair of files, "
                    "as the chronology numbers them: one pair heard at two places has two blocks of one number.</p>")]
    shown: set[int] = set()
    for number, m in matches:
        score = "" if m.score is None else f"{m.score:.3f}"
        confidence = f" ({esc(m.confidence)})" if m.confidence else ""
        pairs = [("query", ctx.ref(m.query)),
                 ("matched span", _span(m.query_span_s)),
                 ("reference", ctx.ref(m.reference)),
                 ("reference sha256", digest(m.reference_sha256) if m.reference_sha256 else ""),
                 ("reference span", _span(m.reference_span_s)),
                 ("offset", "" if m.offset_s is None else f"{m.offset_s:.3f} s (the reference's time at the query's 0 s)"),
                 ("speed", "" if m.speed is None else f"{m.speed:.4f}"),
                 ("score", score + confidence),
                 ("in words", esc(score_words(INTERCEPTS, m.confidence, m.score)))]
        figures = pictures.spectrogram(m.query.item, m.query_span_s, "query") + \
            pictures.spectrogram(m.reference.item, m.reference_span_s, "reference")
        first = number not in shown
        shown.add(number)
        target = f' id="{intercept_id(number)}"' if first else ""  # links go to a pair's first place
        parts.append(f'<div class="group"{target}>'
                     f"<h3>Intercept match {number}{'' if first else ' (another place of this pair)'}</h3>"
                     f'{definitions(pairs)}<div class="pair">{figures}</div></div>')
    return "".join(parts) + "</section>"


def _span(span: tuple[float, float] | None) -> str:
    return "" if span is None else f"{seconds(span[0])} to {seconds(span[1])}"

