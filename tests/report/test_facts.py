"""The findings a report and its exports show: intercept matches once a pair and place, none weak; transmissions are speech."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from typing import Any

from case_builder import rendered, report_case  # noqa: F401
from conftest import FIXTURES
from forensics.audio.library import Library
from forensics.audio.search import index_paths
from forensics.custody.case import open_case
from forensics.custody.verify import verify_case
from forensics.custody.view import CaseView, read_case
from forensics.incident import ingest
from forensics.report import facts
from forensics.report.document import exported_case
from forensics.report.exhibits import Exhibits
from forensics.report.export import csv_bytes
from forensics.report.html import render_report


def test_two_recordings_linked_both_ways_are_one_match_in_the_direction_that_scored_better(report_case):
    view = read_case(report_case.path)
    links = Counter[frozenset[str]]()
    best: dict[frozenset[str], float] = {}
    for item in view.items:
        for link in (item.audio.links or ()) if item.audio else ():
            if link.confidence == "weak":
                continue  # e.g. strike_original's 0.75 s overlap with intercept_clip, found one way only
            pair = frozenset((item.sha256, link.reference_sha256))
            links[pair] += 1
            best[pair] = max(best.get(pair, 0.0), link.score)
    # ingest's audio step links most pairs both ways (a 1.6 s overlap may be found one way only)
    assert sum(count == 2 for count in links.values()) >= 5 and set(links.values()) <= {1, 2}
    matches = facts.intercept_matches(view)
    pairs = [frozenset((m.query.item.sha256, m.reference.item.sha256)) for m in matches]
    assert len(pairs) == len(set(pairs)) and {pair: m.score for pair, m in zip(pairs, matches)} == best
    assert len(exported_case(view).intercept_matches) == len(best)


def test_weak_intercept_matches_are_left_out_and_the_others_show_their_confidence(tmp_path, alice):
    library = tmp_path / "intercepts.sqlite"
    with Library(library) as lib:
        index_paths(lib, [FIXTURES / "incident" / "video" / "strike_original.mp4"])  # a recording outside the case
    case = tmp_path / "case"
    ingest([FIXTURES / "incident" / "audio"], case, key=alice, audio_library=library)
    view = read_case(case)
    clip, full = view.item_named("intercept_clip.m4a"), view.item_named("intercept_full.wav")
    clip_record, full_record = _audio_record(view, clip.sha256), _audio_record(view, full.sha256)
    [to_full] = [m for m in clip_record["links"] if m["reference_sha256"] == full.sha256]
    [to_clip] = [m for m in full_record["links"] if m["reference_sha256"] == clip.sha256]
    [in_library] = full_record["library"]["matches"]  # strike_original's sound is the full intercept's 9.6-13.2 s
    to_full["confidence"], to_clip["confidence"], in_library["confidence"] = "strong", "likely", "strong"
    # The clip heard a second time in the full intercept's fourth burst: another place of the same pair.
    again = _elsewhere(to_clip, 7.5, score=0.4567, confidence="strong")
    full_record["links"] += [again, _elsewhere(to_clip, -5.0, score=0.4321, confidence="weak")]
    full_record["library"]["matches"].append(_elsewhere(in_library, 5.0, score=0.4321, confidence="weak"))
    with open_case(case, alice, create=False) as opened:
        opened.add_record(clip.sha256, "audio", clip_record)
        opened.add_record(full.sha256, "audio", full_record)

    view = read_case(case)
    matches = facts.intercept_matches(view)
    shown = max(to_full, to_clip, key=lambda m: m["score"])
    in_case = [(m.offset_s, m.score, m.confidence) for m in matches if m.reference.item is not None]
    assert sorted(in_case) == sorted([(shown["offset_s"], shown["score"], shown["confidence"]),
                                      (again["offset_s"], 0.4567, "strong")])
    from_library = [(m.query.key, m.offset_s, m.confidence) for m in matches if m.reference.item is None]
    assert (full.sha256, in_library["offset_s"], "strong") in from_library
    assert len(from_library) == 1 + len((clip_record.get("library") or {}).get("matches") or ())
    assert "weak" not in [m.confidence for m in matches] and 0.4321 not in [m.score for m in matches]
    html = render_report(view, verify_case(case)).files["index.html"].decode()
    assert f"<dt>score</dt><dd>{shown['score']:.3f} ({shown['confidence']})</dd>" in html
    assert "<dt>score</dt><dd>0.457 (strong)</dd>" in html and "<dd>0.432" not in html and "(weak)" not in html
    document = exported_case(view)
    assert [m.confidence for m in document.intercept_matches] == [m.confidence for m in matches]


def test_transmissions_are_the_speech_bursts_in_counts_tables_and_exports(report_case, rendered):
    view = read_case(report_case.path)
    speech = {item.sha256: [s.to_json() for track in item.audio.tracks for s in track.segments if s.kind == "speech"]
              for item in view.items if item.audio}
    full = report_case.sha256["audio/intercept_full.wav"]
    segments = [s for track in view.item(full).audio.tracks for s in track.segments]
    assert len(speech[full]) == 4 and len(segments) > 4  # the fixture's four bursts, and silence and squelch tails
    document = exported_case(view)
    # The json export's "transmissions", in the segments' own JSON: the same keys, the speech bursts only.
    assert {i["sha256"]: i["transmissions"] for i in document.to_json()["items"] if i["sha256"] in speech} == speech
    rows = csv.DictReader(io.StringIO(csv_bytes(document).decode("utf-8-sig")))
    assert {r["sha256"]: int(r["transmissions"]) for r in rows if r["sha256"] in speech} == \
        {sha256: len(bursts) for sha256, bursts in speech.items()}
    _exported, out = rendered
    html = (out / "index.html").read_text("utf-8")
    card = html[html.index(f'id="{Exhibits(view).of(view.item(full)).label}"'):]
    card = card[:card.index("</article>")]
    assert card.count('<td data-label="start">') == 4 and "<th>kind</th>" not in card


def test_an_older_record_keeps_segments_without_a_kind_and_leaves_out_other_kinds(tmp_path, alice):
    case = tmp_path / "case"
    ingest([FIXTURES / "incident" / "audio"], case, key=alice, analyse=False)
    clip = read_case(case).item_named("intercept_clip.m4a")
    with open_case(case, alice, create=False) as opened:
        opened.add_record(clip.sha256, "audio", {"transmissions": [
            {"start_s": 2.5, "end_s": 3.9}, {"start_s": 0.2, "end_s": 1.4, "label": "speech"},
            {"start_s": 1.4, "end_s": 1.9, "label": "squelch_tail"}]})
    found = facts.transmissions(read_case(case).item(clip.sha256))
    assert [(t.start_s, t.end_s, t.label) for t in found] == [(0.2, 1.4, "speech"), (2.5, 3.9, "")]


def _audio_record(view: CaseView, sha256: str) -> dict[str, Any]:
    return json.loads(json.dumps(view.item(sha256).audio.to_json()))


def _elsewhere(match: dict[str, Any], shift_s: float, **changes: Any) -> dict[str, Any]:
    """The match moved `shift_s` later in the query, the same stretch of the reference."""
    return match | {"offset_s": round(match["offset_s"] - shift_s, 4),
                    "query_start_s": round(match["query_start_s"] + shift_s, 3),
                    "query_end_s": round(match["query_end_s"] + shift_s, 3)} | changes
