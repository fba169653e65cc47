"""What the report shows, as plain data: the plan's rows grouped, ranked and capped
for the charts and tables, with a note wherever something is left out.

Kept apart from plotly (:mod:`matcher.report.figures`) and HTML
(:mod:`matcher.report.html`) so that what a chart shows can be tested as data.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from matcher.domain.entities import Location
from matcher.domain.instance import Instance
from matcher.domain.plan import Plan
from matcher.domain.schedule import Schedule

MAX_GANTT_FACTORIES = 12
"""Factories with a Gantt chart of their own: the busiest (a medium plan has 100)."""
MAX_GANTT_ROWS = 40
"""Rows (order operations, or machines) in one Gantt chart."""
MAX_HEATMAP_FACTORIES = 150
"""Factories in the utilisation heat-map: the busiest."""
MAX_ROUTES = 200
"""Vehicle routes drawn on the map: the longest."""
MAX_DELIVERIES = 3000
"""Factory-to-buyer lines drawn on the map: the largest parts."""
MAX_BARS = 30
"""Bars in a ranked bar chart (savings split per factory, by material)."""
MAX_TABLE_ROWS = 100
"""Rows in one table."""


def money(cents: float) -> str:
    """Cents as currency units with thousands separators, as the CLI prints them."""
    return f"{cents / 100:,.2f}"


def capped_note(shown: int, total: int, what: str, how: str) -> str | None:
    """The sentence a capped chart or table carries; None when nothing is left out."""
    if shown >= total:
        return None
    return f"Showing {shown} of {total} {what} ({how})."


@dataclass(frozen=True)
class Bar:
    """One bar of a Gantt chart: ``start`` and ``end`` in periods (fractions allowed)."""

    row: str
    start: float
    end: float
    late: bool
    hover: str


@dataclass
class Gantt:
    title: str
    rows: list[str]
    bars: list[Bar]
    note: str | None = None


def busiest_factories(plan: Plan) -> list[str]:
    """Factories with work, busiest first (used minutes, then id)."""
    rows = [f for f in plan.kpis.factory_utilisation if f.used_minutes > 0 or f.orders > 0]
    worked = {a.factory for a in plan.allocations}
    ranked = sorted(rows, key=lambda f: (-f.used_minutes, f.factory))
    names = [f.factory for f in ranked]
    names += sorted(worked - set(names))
    return names


def allocation_gantts(plan: Plan, instance: Instance) -> tuple[list[Gantt], str | None]:
    """A Gantt chart per factory (the busiest ones): each order operation's periods, the
    periods after its due date marked late."""
    due = {o.id: o.due_period for o in instance.orders}
    factories = busiest_factories(plan)
    shown = factories[:MAX_GANTT_FACTORIES]
    by_factory: dict[str, list[Bar]] = defaultdict(list)
    for a in plan.allocations:
        if a.factory not in shown:
            continue
        row = f"{a.order} {a.process}"
        d = due.get(a.order)
        for start, end, units in _runs([(p.period, p.quantity) for p in a.periods]):
            for lo, hi, late in _split_at_due(start, end, d):
                qty = sum(units[p] for p in range(lo, hi))
                hover = (
                    f"{a.order} op {a.operation} ({a.process}) at {a.factory}<br>"
                    f"periods {lo}..{hi - 1}: {qty:,} units"
                    f"<br>due period {d}" + (" (late)" if late else "")
                )
                by_factory[a.factory].append(Bar(row, lo, hi, late, hover))
    charts = [
        _gantt(f"Factory {f}: production by period", by_factory[f], "order rows") for f in shown
    ]
    note = capped_note(
        len(shown), len(factories), "factories with work", "the busiest by used time"
    )
    return charts, note


def schedule_gantts(schedule: Schedule, instance: Instance) -> tuple[list[Gantt], str | None]:
    """A Gantt chart per scheduled factory (the ones with most lots), machine by machine,
    in periods from the horizon start."""
    period = instance.horizon.period_minutes
    ranked = sorted(
        schedule.factories, key=lambda f: (-sum(len(m.lots) for m in f.machines), f.factory)
    )
    ranked = [f for f in ranked if any(m.lots for m in f.machines)]
    shown = ranked[:MAX_GANTT_FACTORIES]
    charts = []
    for fs in shown:
        bars = [
            Bar(
                row=m.machine,
                start=lot.start_minute / period,
                end=lot.end_minute / period,
                late=lot.late_minutes > 0,
                hover=(
                    f"{lot.order} op {lot.operation} ({lot.process}), {lot.quantity:,} units"
                    f"<br>{lot.start:%Y-%m-%d %H:%M} to {lot.end:%Y-%m-%d %H:%M}"
                    + (f"<br>{lot.late_minutes:,} min late" if lot.late_minutes else "")
                ),
            )
            for m in fs.machines
            for lot in m.lots
        ]
        title = f"Factory {fs.factory}: machine schedule ({fs.status.value})"
        charts.append(_gantt(title, bars, "machines"))
    note = capped_note(len(shown), len(ranked), "scheduled factories", "the most lots")
    return charts, note


def _gantt(title: str, bars: list[Bar], what: str) -> Gantt:
    first: dict[str, float] = {}
    for b in bars:
        first[b.row] = min(first.get(b.row, b.start), b.start)
    rows = sorted(first, key=lambda r: (first[r], r))
    shown = rows[:MAX_GANTT_ROWS]
    keep = set(shown)
    note = capped_note(len(shown), len(rows), what, "the earliest to start")
    return Gantt(title, shown, [b for b in bars if b.row in keep], note)


def _runs(periods: list[tuple[int, int]]) -> list[tuple[int, int, dict[int, int]]]:
    """Consecutive periods with work merged: ``(start, end_exclusive, units by period)``."""
    runs: list[tuple[int, int, dict[int, int]]] = []
    for p, q in sorted(periods):
        if q <= 0:
            continue
        if runs and runs[-1][1] == p:
            start, _, units = runs[-1]
            units[p] = q
            runs[-1] = (start, p + 1, units)
        else:
            runs.append((p, p + 1, {p: q}))
    return runs


def _split_at_due(start: int, end: int, due: int | None) -> list[tuple[int, int, bool]]:
    if due is None or end <= due + 1:
        return [(start, end, False)]
    if start > due:
        return [(start, end, True)]
    return [(start, due + 1, False), (due + 1, end, True)]


@dataclass
class Heatmap:
    factories: list[str]
    periods: list[int]
    utilisation: list[list[float | None]] = field(default_factory=list)
    hover: list[list[str]] = field(default_factory=list)
    note: str | None = None


def utilisation_heatmap(plan: Plan, instance: Instance) -> Heatmap:
    """Used over free minutes per factory and period (all resource groups together);
    None where a factory has no free time. Busiest factories first."""
    used: dict[tuple[str, int], float] = defaultdict(float)
    free: dict[tuple[str, int], int] = defaultdict(int)
    for u in plan.kpis.utilisation:
        used[(u.factory, u.period)] += u.used_minutes
        free[(u.factory, u.period)] += u.free_minutes
    total_used: dict[str, float] = defaultdict(float)
    total_free: dict[str, int] = defaultdict(int)
    for (f, _), m in used.items():
        total_used[f] += m
    for (f, _), m in free.items():
        total_free[f] += m
    factories = sorted(
        (f.id for f in instance.factories),
        key=lambda f: (-(total_used[f] / total_free[f] if total_free[f] else 0.0), f),
    )
    shown = factories[:MAX_HEATMAP_FACTORIES]
    periods = list(range(instance.horizon.periods))
    heat = Heatmap(
        shown,
        periods,
        note=capped_note(len(shown), len(factories), "factories", "the highest utilisation"),
    )
    for f in shown:
        row: list[float | None] = []
        tips = []
        for t in periods:
            cap, use = free.get((f, t), 0), used.get((f, t), 0.0)
            row.append(use / cap if cap > 0 else None)
            tips.append(f"{f}, period {t}: {use / 60:,.1f} h used of {cap / 60:,.1f} h free")
        heat.utilisation.append(row)
        heat.hover.append(tips)
    return heat


@dataclass(frozen=True)
class Point:
    kind: str
    id: str
    lat: float
    lon: float
    label: str


@dataclass
class MapView:
    points: list[Point]
    deliveries: list[tuple[tuple[float, float], tuple[float, float]]] = field(default_factory=list)
    routes: list[tuple[str, list[tuple[float, float]]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def map_view(plan: Plan, instance: Instance) -> MapView:
    """Factories, buyers (served or not), suppliers, depots, hubs, a line from each factory to
    the buyers it delivers to, and the fleet's routes, by coordinates."""
    units: dict[str, int] = defaultdict(int)
    orders = {o.id: o for o in instance.orders}
    factories = {f.id: f for f in instance.factories}
    delivering = []
    for a in plan.allocations:
        o = orders.get(a.order)
        if o is not None and a.operation == len(o.operations) - 1 and a.factory in factories:
            units[a.factory] += a.quantity
            delivering.append((a.quantity, a.order, a.factory))
    unserved = {u.order: u for u in plan.unassigned}
    points = [
        Point("factory", f.id, f.location.lat, f.location.lon, f"{f.id}: {units[f.id]:,} units")
        for f in instance.factories
    ]
    for o in instance.orders:
        u = unserved.get(o.id)
        kind = "buyer (unserved)" if u is not None else "buyer (served)"
        label = f"{o.id} for {o.buyer}" + (f": {u.reason.value}" if u is not None else "")
        points.append(Point(kind, o.id, o.delivery.lat, o.delivery.lon, label))
    points += [
        Point("supplier", s.id, s.location.lat, s.location.lon, s.id) for s in instance.suppliers
    ]
    points += [
        Point("depot", d.id, d.location.lat, d.location.lon, d.id) for d in instance.fleet.depots
    ]
    points += [
        Point("hub", h.id, h.location.lat, h.location.lon, f"{h.id}: reach {h.reach_km:,.0f} km")
        for h in instance.fleet.hubs
    ]
    view = MapView(points)
    delivering.sort(key=lambda d: (-d[0], d[1], d[2]))
    for _, order, factory in delivering[:MAX_DELIVERIES]:
        f, to = factories[factory].location, orders[order].delivery
        view.deliveries.append(((f.lat, f.lon), (to.lat, to.lon)))
    note = capped_note(
        len(view.deliveries), len(delivering), "factory-to-buyer lines", "the largest parts"
    )
    view.notes += [note] if note else []
    if plan.routes is None or not plan.routes.routes:
        return view
    places: dict[str, Location] = {f.id: f.location for f in instance.factories}
    places |= {s.id: s.location for s in instance.suppliers}
    places |= {o.id: o.delivery for o in instance.orders}
    places |= {h.id: h.location for h in instance.fleet.hubs}  # legs (docs/logistics.md)
    depots = {d.id: d.location for d in instance.fleet.depots}
    ranked = sorted(plan.routes.routes, key=lambda r: (-r.distance_km, r.period, r.vehicle))
    shown = ranked[:MAX_ROUTES]
    for r in shown:
        stops = [depots.get(r.depot)] + [places.get(s.place) for s in r.stops]
        stops.append(depots.get(r.depot))
        line = [(loc.lat, loc.lon) for loc in stops if loc is not None]
        view.routes.append((f"{r.vehicle} p{r.period} ({r.distance_km:,.0f} km)", line))
    note = capped_note(len(shown), len(ranked), "routes", "the longest")
    view.notes += [note] if note else []
    return view


@dataclass(frozen=True)
class LateOrder:
    order: str
    factories: str
    late_units: int
    lateness_cents: int
    due_period: int
    last_period: int


def late_orders(plan: Plan, instance: Instance) -> list[LateOrder]:
    """Served orders with late units, the most late units first."""
    due = {o.id: o.due_period for o in instance.orders}
    late: dict[str, int] = defaultdict(int)
    cents: dict[str, int] = defaultdict(int)
    factories: dict[str, set[str]] = defaultdict(set)
    last: dict[str, int] = defaultdict(int)
    for a in plan.allocations:
        late[a.order] += a.late_units
        cents[a.order] += a.lateness_cents
        factories[a.order].add(a.factory)
        last[a.order] = max([last[a.order], *(p.period for p in a.periods)])
    rows = [
        LateOrder(o, ", ".join(sorted(factories[o])), n, cents[o], due.get(o, -1), last[o])
        for o, n in late.items()
        if n > 0
    ]
    return sorted(rows, key=lambda r: (-r.late_units, r.order))
