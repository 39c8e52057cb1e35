"""The page in a real browser: headless Chromium through Selenium.

Every image must load, every marked number must equal its value in ``report.json``, and a
screenshot is saved under the test's temporary folder (a CI artifact). Chromium is required:
a missing browser fails the test with the command that installs it.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

INSTALL = "apt-get update && apt-get install -y chromium chromium-driver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,900",
)


def _find(*names: str) -> str | None:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture
def browser(tmp_path: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = _find("chromium", "chromium-browser", "google-chrome")
    driver_path = _find("chromedriver")
    if binary is None or driver_path is None:
        pytest.fail(
            f"headless Chromium and chromedriver are needed for this test; install them: {INSTALL}"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    options.add_argument(f"--user-data-dir={profile}")
    # An explicit driver path: Selenium must not try to download one.
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _resolve(doc, pointer: str):
    node = doc
    for part in pointer.strip("/").split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _check_number(text: str, value, pointer: str) -> None:
    if value is None:
        assert text == "n/a", (pointer, text)
        return
    shown = Decimal(text.replace(",", ""))
    # The page rounds; the value must lie within half a unit of the last digit shown.
    unit = Decimal(1).scaleb(shown.as_tuple().exponent)
    assert abs(Decimal(repr(float(value))) - shown) <= unit / 2, (pointer, text, value)


def test_page_renders_images_load_numbers_match(built, browser, tmp_path):
    _, out, rep = built
    browser.get((out / "index.html").resolve().as_uri())
    assert browser.title == rep["title"]

    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.dataset.file]);"
    )
    assert len(images) == 5  # pca, nn_histogram, coverage, bars, lengths
    for complete, width, name in images:
        assert complete and width > 0, name

    spans = browser.execute_script(
        "return Array.from(document.querySelectorAll('[data-json]'))"
        ".map(e => [e.dataset.json, e.textContent.trim()]);"
    )
    pointers = {p for p, _ in spans}
    # The table alone has one number per set and column.
    assert sum(p.startswith("/sets/") for p in pointers) >= len(rep["sets"]) * 8
    assert any(p.startswith("/summary/comparisons/") for p in pointers)
    for pointer, text in spans:
        _check_number(text, _resolve(rep, pointer), pointer)

    summary = browser.find_element("id", "summary").text
    assert " ".join(summary.split()) == " ".join(rep["summary"]["text"].split())

    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1200, height + 40)
    shot = tmp_path / "report-screenshot.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")
