"""A figure as plain shapes: written as SVG for the HTML report, drawn by the PDF's own primitives in the PDF.

The chronology and places figures are laid out once, as a `Figure` of lines,
circles, rectangles and text in pixel coordinates; `figure_svg` writes it as a
self-contained SVG (no script, no style sheet, no reference to anything
outside it) and pdf.py draws the same shapes, so both show one drawing.
Evidence text goes through `shown_text`: control, zero-width and bidirectional
characters, and bytes that were not UTF-8 (lone surrogates), become visible
escapes, so a name can neither hide text, reorder a line nor break the markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from forensics.custody.names import is_invisible

INK = "#1b1b1b"
MUTED = "#5b5b5b"
LINE = "#b0b0b0"
BAD = "#a30000"
ACCENT = "#1f4e99"
LINK = "#7a3e9d"
WHITE = "#ffffff"

CHAR_WIDTH_EM = 0.6  # a wide estimate of a sans-serif letter's advance, so wrapped lines stay inside the figure

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_XML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}


@dataclass(frozen=True, slots=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str = INK
    width: float = 1.0
    dashed: bool = False


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str | None = None
    stroke: str | None = INK


@dataclass(frozen=True, slots=True)
class Circle:
    cx: float
    cy: float
    r: float
    fill: str | None = INK  # None: hollow
    stroke: str = INK


@dataclass(frozen=True, slots=True)
class Text:
    x: float
    y: float  # the baseline
    text: str  # shown as it is: pass evidence through shown_text first
    size: float = 10.0
    anchor: Literal["start", "middle", "end"] = "start"
    fill: str = INK
    bold: bool = False


Shape = Line | Rect | Circle | Text


@dataclass(frozen=True, slots=True)
class Figure:
    """A drawing in pixels, origin top left, y down."""

    width: float
    height: float
    title: str  # what the figure shows, one sentence (the SVG's <title>, the PDF's caption)
    shapes: tuple[Shape, ...]


def shown_text(value: object) -> str:
    """Gives text with every character that would not show (or is not text at all) as a visible escape."""
    out = []
    for char in str(value):
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, carried by surrogateescape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif char in _SHORT:
            out.append(_SHORT[char])
        elif is_invisible(char):
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)


def chars_per_line(width_px: float, size: float) -> int:
    """Gives how many letters of `size` fit on a line `width_px` wide (at least 8)."""
    return max(8, int(width_px / (size * CHAR_WIDTH_EM)))


def wrap(text: str, max_chars: int) -> list[str]:
    """Gives `text` in lines of at most `max_chars`, broken at spaces, and inside a word only when it is longer."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        while len(word) > max_chars:  # a digest or a name without spaces
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:max_chars])
            word = word[max_chars:]
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= max_chars:
            current += " " + word
        else:
            lines.append(current)
            current = word
    lines.append(current)
    return lines


def number(value: float) -> str:
    """Gives a coordinate with at most two decimals and no trailing zeros: the same value, the same text."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _xml(text: str) -> str:
    return "".join(_XML.get(c, c) for c in text)


def _shape_svg(shape: Shape) -> str:
    if isinstance(shape, Line):
        dash = ' stroke-dasharray="4 3"' if shape.dashed else ""
        return (f'<line x1="{number(shape.x1)}" y1="{number(shape.y1)}" x2="{number(shape.x2)}" '
                f'y2="{number(shape.y2)}" stroke="{shape.stroke}" stroke-width="{number(shape.width)}"{dash}/>')
    if isinstance(shape, Rect):
        return (f'<rect x="{number(shape.x)}" y="{number(shape.y)}" width="{number(shape.w)}" '
                f'height="{number(shape.h)}" fill="{shape.fill or "none"}" stroke="{shape.stroke or "none"}"/>')
    if isinstance(shape, Circle):
        return (f'<circle cx="{number(shape.cx)}" cy="{number(shape.cy)}" r="{number(shape.r)}" '
                f'fill="{shape.fill or WHITE}" stroke="{shape.stroke}"/>')
    weight = ' font-weight="bold"' if shape.bold else ""
    anchor = "" if shape.anchor == "start" else f' text-anchor="{shape.anchor}"'
    return (f'<text x="{number(shape.x)}" y="{number(shape.y)}" font-size="{number(shape.size)}" '
            f'fill="{shape.fill}"{anchor}{weight}>{_xml(shown_text(shape.text))}</text>')


def figure_svg(figure: Figure) -> str:
    """Gives the figure as one SVG element, scaled to the width it is shown at (a phone's too)."""
    width, height = number(figure.width), number(figure.height)
    return "".join([
        (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" role="img" font-family="sans-serif" '
        f'style="max-width:{width}px;height:auto">'),
        f"<title>{_xml(shown_text(figure.title))}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="{WHITE}"/>',
        *(_shape_svg(shape) for shape in figure.shapes),
        "</svg>",
    ])
