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


def _check_all_numbers(browser, rep) -> int:
    spans = browser.execute_script(
        "return Array.from(document.querySelectorAll('[data-json]'))"
        ".map(e => [e.dataset.json, e.textContent.trim()]);"
    )
    for pointer, text in spans:
        _check_number(text, _resolve(rep, pointer), pointer)
    return len(spans)


def _fits(browser, width: int) -> None:
    browser.set_window_size(width, 900)
    page, table = browser.execute_script(
        "const t = document.getElementById('metrics');"
        "return [[document.documentElement.scrollWidth, document.documentElement.clientWidth],"
        " [t.scrollWidth, t.parentElement.clientWidth, t.getBoundingClientRect().right]];"
    )
    assert page[0] <= page[1], f"the page scrolls sideways in a {width}-pixel window: {page}"
    assert table[0] <= table[1] and table[2] <= page[1], f"the metrics table overflows: {table}"


def test_metrics_table_fits_a_1280_pixel_window(built, browser):
    _, out, _ = built
    browser.get((out / "index.html").resolve().as_uri())
    _fits(browser, 1280)


def test_what_was_chosen_renders_records_escaped_and_expandable(chat_built, browser, tmp_path):
    from selenium.webdriver.common.by import By

    from tests.report.conftest import MARKUP

    t, out, rep = chat_built
    browser.get((out / "index.html").resolve().as_uri())
    _fits(browser, 1280)
    section = browser.find_element(By.ID, "chosen")
    assert section.text == "What was chosen"
    assert _check_all_numbers(browser, rep) > 100

    # Markup in a record is text: shown as written, never parsed or run.
    assert browser.execute_script("return window.injected === undefined")
    assert not browser.find_elements(By.ID, "injected")
    mm = browser.find_element(By.CSS_SELECTOR, "#chosen-0")
    picks = mm.find_elements(By.CSS_SELECTOR, "table.first-picks tbody tr")
    assert len(picks) == 10
    first = picks[0]
    assert first.get_attribute("data-row") == str(t.planted["markup"])

    # A long record shows its start, and all of it (up to the cap) once expanded.
    details = first.find_element(By.CSS_SELECTOR, "details.text")
    assert details.get_attribute("open") is None

    def rendered(element):  # what the page shows: a closed details hides its content
        return browser.execute_script("return arguments[0].innerText", element)

    shown = rendered(details)
    assert shown.startswith(MARKUP[:40]) and len(shown) < 400
    assert "show all" in shown and f"{len(t.texts[t.planted['markup']]):,}" in shown
    details.find_element(By.TAG_NAME, "summary").click()
    assert details.get_attribute("open") is not None
    opened = rendered(details)
    assert opened.count("long line of words") > 200
    assert "more characters not shown" in opened

    # Kept and dropped side by side, each a random sample.
    kept = mm.find_element(By.CSS_SELECTOR, ".pair .kept")
    dropped = mm.find_element(By.CSS_SELECTOR, ".pair .dropped")
    assert kept.location["y"] == dropped.location["y"]
    assert kept.location["x"] < dropped.location["x"]
    assert len(kept.find_elements(By.CSS_SELECTOR, ".rec")) == 6
    assert len(dropped.find_elements(By.CSS_SELECTOR, ".rec")) == 6

    # The set-aside records, an invisible character spelled out.
    cards = mm.find_elements(By.CSS_SELECTOR, ".rec")
    aside_rows = [int(c.get_attribute("data-row")) for c in cards][-t.set_aside.size :]
    assert aside_rows == t.set_aside.tolist()
    zero = next(c for c in cards if c.get_attribute("data-row") == str(t.planted["zero_width"]))
    assert "<U+200B>" in zero.text and "not kept" in zero.text

    # The groups of identical records, with how many each subset kept.
    rows = browser.find_elements(By.CSS_SELECTOR, "table.groups tbody tr")
    assert len(rows) == len(rep["chosen"]["groups"]["shown"])
    cells = [c.text for c in rows[0].find_elements(By.TAG_NAME, "td")]
    top = rep["chosen"]["groups"]["shown"][0]
    assert cells[:4] == [str(top["size"]), "1", str(top["kept"][0]), str(top["kept"][1])]
    assert "also records 21, 22, 23, 24" in cells[4]

    # The summary states the length and turn shift.
    summary = browser.find_element(By.ID, "summary").text
    assert "maxmin's records have a median of" in " ".join(summary.split())
    assert " ".join(summary.split()) == " ".join(rep["summary"]["text"].split())

    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1280, min(height + 40, 12_000))
    shot = tmp_path / "records-screenshot.png"
    assert browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
