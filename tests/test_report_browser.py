"""report.html in a real headless browser (Debian's chromium and chromium-driver, via selenium).

The browser gets no network at all (every host name fails to resolve), as on a finance
officer's laptop offline: the page must still load with no JavaScript error, show the
comparison table and draw every map. The only errors allowed are the map tiles' failed
downloads (network errors from the tile servers, not JavaScript errors).
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import COMPARED
from transport.report.maps import TILE_HOSTS

TINY = Path(__file__).parent / "data" / "tiny"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
    WHY = (
        "Debian's chromium and chromium-driver are not installed (.ci/run installs them: "
        "apt-get install chromium chromium-driver)"
    )
    if os.environ.get("CI") == "true":  # CI must run this test, never skip it
        pytest.fail(WHY, pytrace=False)
    pytest.skip(WHY, allow_module_level=True)

from PIL import Image  # noqa: E402  (after the skip: only needed with a browser)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def report(compare_dir: Path) -> Path:
    """report.html of a real compare of the tiny data (conftest.py's ``compare_dir``)."""
    return compare_dir / "report.html"


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,2600",
        "--hide-scrollbars",
        # no network: every host name fails at once (tiles fail fast, nothing leaves the box)
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _tile_failure(entry: dict) -> bool:
    """A failed download of a map tile: a network error from a tile server, nothing else."""
    if entry.get("source") != "network":
        return False
    url = entry.get("message", "").split(" ", 1)[0]
    host = urlparse(url).hostname or ""
    return any(host == h or host.endswith("." + h) for h in TILE_HOSTS)


def _errors(driver: webdriver.Chrome) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and not _tile_failure(e)]


@pytest.fixture(scope="module")
def loaded(browser: webdriver.Chrome, report: Path) -> webdriver.Chrome:
    browser.get(report.as_uri())
    WebDriverWait(browser, 15).until(
        lambda d: d.find_element("tag name", "body").get_attribute("data-maps-drawn") is not None
    )
    return browser


def test_page_loads_without_javascript_errors(loaded: webdriver.Chrome) -> None:
    logs = loaded.get_log("browser")
    errors = [e for e in logs if e["level"] == "SEVERE" and not _tile_failure(e)]
    assert errors == []
    assert loaded.execute_script("return typeof L") == "object"
    assert loaded.title.startswith("SEN home-to-school transport")


def test_console_errors_are_caught(loaded: webdriver.Chrome) -> None:
    """The check above is not vacuous: a JavaScript error on the page is seen."""
    loaded.execute_script("setTimeout(function () { throw new Error('probe'); }, 0);")
    WebDriverWait(loaded, 5).until(lambda d: d.execute_script("return true"))
    loaded.execute_script("return 1")
    seen = _errors(loaded)
    assert any("probe" in e["message"] for e in seen), seen


def test_table_and_maps_are_present(loaded: webdriver.Chrome, report: Path) -> None:
    table = loaded.find_element("id", "comparison-table")
    assert table.is_displayed()
    headers = [h.text for h in table.find_elements("css selector", "thead th")]
    assert [h.split()[0] for h in headers[1:]] == list(COMPARED)
    assert len(table.find_elements("css selector", "tbody tr")) > 20

    maps = loaded.find_elements("css selector", ".map.leaflet-container")
    assert len(maps) == len(COMPARED)
    drawn = loaded.find_element("tag name", "body").get_attribute("data-maps-drawn")
    assert drawn == str(len(COMPARED))
    first = maps[0]
    assert first.size["height"] > 300
    # routes and school markers are SVG paths; the tile layer is there (offline: no images)
    paths = first.find_elements("css selector", "path.leaflet-interactive")
    routes = (report.parent / "scenarios" / "baseline" / "routes.csv").read_text().count("\n") - 1
    assert len(paths) >= routes
    assert first.find_elements("css selector", ".leaflet-tile-container, .leaflet-tile")


def test_screenshot_is_not_blank(loaded: webdriver.Chrome, tmp_path: Path) -> None:
    png = loaded.get_screenshot_as_png()
    (tmp_path / "report.png").write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size[0] >= 1000 and image.size[1] >= 2000
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50  # text, charts, table: far from one flat colour
    assert max(n for n, _ in colours) < 0.9 * image.size[0] * image.size[1]

    # the first map, scrolled into view, shows the routes in their vehicle colours
    first = loaded.find_element("css selector", ".map.leaflet-container")
    loaded.execute_script("arguments[0].scrollIntoView()", first)
    shot = Image.open(io.BytesIO(first.screenshot_as_png)).convert("RGB")
    taxi = (0x00, 0x72, 0xB2)  # the first vehicle type's colour (taxi)
    near = sum(
        n
        for n, (r, g, b) in shot.getcolors(maxcolors=1 << 20) or []
        if abs(r - taxi[0]) + abs(g - taxi[1]) + abs(b - taxi[2]) < 40
    )
    assert near > 30, "no route drawn in the taxi colour"
