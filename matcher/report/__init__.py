"""The HTML plan report (``matcher report``): one self-contained file with KPI cards,
cost by term, Gantt charts, a utilisation heat-map, a map, purchasing savings,
capacity-sharing suggestions and unassigned and late orders (docs/report.md).

Draws from the domain alone (and plotly): it re-solves and re-checks nothing.

- :mod:`~matcher.report.views`: what each chart and table shows, as data, capped;
- :mod:`~matcher.report.figures`: the plotly figures;
- :mod:`~matcher.report.html`: the document.
"""

from __future__ import annotations

from matcher.report.html import build_report, write_report

__all__ = ["build_report", "write_report"]
