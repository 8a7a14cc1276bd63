"""Reading an export file as hostile input: bounded in size, never through a link, any bytes decoded.

An export reaches a verifier from anyone: it may be huge, cut short, not UTF-8, nested a
million deep, or not an export at all. Each of these gives a clear sentence, never a crash,
in time and memory bounded by `max_bytes`.
"""

from __future__ import annotations

import json
import os
import re
import stat
from typing import Any

from forensics.inputs import why_not_read
from forensics.messages.record import Unparsed

MAX_UNPARSED = 200  # notes kept per export; past them one more counts the rest


class NotAnExport(Exception):
    """The file is not an export that can be read; the text says why, for the user."""


class UnparsedNotes:
    """Collects what an export held that was not understood, keeping the first MAX_UNPARSED."""

    def __init__(self) -> None:
        self.kept: list[Unparsed] = []
        self.more = 0

    def add(self, where: str, note: str) -> None:
        if len(self.kept) < MAX_UNPARSED:
            self.kept.append(Unparsed(where, note))
        else:
            self.more += 1

    def notes(self) -> tuple[Unparsed, ...]:
        """Gives the notes kept, and a last one counting those left out."""
        if not self.more:
            return tuple(self.kept)
        return (*self.kept, Unparsed("(file)", f"{self.more} more things not understood, not listed"))


def read_head(path: str, size: int) -> bytes:
    """Gives up to `size` first bytes of a regular file, opened without following a link or blocking on a FIFO."""
    fd = _open(path)
    try:
        return os.read(fd, size)
    finally:
        os.close(fd)


def read_bounded(path: str, *, max_bytes: int) -> bytes:
    """Gives the whole of a regular file; raises NotAnExport when it is larger than `max_bytes`."""
    fd = _open(path)
    try:
        size = os.fstat(fd).st_size
        if size > max_bytes:
            raise NotAnExport(f"{size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB an export may have "
                              "to be read; give a higher limit to read it")
        chunks, total = [], 0
        while total <= max_bytes:  # a file growing while read is read no further than the limit
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise NotAnExport(f"grew past the {max_bytes / 2**20:.0f} MiB an export may have while it was read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def open_regular(path: str) -> int:
    """Gives an open descriptor of a regular file (the caller closes it), opened without following a link or
    blocking on a FIFO; raises NotAnExport for anything else."""
    return _open(path)


def _open(path: str) -> int:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise NotAnExport(why_not_read(info) or "not a regular file")
    return fd


def decode(data: bytes, notes: UnparsedNotes | None = None) -> str:
    """Gives the text of UTF-8 bytes (a BOM dropped); bytes that are not UTF-8 become U+FFFD, each line with
    them noted."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("utf-8-sig", "replace")
    if notes is not None:
        bad = [n for n, line in enumerate(text.split("\n"), 1) if "\ufffd" in line]
        for number in bad[:20]:
            notes.add(f"line {number}", "bytes that are not UTF-8, read as U+FFFD")
        if len(bad) > 20:
            notes.add("(file)", f"{len(bad) - 20} more lines with bytes that are not UTF-8")
    return text


def load_json(data: bytes, notes: UnparsedNotes) -> Any:
    """Gives the JSON value of an export's bytes; raises NotAnExport saying where and why it is not JSON."""
    text = decode(data, notes)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as ex:
        raise NotAnExport(f"not valid JSON at line {ex.lineno}, column {ex.colno} ({ex.msg}): "
                          "cut short or damaged; export it again") from ex
    except RecursionError as ex:
        raise NotAnExport("JSON nested too deep to read: no exporter writes this") from ex
    except ValueError as ex:  # a number with more digits than Python converts
        raise NotAnExport(f"JSON that cannot be read ({ex})") from ex
    if _SURROGATE_ESCAPE.search(text):
        notes.add("(file)", "text escapes that are half of a UTF-16 pair (an emoji cut in two, or damage): each is "
                            "shown as its escape, \\udXXX, not as a character")
        return _without_surrogates(value)
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_surrogates(value: Any) -> Any:
    """The JSON value with each lone surrogate (which no UTF-8 text can hold; json joins the pairs) written as its
    escape."""
    if isinstance(value, str):
        if not _LONE_SURROGATE.search(value):
            return value
        return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    if isinstance(value, list):
        return [_without_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    return value
