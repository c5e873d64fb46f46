"""The generated page in a real headless Chromium (over the DevTools protocol): it loads with no console
error and no network request, every image decodes to a non-empty bitmap, and a screenshot is not blank.

A negative control (a page that does fetch from the network and logs an error) proves the checks can fail.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autopeft.report import write_report
from tests.report.browser import Browser, find_chromium

CHROMIUM = find_chromium()
if CHROMIUM is None and os.environ.get("CI"):
    raise RuntimeError("chromium is missing; .ci/run installs it (apt-get install chromium)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium here (CI installs it: .ci/run)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM is not None
    b = Browser(CHROMIUM)
    yield b
    b.close()


def problems(b: Browser) -> tuple[list[str], list[str]]:
    """(console errors and exceptions, requests to anything but the page's own file or inline data)."""
    errors, requests = [], []
    for e in b.events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.exceptionThrown":
            errors.append(str(params.get("exceptionDetails", {}).get("text")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
            errors.append(str(params.get("args")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
            errors.append(str(params["entry"].get("text")))
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            if not url.startswith(("file:", "data:")):
                requests.append(url)
    return errors, requests


def images(b: Browser, session: str) -> list[Any]:
    script = ("Promise.all(Array.from(document.images).map(i => i.decode()"
              ".then(() => [i.naturalWidth, i.naturalHeight], () => [0, 0])))")
    reply = b.send("Runtime.evaluate", {"expression": script, "awaitPromise": True, "returnByValue": True},
                   session=session)
    value: list[Any] = reply["result"]["value"]
    return value


def screenshot_spread(b: Browser, session: str) -> float:
    """Standard deviation of the screenshot's pixels (0 for a blank page)."""
    import matplotlib.image as mpimg

    data = base64.b64decode(b.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"])
    pixels = mpimg.imread(io.BytesIO(data), format="png")
    return float(pixels[..., :3].std())


def test_report_page_in_a_real_browser(browser: Browser, tiny_run: Path, tmp_path: Path) -> None:
    write_report([tiny_run], tmp_path / "r")
    session = browser.open((tmp_path / "r" / "index.html").resolve().as_uri())
    sizes = images(browser, session)
    errors, requests = problems(browser)
    assert errors == [] and requests == []
    assert len(sizes) == 5 and all(w > 100 and h > 100 for w, h in sizes)
    assert screenshot_spread(browser, session) > 0.05


def test_negative_control_is_caught(browser: Browser, tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text('<html><body><img src="http://127.0.0.1:9/x.png"><img src="data:image/png;base64,AAAA">'
                    "<script>console.error('boom')</script></body></html>")
    session = browser.open(page.as_uri())
    sizes = images(browser, session)
    errors, requests = problems(browser)
    assert any("boom" in e for e in errors) and requests == ["http://127.0.0.1:9/x.png"]
    assert sizes == [[0, 0], [0, 0]]
    blank = tmp_path / "blank.html"
    blank.write_text("<html><body></body></html>")
    session = browser.open(blank.as_uri())
    assert screenshot_spread(browser, session) == 0.0
