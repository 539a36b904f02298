"""The report opened in a real browser: headless Chromium (Debian's `chromium`), driven over
its DevTools protocol. Every image decodes, nothing is logged as an error, the page asks
for nothing but itself and its inline images, and it fits the window's width. The
screenshot is saved beside the report for a human to look at."""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mmd.report import write_report
from tests.chromium import Browser, ChromiumMissing, find_chromium

PAGE_FACTS = """JSON.stringify({
  images: [...document.images].map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth,
                                          height: i.naturalHeight})),
  scripts: document.scripts.length,
  title: document.title,
  headings: [...document.querySelectorAll('h3')].map(h => h.textContent),
  overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
})"""


@dataclass(frozen=True)
class PageVisit:
    evaluated: Any  # the JSON value of the expression, read after the load event
    console_errors: list[str]  # console.error calls, exceptions, log errors, failed loads
    requests: list[str]  # every URL the page asked for
    screenshot_png: bytes  # the whole page


def visit(page: Path, expression: str) -> PageVisit:
    """Open `page` (a file) in headless Chromium, evaluate `expression` once it has loaded,
    take a full-page screenshot; what the page did along the way."""
    with Browser(width=1280, height=900) as browser:
        start = browser.mark()
        browser.open(page.resolve().as_uri())
        evaluated = browser.evaluate(expression)
        screenshot_png = browser.screenshot()
        return PageVisit(
            evaluated=evaluated,
            console_errors=browser.console_errors(start),
            requests=browser.requested_urls(start),
            screenshot_png=screenshot_png,
        )


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        return find_chromium()
    except ChromiumMissing as exc:
        pytest.fail(str(exc), pytrace=False)  # never a silent skip: the browser check is part of the suite


def test_the_report_of_a_replay_opens_cleanly_in_chromium(chromium, four_events_db, tmp_path):
    page = write_report(four_events_db, out=tmp_path / "report.html", terminal=io.StringIO())

    visit_result = visit(page, PAGE_FACTS)
    screenshot = tmp_path / "report-screenshot.png"
    screenshot.write_bytes(visit_result.screenshot_png)
    print(f"screenshot: {screenshot}")

    facts = json.loads(visit_result.evaluated)
    assert facts["title"] == "mmd report: run four-events"
    assert len(facts["images"]) >= 4
    assert all(i["complete"] and i["width"] > 0 and i["height"] > 0 for i in facts["images"]), facts["images"]
    assert facts["scripts"] == 0
    assert facts["overflow"] <= 0, "the page is wider than the window"
    assert "Fill markouts" in facts["headings"]
    assert visit_result.console_errors == [], visit_result.console_errors
    foreign = [u for u in visit_result.requests if not u.startswith(("file://", "data:"))]
    assert foreign == [], f"the report asked the network for {foreign}"
    assert visit_result.screenshot_png.startswith(b"\x89PNG") and len(visit_result.screenshot_png) > 50_000


def test_without_chromium_the_browser_check_fails_saying_how_to_install_it(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)

    with pytest.raises(ChromiumMissing, match=r"apt-get install -y chromium"):
        find_chromium()
