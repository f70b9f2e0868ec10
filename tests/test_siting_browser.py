"""The site run's report.html in a headless browser: no JavaScript error, the map drawn with
the "places added / sites opened" layer (Debian's chromium via selenium, no network)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from transport.site_job import site_job

DATA = Path(__file__).parent / "data"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
    WHY = "Debian's chromium and chromium-driver are not installed (.ci/run installs them)"
    if os.environ.get("CI") == "true":
        pytest.fail(WHY, pytrace=False)
    pytest.skip(WHY, allow_module_level=True)

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from tests.test_report_browser import _errors  # noqa: E402  (the same tile-failure filter)


def test_site_report_draws_the_opened_sites(tmp_path: Path) -> None:
    out = tmp_path / "site"
    summary = site_job(DATA / "tiny", DATA / "siting" / "candidates.csv", out)
    assert summary["sites"], "the fixture opens at least one site"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        driver.get((out / "report.html").as_uri())
        WebDriverWait(driver, 15).until(
            lambda d: d.find_element("tag name", "body").get_attribute("data-maps-drawn")
        )
        assert driver.find_element("tag name", "body").get_attribute("data-maps-drawn") == "1"
        assert _errors(driver) == []
        markers = driver.find_elements("css selector", 'path.leaflet-interactive[fill="#ffb000"]')
        assert len(markers) == len(summary["sites"])
        assert "Places added / sites opened" in driver.page_source
    finally:
        driver.quit()
