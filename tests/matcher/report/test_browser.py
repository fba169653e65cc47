"""The report opened in a real headless browser (Debian's chromium through playwright):
no console errors, no request leaves the file, every chart drawn, a screenshot that is
not blank."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Route, sync_playwright

from matcher.domain.instance import Instance
from matcher.domain.plan import Plan
from matcher.domain.schedule import Schedule
from matcher.report import write_report

pytestmark = pytest.mark.browser

# Draws a PNG (base64) on a canvas and counts its colours and non-white pixels.
_PIXELS = """async (b64) => {
  const img = new Image();
  img.src = 'data:image/png;base64,' + b64;
  await img.decode();
  const c = document.createElement('canvas');
  c.width = img.width; c.height = img.height;
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  const colours = new Set();
  let ink = 0;
  for (let i = 0; i < d.length; i += 4) {
    colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    if (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240) ink++;
  }
  return {colours: colours.size, ink: ink / (d.length / 4)};
}"""

# Per chart div: its name, whether plotly drew it (an SVG and traces), how many traces.
_CHARTS = """() => Array.from(document.querySelectorAll('.chart')).map(div => {
  const gd = div.querySelector('.js-plotly-plot');
  return {
    name: div.dataset.chart,
    svg: div.querySelectorAll('svg.main-svg').length,
    traces: gd && gd._fullData ? gd._fullData.length : 0,
    height: div.getBoundingClientRect().height,
  };
})"""


def test_the_report_opens_offline_in_chromium_and_draws_every_chart(
    chromium: Path,
    demo: Instance,
    demo_plan: Plan,
    demo_schedule: Schedule,
    tmp_path: Path,
) -> None:
    path = write_report(tmp_path / "report.html", demo, demo_plan, demo_schedule)
    errors: list[str] = []
    outside: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            errors.append(msg.text)

    def block(route: Route) -> None:
        outside.append(route.request.url)
        route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium))
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", on_console)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.route("http*://**", block)
            page.goto(path.as_uri(), wait_until="load")
            expected = int(page.get_attribute('meta[name="matcher-charts"]', "content") or "0")
            page.wait_for_function(
                "n => document.querySelectorAll('.chart svg.main-svg').length >= n",
                arg=expected,
            )
            charts = page.evaluate(_CHARTS)
            shot = page.screenshot(full_page=False)
            pixels = page.evaluate(_PIXELS, base64.b64encode(shot).decode())
        finally:
            browser.close()

    assert errors == []
    assert outside == []
    names = {c["name"] for c in charts}
    assert len(charts) == expected
    for name in ("costs", "gantt-0", "schedule-0", "heatmap", "map", "purchasing", "unassigned"):
        assert name in names
    for chart in charts:
        assert chart["svg"] >= 1 and chart["traces"] >= 1 and chart["height"] > 100, chart
    assert pixels["colours"] > 20 and pixels["ink"] > 0.05, pixels
