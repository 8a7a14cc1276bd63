"""HTML pieces for the report: escaping of evidence text, the page skeleton and its style sheet.

Everything that comes from evidence (names, tags, notes, actors) goes through
`esc`: HTML-escaped, and control, zero-width and bidirectional characters made
visible as escapes, so a name cannot hide text, reorder a line or break out of
its cell.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

from forensics.custody.names import is_invisible

_CANDIDATE = re.compile("[^\x20-\x7e]")  # printable ASCII never hides; the rest is asked (is_invisible)
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if not is_invisible(char):  # the soft hyphen and Arabic letter mark too (format characters)
        return char
    code = ord(char)
    shown = _SHORT.get(char) or (f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF
                                 else f"\\U{code:08x}")
    return f'<span class="esc" title="a character that would not show">{shown}</span>'


def _dropped(match: re.Match[str]) -> str:
    char = match.group()
    return "" if is_invisible(char) else char


def esc(value: Any) -> str:
    """Gives evidence text as safe HTML, with invisible characters shown as escapes."""
    if value is None:
        return ""
    return _CANDIDATE.sub(_visible, html.escape(str(value), quote=True))


def attr(value: Any) -> str:
    """Gives text for an attribute value: escaped, with invisible characters dropped."""
    return html.escape(_CANDIDATE.sub(_dropped, str(value)), quote=True)


def table(headers: Iterable[str], rows: Iterable[Iterable[str]], *, cls: str = "") -> str:
    """Gives a table in a scrolling box; cells are HTML already (escape them first)."""
    headers = list(headers)
    head = "".join(f"<th>{h}</th>" for h in headers)
    # data-label lets a phone show each row as a block of labelled lines (see STYLE).
    labels = [attr(h) for h in headers]
    body = "".join("<tr>" + "".join(f'<td data-label="{label}"><div>{c}</div></td>' for label, c in zip(labels, row)) + "</tr>"
                   for row in rows)
    return f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def definitions(pairs: Iterable[tuple[str, str]]) -> str:
    """Gives a <dl> of (term, HTML value) pairs, leaving out empty values."""
    items = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in pairs if v)
    return f"<dl>{items}</dl>" if items else ""


def counted(count: int, noun: str) -> str:
    """Gives '1 position', '3 positions': a count with its noun, in the singular for one."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def folded(summary: str, body: str) -> str:
    """Gives `body` folded under `summary` on a screen, and unfolded on paper; both are HTML already.

    A closed <details> prints closed (its content is not laid out), so a printed report
    lost what it folds: the names of a run of receipts, the distances. The body is written
    twice, once folded for the screen and once for print only, as no style sheet can open
    a closed <details> in every browser (::details-content is too new to count on).
    """
    return (f'<details class="folded"><summary>{summary}</summary>{body}</details>'
            f'<div class="unfolded"><p class="unfolded-head">{summary}</p>{body}</div>')


def digest(value: str) -> str:
    return f'<code class="digest">{esc(value)}</code>'


def seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.3f} s"


# Offline by construction: nothing may be fetched and nothing run, so the policy forbids
# every source but the folder's own pictures and the inline style sheet. Even text that
# escaped escaping could then neither load nor execute anything.
_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'"

STYLE = """
:root{--ink:#1b1b1b;--muted:#5b5b5b;--line:#d0d0d0;--bg:#fafafa;--card:#fff;--bad:#a30000;--good:#0a6b2d;--warn:#8a5a00}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:var(--ink);background:var(--bg)}
header,main,footer{max-width:1180px;margin:0 auto;padding:0 16px}
header{padding-top:18px}
h1{font-size:1.6rem;margin:.2em 0}
h2{font-size:1.3rem;margin:1.6em 0 .5em;padding-bottom:.2em;border-bottom:2px solid var(--ink)}
h3{font-size:1.05rem;margin:.2em 0 .4em;overflow-wrap:anywhere}
nav{display:flex;flex-wrap:wrap;gap:.3em 1em;font-size:.95rem;margin:.6em 0}
nav a{color:inherit}
.muted{color:var(--muted)}
.verdict{display:inline-block;padding:.25em .7em;border-radius:4px;font-weight:600;color:#fff}
.verdict.good{background:var(--good)}.verdict.bad{background:var(--bad)}
.flag{display:inline-block;margin:.1em .2em .1em 0;padding:0 .45em;border:1px solid var(--warn);border-radius:3px;color:var(--warn);font-size:.85rem}
.esc{color:var(--bad);background:#fde8e8;border-radius:2px;font-family:ui-monospace,monospace;font-size:.85em;padding:0 1px}
code,.digest{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.82rem;overflow-wrap:anywhere;word-break:break-all}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:.9rem;background:var(--card)}
th,td{border:1px solid var(--line);padding:.3em .45em;text-align:left;vertical-align:top}
th{background:#eee}
td{overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,520px),1fr));gap:14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:12px;min-width:0}
.card img,.pair img,figure img{max-width:100%;height:auto;display:block;border:1px solid var(--line)}
.card .pictures{display:flex;gap:8px;flex-wrap:wrap;align-items:flex-start}
.card .pictures figure{flex:1 1 200px;margin:0}
figure{margin:.4em 0}
figcaption{font-size:.8rem;color:var(--muted);overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:minmax(7em,max-content) 1fr;gap:.15em .8em;margin:.5em 0;font-size:.9rem}
dt{color:var(--muted)}dd{margin:0;min-width:0;overflow-wrap:anywhere}
.pair img{width:100%}
.pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,240px),1fr));gap:10px;align-items:start}
.group{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:10px;margin:10px 0}
.none{font-style:italic;color:var(--muted)}
.exhibit{display:inline-block;min-width:2.2em;padding:0 .35em;margin-right:.3em;border-radius:3px;background:var(--ink);color:#fff;font-size:.9rem;text-align:center}
.card.failed{border:2px solid var(--bad)}
.banner{margin:.3em 0 .6em;padding:.45em .6em;border-radius:4px;background:var(--bad);color:#fff;overflow-wrap:anywhere}
.bad-text{color:var(--bad);font-weight:600}
.verdict-block{border-left:3px solid var(--line);padding:.1em 0 .1em .6em;margin:.3em 0 .6em;font-size:.9rem;overflow-wrap:anywhere}
.verdict-block ul{margin:.1em 0 .4em;padding-left:1.1em}
.vb-head{margin:.3em 0 0;font-weight:600}
figure.svg svg{display:block;width:100%;height:auto}
ul.remarks li{margin:.2em 0}
ul.findings li{color:var(--bad)}
details>summary{cursor:pointer}
.unfolded{display:none}
.unfolded-head{margin:.3em 0 .1em;font-weight:600}
footer{margin:2em auto;font-size:.85rem;color:var(--muted)}
@media (max-width:640px){
 body{font-size:14px}
 dl{grid-template-columns:1fr}dt{font-weight:600;color:var(--ink)}
 .scroll table,.scroll tbody,.scroll tr,.scroll td{display:block;width:100%}
 .scroll thead{display:none}
 .scroll tr{border:1px solid var(--line);margin-bottom:8px}
 .scroll td{border:0;border-bottom:1px solid #eee;display:grid;grid-template-columns:6.5em minmax(0,1fr);gap:.5em}
 .scroll td::before{content:attr(data-label);color:var(--muted);font-weight:600}
}
@media print{
 body{background:#fff;font-size:10.5pt}
 .verdict,.flag,.esc,.banner,.exhibit{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 details.folded{display:none}
 .unfolded{display:block}
 nav{display:none}
 h2{break-before:page;break-after:avoid}
 #summary h2{break-before:auto}
 /* A card may run over a page, but never splits a picture, a row of pictures or a field, and its title stays with it. */
 .group,figure,.card .pictures,dt,dd,li{break-inside:avoid}
 h3{break-after:avoid}
 .timeline{font-size:9pt}
 .cards{display:block}.card{margin:0 0 10px}
 .card .pictures{display:block}
 .card .pictures figure{display:inline-block;vertical-align:top;width:48%;margin:0 1% 4px 0}
 .card img,.pair img,figure img{max-height:50mm;width:auto}
 .card{padding:6px 8px}.card dl,.card ul{font-size:8.5pt;margin:.2em 0}.card p{margin:.3em 0}
 a{color:inherit;text-decoration:none}
 .scroll{overflow:visible}
}
@page{margin:14mm}
"""


def page(title: str, body: str) -> str:
    """Gives the whole HTML document; `title` is HTML-escaped already."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_POLICY}\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            "<meta name=\"referrer\" content=\"no-referrer\">"
            f"<title>{title}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")
