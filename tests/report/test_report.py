"""`forensics report`: the folder is complete and offline, evidence text is escaped, the export is logged."""

from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from case_builder import HOSTILE_MAKE, HOSTILE_MODEL, HOSTILE_TEXT_NAME, ReportCase, build_case, rendered, report_case  # noqa: F401
from conftest import bag_valid
from forensics.custody.log import read_entries
from forensics.custody.verify import verify_case
from forensics.custody.view import read_case
from forensics.errors import ParameterError
from forensics.report.folder import MANIFEST
from forensics.report.html import render_report, write_report
from forensics_cli.main import cli


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text outside tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Tags:
    parser = Tags()
    parser.feed(html)
    return parser


def visible_text(html: str) -> str:
    """The page's text, one space between the pieces of text of different elements."""
    return " ".join(" ".join(parse(html).text).split())


def test_every_picture_is_in_the_folder_and_nothing_points_outside_it(rendered):
    _exported, out = rendered
    html = (out / "index.html").read_text("utf-8")
    tags = parse(html).tags
    sources = [a["src"] for t, a in tags if t == "img"]
    assert len(sources) >= 12  # thumbnails, contact sheets, photo previews, spectrograms, match frames
    for src in sources:
        assert re.fullmatch(r"img/[0-9a-f]{64}\.(png|jpg)", src), src
        data = (out / src).read_bytes()
        assert hashlib.sha256(data).hexdigest() == src[4:68]  # named by digest, copied whole
        assert data[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xdb", b"\xff\xd8\xff\xe1")
    for tag, attrs in tags:
        for name, value in attrs.items():
            if name in ("src", "href", "action", "srcset", "poster", "data"):
                assert not re.match(r"\s*(https?:|//|ftp:|file:)", value or "", re.IGNORECASE), (tag, name, value)
        if tag == "a":
            assert attrs["href"].startswith("#"), attrs
    assert "url(" not in html and "@import" not in html
    assert not re.search(r"<(link|iframe|object|embed|base)\b", html, re.IGNORECASE)


def test_the_folder_lists_every_file_and_the_log_records_that_list(rendered, report_case):
    exported, out = rendered
    listed = dict(reversed(line.split("  ", 1)) for line in (out / MANIFEST).read_text().splitlines())
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {MANIFEST}
    assert set(listed) == on_disk
    for rel, digest in listed.items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest
    entry = next(e for e in read_entries(report_case.path / "custody/log.jsonl") if e.seq == exported.log_seq)
    assert entry.action == "exported" and entry.details["format"] == "html" and entry.details["redacted"] is False
    assert entry.objects[0]["sha256"] == hashlib.sha256((out / MANIFEST).read_bytes()).hexdigest()
    assert entry.details["rendered_from"]["seq"] == exported.log_seq - 1
    assert verify_case(report_case.path).intact
    bag_valid(report_case.path)


def test_hostile_names_and_tags_are_shown_escaped_and_never_become_markup(rendered):
    _exported, out = rendered
    html = (out / "index.html").read_text("utf-8")
    parsed = parse(html)
    assert "script" not in [t for t, _ in parsed.tags]  # the report runs nothing; its policy forbids scripts
    assert "default-src 'none'" in html and "script-src" not in html
    assert not any("onerror" in attrs for _, attrs in parsed.tags)
    assert not any((attrs.get("src") or "").startswith("https") for _, attrs in parsed.tags)
    text = "".join(parsed.text)
    assert HOSTILE_MAKE in text and HOSTILE_MODEL in text and "hostile/" + HOSTILE_TEXT_NAME in text
    assert r"hostile/strike\nsecond line.mp4" in text  # the newline is shown, not obeyed
    assert r"hostile/photo_\xff\xfe.jpg" in text  # the bytes that are not UTF-8, as escapes
    assert "not UTF-8" in text
    assert r"hostile/invoice\u202egpj.exe" in text and "\u202e" not in text  # the override shown, never obeyed
    assert "strike\nsecond" not in text


def test_every_section_shows_the_case_content(rendered, report_case):
    _exported, out = rendered
    text = visible_text((out / "index.html").read_text("utf-8"))
    assert "intact" in text and "strike-01" in text and "Amina Haddad" in text
    assert "2024-03-14T09:26:54Z ( E" in text and " video/strike_original.mp4 ) to 2024-03-14T13:05:43Z" in text
    assert "36.202130 37.134310 392.0 m EXIF GPS" in text  # the photo's place
    for name in ("notes.txt", "photo/IMG_0001_edited.jpg", "audio/intercept_full.wav"):
        assert text.count(name) >= 2
    assert "editing_software" in text and "messenger_like" in text  # flags
    assert report_case.sha256["video/strike_original.mp4"] in text
    assert "Group 1: 2 files of the same footage" in text and "Group 2: 2 files of the same footage" in text
    # The excerpt's match, as ingest's dedup step recorded it: shown with its relation, score and spans.
    original = report_case.sha256["video/strike_original.mp4"]
    record = json.loads((report_case.path / _record_path(report_case, original, "near-duplicates")).read_bytes())
    excerpt = next(m for m in record["matches"] if "sha256:" + report_case.sha256["video/strike_excerpt.mp4"]
                   in (m["a"], m["b"]))
    assert (f"{excerpt['relation'].replace('_', ' ')} (video, score {excerpt['score']:.3f}, "
            f"{excerpt['confidence']} match)") in text
    assert f"{excerpt['a_start_s']:.2f}–{excerpt['a_end_s']:.2f} s" in text
    # The clip and the full intercept, linked both ways by ingest's audio step: shown once, in the direction
    # that scored better; and the clip's first transmission (its first speech segment).
    clip, full = (json.loads((report_case.path / _record_path(report_case, report_case.sha256[name], "audio"))
                             .read_bytes()) for name in ("audio/intercept_clip.m4a", "audio/intercept_full.wav"))
    to_full = next(m for m in clip["links"] if m["reference"] == "audio/intercept_full.wav")
    to_clip = next(m for m in full["links"] if m["reference"] == "audio/intercept_clip.m4a")
    assert abs(to_full["offset_s"] - 7.0) < 0.01 and abs(to_clip["offset_s"] + 7.0) < 0.01  # clip = full[7, 11) s
    shown, left_out = sorted((to_full, to_clip), key=lambda m: -m["score"])
    assert f"{shown['offset_s']:.3f} s (the reference's time at the query's 0 s)" in text
    assert f"{left_out['offset_s']:.3f} s (the reference's time" not in text
    first = next(s for s in clip["tracks"][0]["segments"] if s["kind"] == "speech")
    assert f"Transmissions (speech bursts) # start end length 1 {first['start_s']:.3f} s {first['end_s']:.3f} s" in text
    assert "ingest of" in text and "&lt;b&gt;" not in text and "<b>note</b>" in text  # the note, as text
    # The marker of a finished near-duplicate grouping, said in words (not its field names).
    assert "near-duplicates worked out over" in text and "covers, items_hashed, kind" not in text


def test_a_case_without_dedup_or_audio_records_says_so(tmp_path, alice):
    case = build_case(tmp_path, alice, analyse=False)  # custody only
    rendered_ = render_report(read_case(case.path), verify_case(case.path))
    text = visible_text(rendered_.files["index.html"].decode())
    assert "no near-duplicate records: the dedup step has not been run" in text
    assert "no intercept audio records: the audio step has not been run" in text


def test_an_altered_record_is_not_shown_and_the_report_says_so(tmp_path, alice):
    case = build_case(tmp_path, alice)
    view = read_case(case.path)
    photo = view.item(case.sha256["photo/IMG_0001.jpg"])
    record = case.path / photo.item.records["metadata"].path
    altered = json.loads(record.read_bytes())
    altered["gps"]["latitude_deg"] = 1.5
    record.write_text(json.dumps(altered))
    view = read_case(case.path)
    assert "metadata" not in view.item(photo.sha256).records
    html = render_report(view, verify_case(case.path)).files["index.html"].decode()
    text = visible_text(html)
    assert "record-modified" in text and "changed since log entry" in text and "1.500000" not in text
    result = CliRunner().invoke(cli, ["report", str(case.path), "--key", str(alice.path), "--out",
                                      str(tmp_path / "r")], catch_exceptions=False)
    assert result.exit_code == 1 and "verify finding(s), shown in the report" in result.stdout
    assert "record-modified" in (tmp_path / "r" / "index.html").read_text()


def test_the_report_is_written_outside_the_case_and_never_over_other_files(report_case, tmp_path):
    with pytest.raises(ParameterError, match="inside the case"):
        write_report(report_case.path, report_case.key, out_dir=report_case.path / "report")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.odt").write_bytes(b"precious")
    with pytest.raises(ParameterError, match="not a report folder"):
        write_report(report_case.path, report_case.key, out_dir=tmp_path / "mine")
    assert (tmp_path / "mine" / "thesis.odt").read_bytes() == b"precious"


def test_the_command_writes_replaces_and_reports_in_json(report_case, tmp_path):
    out = tmp_path / "r"
    runner = CliRunner()
    for _ in range(2):  # the second run replaces the first report
        result = runner.invoke(cli, ["report", str(report_case.path), "--out", str(out), "--key",
                                     str(report_case.key.path), "--json"], catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        facts = json.loads(result.stdout)
        assert facts["verified_intact"] and Path(facts["index"]) == out / "index.html"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left
    assert "exported" in (out / "index.html").read_text()  # the first run's export is in the second's timeline
    # Files a user put in the earlier report folder are not deleted by replacing it: refused, left as they are.
    (out / "my_notes.txt").write_text("notes\n")
    refused = runner.invoke(cli, ["report", str(report_case.path), "--out", str(out), "--key",
                                  str(report_case.key.path), "--json"])
    assert refused.exit_code == 2 and "my_notes.txt" in refused.output
    assert (out / "my_notes.txt").read_text() == "notes\n" and (out / "index.html").is_file()
    assert runner.invoke(cli, ["report", "--help"]).exit_code == 0


def test_a_silent_audio_track_is_named_silent_not_drawn_black(tmp_path, alice):
    import subprocess

    import imageio_ffmpeg

    source = tmp_path / "src"
    source.mkdir()
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono",
                    "-t", "2", str(source / "silence.wav")], check=True)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                    "sine=frequency=1000:sample_rate=8000", "-t", "2", str(source / "tone.wav")], check=True)
    from forensics.incident import ingest

    ingest([source], tmp_path / "case", key=alice)
    html = render_report(read_case(tmp_path / "case"), verify_case(tmp_path / "case")).files["index.html"].decode()
    text = visible_text(html)
    assert "silence.wav, 0.00–2.00 s: the audio track is silent" in text
    assert "tone.wav, 0.00–2.00 s, peak -18 dBFS" in text and html.count("<img") == 1  # lavfi's sine: 1/8 full scale


def _record_path(report_case, sha256: str, kind: str) -> str:
    from forensics.custody.case import open_case

    with open_case(report_case.path, report_case.key, create=False) as case:
        return case.state.items[sha256].records[kind].path


def test_letters_that_render_blank_and_tag_characters_are_shown_as_escapes():
    from forensics.report.markup import attr, esc

    name = "strike\u3164video\U000e0041\U000e0042.mp4"  # a Hangul filler and two tag characters hide in it
    shown = esc(name)
    assert "\u3164" not in shown and "\U000e0041" not in shown
    assert "\\u3164" in shown and "\\U000e0041" in shown and "strike" in shown and "video" in shown
    assert attr(name) == "strikevideo.mp4"
    assert esc("Київ, 漢字, café") == "Київ, 漢字, café"  # letters that show stay as they are
    for hidden in ("\ufe0f", "\U000e0100", "\u2800", "\u00a0", "\u3000"):  # selectors, blank braille, odd spaces
        assert hidden not in esc(f"a{hidden}b.jpg")
