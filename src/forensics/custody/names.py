"""Names as received (any bytes) and the safe names the case stores them under."""

from __future__ import annotations

import base64
import re
import unicodedata

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EXTENSION = re.compile(rb"\.([A-Za-z0-9]{1,8})$")


def safe_name(text: str, *, max_len: int = 64) -> str:
    """Returns `text` reduced to a portable file name: letters, digits, dot, dash, underscore."""
    name = _UNSAFE.sub("-", text).strip(".-") or "unnamed"
    return name[:max_len]


def received_name(raw: bytes) -> dict[str, str]:
    """Returns a name as received for JSON: the text, and its exact bytes when they are not UTF-8.

    A name may hold newlines or bytes that are no UTF-8; JSON cannot carry the
    latter, so `name` shows them escaped (\\xff) and `name_b64` keeps the bytes.
    """
    try:
        return {"name": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"name": raw.decode("utf-8", "backslashreplace"),
                "name_b64": base64.b64encode(raw).decode("ascii")}


def name_bytes(record: dict[str, str]) -> bytes:
    """Returns the exact bytes of a name recorded by `received_name`."""
    if "name_b64" in record:
        return base64.b64decode(record["name_b64"])
    return record["name"].encode("utf-8")


def extension_of(raw: bytes) -> str:
    """Returns the lower-case extension of a received name, with its dot, or "" when it has none that is safe."""
    m = _EXTENSION.search(raw.rsplit(b"/", 1)[-1])
    return "." + m.group(1).decode("ascii").lower() if m else ""


def is_text(value: str) -> bool:
    """Whether `value` is text, not bytes of another encoding carried as surrogate escapes."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# Letters that render as a blank (Hangul fillers, a combining grapheme joiner, Khmer inherent vowels,
# the blank braille pattern, variation selectors...):
# with the control and format characters, what can hide text in a name or fake a different one.
_BLANK_LETTERS = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u180e\u2800\u3164\uffa0"
                           + "".join(map(chr, range(0xFE00, 0xFE10)))  # variation selectors
                           + "".join(map(chr, range(0xE0100, 0xE01F0))))


def is_invisible(char: str) -> bool:
    """Whether one character shows as nothing or a blank: a control, a format character (bidirectional
    and zero-width marks, tag characters), a line or paragraph separator, an unassigned or private one,
    or a letter that renders blank."""
    # Spaces other than the plain one (no-break, ideographic, thin...) look like it: shown, not trusted.
    return (unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
            or (unicodedata.category(char) == "Zs" and char != " ") or char in _BLANK_LETTERS)
