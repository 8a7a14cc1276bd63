"""The report in a real browser (Debian's headless Chromium): no console errors, nothing fetched, every picture shown."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import pytest
from pypdf import PdfReader

from case_builder import rendered, report_case  # noqa: F401

SCREENSHOT_MAX_PX = 12_000
CHROMIUM = Path(os.environ.get("FORENSICS_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking switches Chromium phones home at start, which a closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-default-apps"]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium); the browser test needs it")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (test extras) drives Chromium")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def load(browser, folder: Path, width_px: int):
    """Opens the report at a width; gives (page, console messages, requested URLs)."""
    page = browser.new_page(viewport={"width": width_px, "height": 900})
    messages, requests = [], []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: messages.append(f"failed: {r.url}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto((folder / "index.html").as_uri(), wait_until="load")
    # Pictures load lazily: make them all load, as scrolling through the report would.
    page.evaluate("document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; })")
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete)", timeout=20_000)
    return page, messages, requests


@pytest.mark.parametrize("width_px", [1280, 390])
def test_the_report_loads_offline_with_every_picture_and_no_console_error(browser, rendered, tmp_path, width_px):
    _exported, folder = rendered
    page, messages, requests = load(browser, folder, width_px)
    assert messages == []
    inside = folder.as_uri() + "/"
    assert requests and all(url.startswith(inside) for url in requests), [u for u in requests if not u.startswith(inside)]
    broken = page.evaluate("Array.from(document.images).filter(i => !(i.naturalWidth > 0)).map(i => i.src)")
    assert broken == []
    assert page.evaluate("document.images.length") >= 12
    # Readable at this width: nothing wider than the window but the tables' own scrolling boxes.
    assert page.evaluate("document.documentElement.scrollWidth") <= width_px
    # The top of the page (summary, chronology, places, the first cards): at phone width the whole report is
    # 50,000 px tall, past what Chromium captures reliably in one image ("Unable to capture screenshot").
    height = min(page.evaluate("document.documentElement.scrollHeight"), SCREENSHOT_MAX_PX)
    page.screenshot(path=str(tmp_path / f"report-{width_px}.png"), full_page=True,
                    clip={"x": 0, "y": 0, "width": width_px, "height": height})
    assert (tmp_path / f"report-{width_px}.png").stat().st_size > 10_000
    page.close()


def test_the_report_prints_to_pdf_on_several_pages(browser, rendered, tmp_path):
    _exported, folder = rendered
    page, messages, _requests = load(browser, folder, 1280)
    # What a closed <details> folds on the screen: each line of its lists and tables.
    folded = page.evaluate("Array.from(document.querySelectorAll('details:not([open])')).flatMap(d => "
                           "Array.from(d.querySelectorAll('li, td')).map(e => e.textContent.trim()))")
    page.emulate_media(media="print")
    page.pdf(path=str(tmp_path / "report.pdf"), format="A4")
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", (tmp_path / "report.pdf").read_bytes()))
    assert pages >= 4 and messages == []
    # Printed, none of it is lost (a closed <details> prints closed: the names of a run of receipts were).
    printed = " ".join(page.evaluate("document.body.innerText").split())
    assert len([line for line in folded if line]) >= 10
    lost = [line for line in folded if " ".join(line.split()) not in printed]
    assert lost == []
    # And on the paper itself: each custody entry a run folds (its number, time, name and digest) is in the PDF.
    # NFKC: the font's ligatures ("ﬀ" for "ff") are letters again.
    text = "".join("".join(unicodedata.normalize("NFKC", p.extract_text()).split())
                   for p in PdfReader(tmp_path / "report.pdf").pages)
    entries = [line for line in folded if re.match(r"\d+ \d{4}-\d\d-\d\dT", line) and "sha256:" in line]
    assert len(entries) >= 10
    assert [line for line in entries if "".join(line.split()) not in text] == []
    page.close()


def test_the_chronology_places_and_verdict_blocks_fit_a_phone_and_every_link_lands(browser, rendered):
    _exported, folder = rendered
    width_px = 390
    page, messages, _requests = load(browser, folder, width_px)
    assert messages == []
    for selector in ("#chronology svg", "#places svg"):
        right = page.eval_on_selector(selector, "e => e.getBoundingClientRect().right")
        height = page.eval_on_selector(selector, "e => e.getBoundingClientRect().height")
        assert 0 < right <= width_px and height > 100, selector  # drawn, and scaled into the window
    cards = page.evaluate("document.querySelectorAll('article.card').length")
    assert cards > 0 and page.evaluate("document.querySelectorAll('article.card .verdict-block').length") == cards
    missing = page.evaluate("Array.from(document.querySelectorAll('a[href^=\"#\"]'))"
                            ".map(a => a.getAttribute('href').slice(1)).filter(id => !document.getElementById(id))")
    assert missing == []
    page.goto((folder / "index.html").as_uri() + "#E1", wait_until="load")  # an exhibit's anchor scrolls to it
    assert page.evaluate("document.getElementById('E1').getBoundingClientRect().top") < 50
    assert page.evaluate("document.documentElement.scrollWidth") <= width_px
    page.close()
