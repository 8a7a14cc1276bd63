"""The PDF report's page: its fonts, the line every page carries, evidence text made safe, figures drawn as vectors.

Made with fpdf2, without a browser or a system library. The fonts are DejaVu
Sans and Sans Mono, shipped in the package (fonts/, their licence beside them)
and embedded as subsets, so the document reads the same everywhere and can be
PDF/A. A character a font has no glyph for is shown as its \\u escape, never as
a blank box; controls, bidirectional marks and bytes that were not UTF-8 are
shown as escapes as in the HTML report.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from forensics.report.figure import Circle, Figure, Line, Rect, Text, shown_text

SANS = "sans"
MONO = "mono"
_FONT_FILES = {(SANS, ""): "DejaVuSans.ttf", (SANS, "B"): "DejaVuSans-Bold.ttf", (MONO, ""): "DejaVuSansMono.ttf"}
COMPLIANCE = "PDF/A-4"  # archival, on PDF 2.0: an Ed25519 signature (ISO 32002) makes the file PDF 2.0 (pyHanko says so)
MARGIN_MM = 15.0
FOOTER_MM = 16.0
HEX_PER_LINE = 32  # a digest in the custody table: lines of 32 hex digits, so each line breaks at the same place


def _font_path(family: str, style: str) -> Path:
    return Path(str(resources.files("forensics.report") / "fonts" / _FONT_FILES[(family, style)]))


@functools.cache
def _glyphs(family: str) -> frozenset[int]:
    """Gives the code points every style of `family` can draw."""
    points: frozenset[int] | None = None
    for (fam, style) in _FONT_FILES:
        if fam == family:
            cmap = TTFont(str(_font_path(fam, style)), lazy=True)["cmap"].getBestCmap()
            points = frozenset(cmap) if points is None else points & frozenset(cmap)
    return points or frozenset()


def pdf_text(value: object, *, family: str = SANS) -> str:
    """Gives evidence text as the PDF shows it: invisible characters and those the font lacks as escapes."""
    glyphs = _glyphs(family)
    out = []
    for char in shown_text(value):
        code = ord(char)
        out.append(char if code in glyphs else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    return "".join(out)


def digest_lines(hex_digest: str) -> str:
    """Gives a digest in lines of HEX_PER_LINE digits, for a monospaced cell."""
    return "\n".join(hex_digest[n:n + HEX_PER_LINE] for n in range(0, len(hex_digest), HEX_PER_LINE))


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


class ReportPdf(FPDF):
    """An A4 document whose every page ends with the case id, the page number and the custody log head."""

    def __init__(self, *, case_id: str, head: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4", enforce_compliance=COMPLIANCE)
        self.case_id = case_id
        self.head = head  # "entry N, sha256:<hex>"
        for (family, style) in _FONT_FILES:
            self.add_font(family, style, str(_font_path(family, style)))
        self.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        self.set_auto_page_break(True, margin=FOOTER_MM + 4.0)
        self.set_lang("en")

    @property
    def content_width(self) -> float:
        return self.w - self.l_margin - self.r_margin

    def footer(self) -> None:
        self.set_y(-FOOTER_MM)
        self.set_draw_color(176, 176, 176)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_text_color(80, 80, 80)
        self.set_font(SANS, size=7.5)
        self.cell(self.content_width, 4.5, pdf_text(f"Case {self.case_id} · page {self.page_no()} of {{nb}}"),
                  align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(MONO, size=6.5)
        self.cell(self.content_width, 4.0, f"custody log head: {self.head}", align="C")
        self.set_text_color(0, 0, 0)

    def heading(self, text: str, *, level: int = 1) -> None:
        """Writes a section heading, on a new page for level 1, and a bookmark for it."""
        if level == 1 or self.get_y() > self.h - 60:
            self.add_page()
        self.start_section(text, level=level - 1)
        self.set_font(SANS, "B", size={1: 15, 2: 11.5}.get(level, 10))
        self.multi_cell(self.content_width, 7 if level == 1 else 6, pdf_text(text), align="L",
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)
        self.set_font(SANS, size=9.5)

    def paragraph(self, text: str, *, size: float = 9.5, family: str = SANS, colour: tuple[int, int, int] = (0, 0, 0),
                  line_mm: float = 4.6) -> None:
        """Writes text (already made safe with pdf_text) as a left-aligned paragraph."""
        self.set_font(family, size=size)
        self.set_text_color(*colour)
        self.multi_cell(self.content_width, line_mm, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)
        self.ln(1.2)

    def figure(self, figure: Figure) -> None:
        """Draws a figure's shapes as PDF vectors, the full text width, cut between text lines across pages."""
        scale = self.content_width / figure.width  # mm per px
        bottom = self.h - self.b_margin
        if (bottom - self.get_y()) / scale < 60.0:
            self.add_page()
        top_px = 0.0
        for n, cut_px in enumerate(_cuts(figure, first_px=(bottom - self.get_y()) / scale,
                                         page_px=(bottom - self.t_margin) / scale)):
            if n:
                self.add_page()
            y_mm = self.get_y()
            with self.rect_clip(self.l_margin, y_mm, self.content_width, (cut_px - top_px) * scale):
                self._shapes(figure, scale, self.l_margin, y_mm - top_px * scale)
            self.set_y(y_mm + (cut_px - top_px) * scale)
            top_px = cut_px
        self.ln(3.0)

    def _shapes(self, figure: Figure, scale: float, x0: float, y0: float) -> None:
        for shape in figure.shapes:
            if isinstance(shape, Line):
                self.set_draw_color(*_rgb(shape.stroke))
                self.set_line_width(shape.width * scale)
                self.set_dash_pattern(dash=4 * scale, gap=3 * scale) if shape.dashed else self.set_dash_pattern()
                self.line(x0 + shape.x1 * scale, y0 + shape.y1 * scale, x0 + shape.x2 * scale, y0 + shape.y2 * scale)
                self.set_dash_pattern()
            elif isinstance(shape, Rect):
                style = ("D" if shape.stroke else "") + ("F" if shape.fill else "")
                if not style:
                    continue
                self.set_line_width(0.8 * scale)
                if shape.stroke:
                    self.set_draw_color(*_rgb(shape.stroke))
                if shape.fill:
                    self.set_fill_color(*_rgb(shape.fill))
                self.rect(x0 + shape.x * scale, y0 + shape.y * scale, shape.w * scale, shape.h * scale, style=style)
            elif isinstance(shape, Circle):
                self.set_line_width(1.0 * scale)
                self.set_draw_color(*_rgb(shape.stroke))
                self.set_fill_color(*_rgb(shape.fill or "#ffffff"))
                self.circle(x0 + shape.cx * scale, y0 + shape.cy * scale, shape.r * scale, style="DF")
            elif isinstance(shape, Text):
                self.set_font(SANS, "B" if shape.bold else "", size=shape.size * scale * 72.0 / 25.4)
                self.set_text_color(*_rgb(shape.fill))
                text = pdf_text(shape.text)
                x = x0 + shape.x * scale
                if shape.anchor != "start":
                    x -= self.get_string_width(text) / (2.0 if shape.anchor == "middle" else 1.0)
                self.text(x, y0 + shape.y * scale, text)
        self.set_text_color(0, 0, 0)
        self.set_draw_color(0, 0, 0)
        self.set_fill_color(255, 255, 255)  # tables drawn next fill with the current colour
        self.set_line_width(0.2)


def _cuts(figure: Figure, *, first_px: float, page_px: float) -> list[float]:
    """Gives where to cut a figure into page-high slices (the first the room left), never through a line of text."""
    # A line of text from its cap height to its descenders: less than the line spacing, so lines never chain.
    boxes = [(s.y - s.size * 0.85, s.y + s.size * 0.25) for s in figure.shapes if isinstance(s, Text)]
    cuts: list[float] = []
    top, room = 0.0, first_px
    while figure.height - top > room:
        cut = top + room
        for _ in range(len(boxes)):
            inside = [b for b in boxes if b[0] < cut < b[1]]
            if not inside:
                break
            cut = min(b[0] for b in inside)
        if cut <= top + 1.0:
            cut = top + room  # a line of text taller than a page: cut through it
        cuts.append(cut)
        top, room = cut, page_px
    cuts.append(figure.height)
    return cuts
