"""Why a still has no preview: a damaged or truncated file of a format decoded here is said to be damaged, never
"this picture format cannot be decoded here", which is kept for formats that are not."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from conftest import SHARED_DATA
from forensics.custody.signing import new_key
from forensics.custody.verify import verify_case
from forensics.custody.view import read_case
from forensics.incident import ingest
from forensics.report.exhibits import Exhibits
from forensics.report.html import render_report
from forensics.report.pictures import picture_preview
from test_report import visible_text

JXL = b"\xff\x0a" + bytes(range(256)) * 4  # JPEG XL's signature: a format not decoded here


@pytest.fixture(scope="module")
def avif(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A small AVIF still, encoded by the FFmpeg that imageio-ffmpeg ships."""
    out = tmp_path_factory.mktemp("avif") / "still.avif"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=128x96",
                    "-frames:v", "1", "-c:v", "libaom-av1", "-still-picture", "1", str(out)], check=True)
    return out.read_bytes()


def test_a_whole_avif_has_a_preview(avif):
    preview = picture_preview(avif)
    assert preview.jpeg is not None and preview.jpeg.startswith(b"\xff\xd8") and preview.why_not == ""


def test_a_truncated_avif_is_said_to_be_truncated_with_where_it_ends(avif):
    cut = avif[:len(avif) * 2 // 3]
    preview = picture_preview(cut)
    assert preview.jpeg is None
    assert preview.why_not.startswith("the file is damaged: truncated, its 'mdat' box runs to byte ")
    assert f"the file ends at {len(cut):,}" in preview.why_not and "AVIF" in preview.why_not
    assert "cannot be decoded here" not in preview.why_not


def test_a_truncated_heic_of_a_phone_is_said_to_be_truncated():
    heic = SHARED_DATA / "metadata-extractor-images/heic/IMG_1034.heic"
    if not heic.is_file():
        pytest.skip(f"the shared real media are not here ({SHARED_DATA}); see ../shared/data/README.md")
    data = heic.read_bytes()
    assert picture_preview(data).jpeg is not None
    cut = data[:len(data) * 3 // 5]
    why = picture_preview(cut, width_px=4032, height_px=3024).why_not
    assert why.startswith("the file is damaged: truncated") and "HEIF" in why


def test_a_format_not_decoded_here_says_so():
    preview = picture_preview(JXL)
    assert preview.jpeg is None and preview.why_not == "this picture format cannot be decoded here (image/jxl)"


def test_a_picture_too_large_says_so_without_decoding(avif):
    why = picture_preview(avif[:200], width_px=20_000, height_px=20_000).why_not
    assert why == "the picture is 20,000 x 20,000 px, more than a preview decodes (120 million pixels)"


def test_the_card_of_a_truncated_still_says_it_is_damaged(tmp_path: Path, avif):
    source = tmp_path / "incident"
    source.mkdir()
    (source / "whole.avif").write_bytes(avif)
    (source / "cut.avif").write_bytes(avif[:len(avif) * 2 // 3])
    (source / "still.jxl").write_bytes(JXL)
    key = new_key("Amina Haddad", tmp_path / "amina.key")
    ingest([source], tmp_path / "case", key=key, incident="previews")
    view = read_case(tmp_path / "case")
    page = render_report(view, verify_case(tmp_path / "case")).files["index.html"].decode()

    def card(name: str) -> str:
        label = Exhibits(view).of(view.item_named(name)).label
        start = page.index(f'id="{label}">')
        return page[start:page.index("</article>", start)]

    assert 'alt="preview of whole.avif"' in card("whole.avif")
    cut = card("cut.avif")
    assert '<p class="bad-text">no preview: the file is damaged: truncated' in cut
    assert "the original is in the case, as received" in visible_text(cut)
    assert "cannot be decoded here" not in cut
    assert "no preview: this picture format cannot be decoded here (image/jxl)" in visible_text(card("still.jxl"))
