"""The statement of methods: each band's measured precision is quoted from the figures of record, word for word."""

from __future__ import annotations

from conftest import REPO
from forensics.report.methods import INTERCEPTS, NEAR_DUPLICATES, band, bands, methods, score_words


def _squeezed(text: str) -> str:
    return " ".join(text.split())


def test_each_band_quotes_its_precision_from_the_benchmarks_word_for_word():
    sources = {name: _squeezed((REPO / name).read_text("utf-8")) for name in ("README.md", "benchmarks/README.md")}
    found = bands()
    assert {(b.analysis, b.confidence) for b in found} == {(a, c) for a in (NEAR_DUPLICATES, INTERCEPTS)
                                                           for c in ("strong", "likely")}
    for b in found:
        assert _squeezed(b.quote) in sources[b.source], b.quote
        assert b.precision in b.quote and f"{b.listed:,}".replace(",", "") in b.quote.replace(",", ""), b
    # The figures of record named in the brief of #22: dedup strong 1.000, likely 0.997; audio 1.000, 0.982.
    assert [band(NEAR_DUPLICATES, c).precision for c in ("strong", "likely")] == ["1.000", "0.997"]
    assert [band(INTERCEPTS, c).precision for c in ("strong", "likely")] == ["1.000", "0.982"]
    # The PDF's statement of methods quotes the same precision as the bands.
    audio = next(a for a in methods()["analyses"] if a["name"].startswith("Intercepts"))
    assert any("precision 0.982" in f["quote"] for f in audio["figures"])


def test_a_score_is_said_in_words_with_its_band_precision():
    assert score_words(NEAR_DUPLICATES, "likely", 0.8123).startswith("likely match: precision 0.997 measured")
    assert "precision 0.997" in score_words(NEAR_DUPLICATES, "likely", 0.8123) and "(score 0.812)" in \
        score_words(NEAR_DUPLICATES, "likely", 0.8123)
    assert "no measured precision applies" in score_words(INTERCEPTS, "", 0.5)
