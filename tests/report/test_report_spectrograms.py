"""The report's spectrograms draw the samples the audio step measured its times on: one decoder, no second one."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import FIXTURES
from forensics.audio.decode import decode_audio
from forensics.custody.signing import new_key
from forensics.custody.view import read_case
from forensics.incident import ingest
from forensics.report import pictures
from forensics.report.cards import Pictures
from forensics.report.folder import Assets

RATE_HZ = pictures.SPECTROGRAM_RATE_HZ


def test_a_span_is_drawn_from_the_samples_decode_audio_gives_at_its_times(tmp_path: Path, monkeypatch) -> None:
    source = tmp_path / "incident"
    source.mkdir()
    for name in ("video/strike_original.mp4", "audio/intercept_clip.m4a"):  # AAC: a decoder that seeks lands off
        shutil.copy(FIXTURES / "incident" / name, source)
    ingest([source], tmp_path / "case", key=new_key("Amina Haddad", tmp_path / "amina.key"), analyse=False)
    view = read_case(tmp_path / "case")
    drawn: list[tuple[np.ndarray, float]] = []
    real = pictures.spectrogram_png
    monkeypatch.setattr(pictures, "spectrogram_png",
                        lambda samples, *, start_s, **kw: drawn.append((samples, start_s)) or real(
                            samples, start_s=start_s, **kw))
    shown = Pictures(view, Assets())
    for item in view.items:
        whole = decode_audio(tmp_path / "case" / item.item.stored.path, sample_rate_hz=RATE_HZ).tracks[0].samples
        for span_s in (None, (3.5, 5.25), (2.0, 2.5)):
            drawn.clear()
            assert "<figure>" in shown.spectrogram(item, span_s, "query")
            [(samples, start_s)] = drawn
            first = round(start_s * RATE_HZ)
            length = len(samples)
            assert start_s == (0.0 if span_s is None else span_s[0] - 1.0)
            assert length == min(len(whole) - first, 30 * RATE_HZ if span_s is None else
                                 round((span_s[1] + 1.0 - start_s) * RATE_HZ))
            assert np.array_equal(samples, whole[first:first + length]), (item.display_name, span_s)


@pytest.mark.parametrize("kind", ["no audio", "a link"])
def test_a_file_the_decoder_refuses_is_named_not_drawn(tmp_path: Path, kind: str) -> None:
    source = tmp_path / "incident"
    source.mkdir()
    shutil.copy(FIXTURES / "incident" / "photo" / "IMG_0001.jpg", source / "x.mp4")
    ingest([source], tmp_path / "case", key=new_key("Amina Haddad", tmp_path / "amina.key"), analyse=False)
    view = read_case(tmp_path / "case")
    [item] = view.items
    stored = tmp_path / "case" / item.item.stored.path
    if kind == "a link":  # a case is untrusted: a link in it is never read through
        shutil.copy(FIXTURES / "incident" / "audio" / "intercept_clip.m4a", tmp_path / "elsewhere.m4a")
        stored.unlink()
        stored.symlink_to(tmp_path / "elsewhere.m4a")
    html = Pictures(view, Assets()).spectrogram(item, None, "audio")
    assert html.startswith('<p class="flag">no spectrogram of x.mp4: ') and "<img" not in html
