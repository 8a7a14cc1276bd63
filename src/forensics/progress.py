"""Progress reports that library calls pass to a callback the caller gives them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a long call has come; `total` is None while it is not known."""

    done: int
    total: int | None
    label: str  # what is being worked on now, for display only
    unit: str = "files"


ProgressCallback = Callable[[Progress], None]


def tell(callback: ProgressCallback | None, done: int, total: int | None, label: str,
         unit: str = "files") -> None:
    """Gives `callback` a Progress, when there is a callback."""
    if callback is not None:
        callback(Progress(done, total, label, unit))
