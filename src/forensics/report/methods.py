"""The statement of methods (methods.json, versioned with the code): each analysis's figures of record, and the
measured precision of each confidence band, in words a reader of a report can weigh.

A near-duplicate or intercept match carries a score and a band (strong, likely);
the score alone says little to a court. Each band's precision on the held-out
half of its benchmark is quoted word for word from benchmarks/README.md, with
where and when it was measured (tests/report check the quotes against the text).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

NEAR_DUPLICATES = "near-duplicates"
INTERCEPTS = "intercepts"


@dataclass(frozen=True, slots=True)
class Band:
    """A confidence band of one analysis, with the precision measured for it."""

    analysis: str  # NEAR_DUPLICATES or INTERCEPTS
    confidence: str  # "strong" | "likely"
    precision: str  # as printed, e.g. "0.997"
    listed: int  # matches of this band the benchmark listed
    quote: str  # the words of the source, verbatim
    source: str
    measured: str

    def words(self) -> str:
        """Gives the band and its measured precision as a phrase a reader can weigh."""
        return (f"{self.confidence} match: precision {self.precision} measured for this band ({self.listed:,} "
                f"matches listed on the benchmark's held-out half; {self.source}, measured {self.measured})")


@cache
def methods() -> Mapping[str, Any]:
    """Gives the statement of methods: each analysis, its figures of record with the command that measured them."""
    data: Mapping[str, Any] = json.loads((resources.files("forensics.report") / "methods.json").read_text("utf-8"))
    return data


def bands() -> tuple[Band, ...]:
    """Gives every band the statement of methods gives a measured precision for."""
    return tuple(Band(b["analysis"], b["confidence"], b["precision"], int(b["listed"]), b["quote"], b["source"],
                      b["measured"]) for b in methods()["bands"])


def band(analysis: str, confidence: str) -> Band | None:
    """Gives the band of a match, or None for a band without a measured precision (a record made before bands)."""
    return next((b for b in bands() if b.analysis == analysis and b.confidence == confidence), None)


def score_words(analysis: str, confidence: str, score: float | None) -> str:
    """Gives a match's score in words: its band and the band's measured precision, the score after."""
    shown = "" if score is None else f" (score {score:.3f})"
    found = band(analysis, confidence)
    if found is not None:
        return found.words() + shown
    if confidence:
        return f"{confidence} match{shown}: no precision measured for this band"
    return f"a match recorded before confidence bands{shown}: no measured precision applies"
