"""Headless Chromium for the HTML report tests and the benchmark (selenium + Debian's chromedriver).

Test-only helper: needs the `test` extra (selenium).

CI installs it with: apt-get install -y chromium chromium-driver
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
)
MISSING_REASON = "headless Chromium not installed (apt-get install -y chromium chromium-driver)"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


def available() -> bool:
    return CHROMIUM is not None and CHROMEDRIVER is not None


@contextmanager
def chromium() -> Iterator[webdriver.Chrome]:
    assert CHROMIUM is not None
    assert CHROMEDRIVER is not None
    with tempfile.TemporaryDirectory(prefix="mlguard-chromium-") as profile:
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for flag in FLAGS:
            opts.add_argument(flag)
        opts.add_argument(f"--user-data-dir={profile}")
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # page console, for tests
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        driver.set_page_load_timeout(120)
        try:
            yield driver
        finally:
            driver.quit()


def open_report(driver: webdriver.Chrome, path: Path, timeout: float = 120) -> None:
    driver.get(path.resolve().as_uri())
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return document.body.dataset.ready === 'true'")
    )
