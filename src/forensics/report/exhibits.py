"""Exhibit numbers: one numbering of a case's items for the HTML report, the PDF and the CSV and JSON exports.

An item's number is its place in the order the custody log first received the
items (E1, E2...), so it never changes while the case grows: a later ingest adds
numbers after the last. What verify found wrong with an item's stored copy is
told here too, for every rendering to mark the same exhibits FAILED.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from forensics.custody.inspection import Finding
from forensics.custody.verify import VerifyReport
from forensics.custody.view import CaseView, ItemView


@dataclass(frozen=True, slots=True)
class Exhibit:
    """An item of the case under its exhibit number."""

    number: int
    item: ItemView

    @property
    def label(self) -> str:
        return f"E{self.number}"


def exhibits_of(view: CaseView) -> tuple[Exhibit, ...]:
    """Gives the case's items numbered from 1 in the order the custody log first received them (a stable order)."""
    return tuple(Exhibit(n, item) for n, item in enumerate(view.items, start=1))


class Exhibits:
    """The exhibits of a case, found by item digest."""

    def __init__(self, view: CaseView) -> None:
        self.all = exhibits_of(view)
        self._by_sha = {e.item.sha256: e for e in self.all}

    def __iter__(self) -> Iterator[Exhibit]:
        return iter(self.all)

    def __len__(self) -> int:
        return len(self.all)

    def of(self, item: ItemView) -> Exhibit:
        """Gives the item's exhibit (every item of the view has one)."""
        return self._by_sha[item.sha256]

    def label(self, sha256: str) -> str:
        """Gives the exhibit label of an item by its digest, "" for a file the case does not hold."""
        found = self._by_sha.get(sha256.removeprefix("sha256:"))
        return found.label if found else ""

    def labels(self) -> dict[str, str]:
        """Gives "E3 name as first received" by item digest: how figures and tables name an item."""
        return {e.item.sha256: f"{e.label} {e.item.display_name}" for e in self.all}


def original_findings(verification: VerifyReport, item: ItemView) -> list[Finding]:
    """Gives what verify found wrong with the item's stored copy (altered, missing, unreadable, moved)."""
    stored = item.item.stored.path
    return [f for f in verification.findings if f.subject == stored or item.sha256 in f.subject]


def derived_findings(verification: VerifyReport, item: ItemView) -> list[Finding]:
    """Gives what verify found wrong with the files derived from the item and its analysis records."""
    paths = {d.stored.path for d in item.item.derived} | {r.path for r in item.item.records.values()}
    return [f for f in verification.findings if f.subject in paths]
