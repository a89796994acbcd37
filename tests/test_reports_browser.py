"""The report in real headless Chromium: charts draw marks, no console errors, no network, and a
caption containing <script> shows as text and does not run."""
from __future__ import annotations

import shutil
import time

import _reports_warehouse as W
import pytest
from test_reports import build_hostile_report

CHROMIUM, CHROMEDRIVER = shutil.which("chromium") or "/usr/bin/chromium", shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    import os

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail("Chromium and chromedriver are needed (Debian packages chromium, chromium-driver: `make setup`)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    yield drv
    drv.quit()


@pytest.mark.slow
def test_report_renders_in_chromium(browser, tmp_path, shared):
    con = W.build(tmp_path / "w.duckdb", shared)
    try:
        res = build_hostile_report(con, tmp_path / "rep")
    finally:
        con.close()
    browser.get(res["report"].resolve().as_uri())
    deadline = time.monotonic() + 60
    while browser.execute_script("return document.body && document.body.getAttribute('data-charts-done')") is None:
        assert time.monotonic() < deadline, "charts did not finish rendering within 60 s"
        time.sleep(0.2)
    n_specs = browser.execute_script(
        "return Object.keys(JSON.parse(document.getElementById('classfreq-specs').textContent)).length")
    assert n_specs >= 5
    assert browser.execute_script("return window.__chartsRendered") == n_specs
    assert browser.execute_script("return window.__chartErrors") == []
    # every chart drew marks (Vega's SVG renderer: one <path> per point/bar/line segment group)
    marks = browser.execute_script("""
        return Array.from(document.querySelectorAll('div.chart')).map(div => [div.id,
          div.querySelectorAll('g.mark-symbol path, g.mark-rect path, g.mark-line path, g.mark-area path, '
                               + 'g.mark-rule line').length]);""")
    assert len(marks) == n_specs
    for chart_id, n in marks:
        assert n > 0, f"{chart_id} drew no marks"
    scatter = dict(marks)["chart-scatter"]
    assert scatter >= 1000  # one symbol per class of the selected model, plus fit lines and bands
    # hostile text is shown, never run
    assert browser.execute_script("return typeof window.__xss") == "undefined"
    assert browser.execute_script("return typeof window.__xss_note") == "undefined"
    assert browser.execute_script("return typeof window.__xss_img") == "undefined"
    body = browser.execute_script("return document.body.innerText")
    assert "<script>window.__xss = 1</script>" in body
    assert "<script>window.__xss_note = 1</script>" in body
    # self-contained: nothing fetched over the network
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => /^https?:/.test(n))")
    assert fetched == []
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
