"""The audio step of ingest: transmissions and fingerprints per item, links between files sharing a
transmission, and matches against an intercept library."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import FIXTURES, bag_valid
from forensics.audio.library import Library
from forensics.audio.search import index_paths, match_paths
from forensics.custody.verify import verify_case
from forensics.incident import ingest

# From fixtures/make_fixtures.py: the clip is intercept_full[7.00 s, 11.00 s); strike_original's
# sound has intercept_full[9.60 s, 13.20 s) from 2.00 s; strike_excerpt is the original from 4.00 s.
CLIP_FROM_S, VIDEO_AUDIO_SHIFT_S, EXCERPT_START_S = 7.0, 9.60 - 2.00, 4.0


def _audio_records(case: Path) -> dict[str, dict]:
    manifest = json.loads((case / "custody/manifests/incident.json").read_bytes())
    out = {}
    for item in manifest["items"]:
        if "audio" in item["records"]:
            out[item["received"][0]["name"]] = json.loads((case / item["records"]["audio"]["path"]).read_bytes())
    return out


def test_ingest_links_the_files_that_share_a_transmission_and_matches_the_library(tmp_path: Path, alice,
                                                                                    monkeypatch):
    library = tmp_path / "intercepts.sqlite"
    with Library(library) as lib:
        index_paths(lib, [FIXTURES / "incident" / "audio" / "intercept_full.wav"])
    # The workers analyse each recording for the case; linking decodes it again here and analyses it as a query,
    # with the peaks `audio match` takes.
    import forensics.audio.search as search
    from forensics.audio.match import QUERY_PEAKS_PER_S
    analysed_here, analyse = [], search.analyse
    monkeypatch.setattr(search, "analyse", lambda *a, **k: analysed_here.append(k) or analyse(*a, **k))
    result = ingest([FIXTURES / "incident"], tmp_path / "case", key=alice, audio_library=library)
    assert analysed_here and all(k["peaks_per_s"] == QUERY_PEAKS_PER_S for k in analysed_here)
    case = Path(result.case)
    records = _audio_records(case)
    assert set(records) == {"audio/intercept_clip.m4a", "audio/intercept_full.wav", "video/strike_excerpt.mp4",
                            "video/strike_original.mp4", "video/strike_whatsapp.mp4"}
    full = records["audio/intercept_full.wav"]
    [track] = full["tracks"]
    assert len([s for s in track["segments"] if s["kind"] == "speech"]) == 4  # the fixture's four bursts
    assert (case / track["fingerprint"]).is_file()

    def link(record: dict, name: str) -> dict:
        return next(m for m in record["links"] if m["reference"] == name)

    clip = records["audio/intercept_clip.m4a"]
    assert abs(link(clip, "audio/intercept_full.wav")["offset_s"] - CLIP_FROM_S) < 0.010
    original = records["video/strike_original.mp4"]
    to_full = link(original, "audio/intercept_full.wav")
    assert abs(to_full["offset_s"] - VIDEO_AUDIO_SHIFT_S) < 0.010
    assert 2.0 <= to_full["query_start_s"] < 3.0 and 5.0 < to_full["query_end_s"] <= 5.6  # the radio's turn
    assert abs(link(records["video/strike_excerpt.mp4"], "video/strike_original.mp4")["offset_s"]
               - EXCERPT_START_S) < 0.010
    assert all(m["reference_sha256"] not in track["fingerprint"] for m in full["links"])  # never itself
    # The library holds only intercept_full: the clip and the original video are found in it, where they are.
    [in_library] = clip["library"]["matches"]
    assert abs(in_library["offset_s"] - CLIP_FROM_S) < 0.010
    # The same file in the same library: the same matches, weak ones too, as `audio match --all` gives.
    monkeypatch.undo()
    with Library(library) as lib:
        for name in ("audio/intercept_clip.m4a", "video/strike_original.mp4"):
            [found] = match_paths(lib, [FIXTURES / "incident" / name])
            assert records[name]["library"]["matches"] == [m.to_json() for m in found.matches], name
    assert abs(original["library"]["matches"][0]["offset_s"] - VIDEO_AUDIO_SHIFT_S) < 0.010
    assert verify_case(case).intact
    bag_valid(case)
