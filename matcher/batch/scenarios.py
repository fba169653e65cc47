"""``matcher scenarios``: what-if variants of one instance, solved beside its base plan
and compared with it.

A spec file lists scenarios, each one or more changes to the instance: capacity up or
down by a percentage (a factory, a resource group, or all), demand times a factor (a
buyer's orders, a process's orders, or all), a factory out for some periods, a
supplier's prices times a factor, a new order. Every scenario becomes a variant of the
instance (``model_copy(update=...)``, then validated again as a whole), so a spec that
asks for something impossible is reported with its path before anything is solved.
The base and the variants are solved and checked as tasks of one executor
(:mod:`matcher.batch.tasks`), and each variant's plan is compared with the base plan:
cost by term, KPIs and the orders that change factory. docs/batch.md has the format.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from matcher.app.diff import COST_TERMS, diff_plans
from matcher.app.executor import Call, Executor
from matcher.batch.batch import PLAN_SUFFIX, write_atomic, write_csv
from matcher.batch.tasks import PlanFigures, Solved, solve_and_check
from matcher.domain.consistency import Issue
from matcher.domain.entities import Order
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan, Result
from matcher.domain.validation import (
    InvalidInstanceError,
    parse_instance,
    pydantic_issues,
    read_json,
)

BASE = "base"
MAX_SCENARIOS = 200


class SpecError(Exception):
    """A scenario spec that cannot be used; ``issues`` has every problem with its path."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = list(issues)
        super().__init__(f"{len(self.issues)} problem(s) in the scenario spec")


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CapacityChange(_Change):
    """Available minutes of the matching resource groups times ``1 + percent / 100``."""

    kind: Literal["capacity"]
    percent: float = Field(ge=-100.0, le=1000.0, description="-20: a fifth less; 50: half more.")
    factory: str | None = Field(default=None, description="Only this factory (default: all).")
    resource_group: str | None = Field(
        default=None, description="Only resource groups of this id (default: all)."
    )


class DemandChange(_Change):
    """Quantities of the matching orders times ``factor`` (rounded, at least 1)."""

    kind: Literal["demand"]
    factor: float = Field(gt=0.0, le=100.0)
    buyer: str | None = Field(default=None, description="Only this buyer's orders.")
    process: str | None = Field(default=None, description="Only orders with this process.")


class OutageChange(_Change):
    """A factory out from ``from_period`` to ``to_period`` (both included): every one of
    its resource groups has no available minutes there."""

    kind: Literal["outage"]
    factory: str
    from_period: int = Field(ge=0)
    to_period: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> OutageChange:
        if self.to_period < self.from_period:
            raise ValueError(f"to_period {self.to_period} is before from_period {self.from_period}")
        return self


class SupplierPriceChange(_Change):
    """Every price tier of a supplier's offers (of one material, if given) times
    ``factor``, rounded to a cent."""

    kind: Literal["supplier_prices"]
    supplier: str
    factor: float = Field(gt=0.0, le=100.0)
    material: str | None = Field(default=None, description="Only this material's offers.")


class NewOrderChange(_Change):
    """An order added, written as in the instance's ``orders``."""

    kind: Literal["new_order"]
    order: dict[str, Any]


Change = Annotated[
    CapacityChange | DemandChange | OutageChange | SupplierPriceChange | NewOrderChange,
    Field(discriminator="kind"),
]


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=80)
    changes: list[Change] = Field(min_length=1, max_length=100)


class ScenarioSpec(BaseModel):
    """The spec file: a list of named scenarios (docs/batch.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str | None = None
    scenarios: list[Scenario] = Field(min_length=1, max_length=MAX_SCENARIOS)


def load_spec(path: str | Path, instance: Instance) -> tuple[ScenarioSpec, list[Instance]]:
    """The spec at ``path`` and the variant of ``instance`` for each of its scenarios.

    Raises
    ------
    SpecError
        With every problem of the spec, each with its path: its format, names used
        twice, ids the instance does not have, periods beyond the horizon, and what
        makes a variant an invalid instance.
    """
    try:
        data = read_json(path)
    except InvalidInstanceError as exc:
        raise SpecError(exc.issues) from None
    try:
        spec = ScenarioSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(pydantic_issues(exc)) from None
    issues = reference_issues(spec, instance)
    if issues:
        raise SpecError(issues)
    variants: list[Instance] = []
    for i, scenario in enumerate(spec.scenarios):
        try:
            variants.append(variant(instance, scenario, f"scenarios[{i}]"))
        except SpecError as exc:
            issues += exc.issues
    if issues:
        raise SpecError(issues)
    return spec, variants


def reference_issues(spec: ScenarioSpec, instance: Instance) -> list[Issue]:
    """What the spec names that the instance does not have, and names used twice."""
    issues: list[Issue] = []
    seen: dict[str, int] = {}
    for i, scenario in enumerate(spec.scenarios):
        path = f"scenarios[{i}]"
        slug = slug_of(scenario.name)
        if slug == BASE or slug in seen:
            other = "the base plan" if slug == BASE else f"scenarios[{seen[slug]}]"
            issues.append(
                Issue(f"{path}.name", f"{scenario.name!r} names the same file as {other}")
            )
        seen.setdefault(slug, i)
        for j, change in enumerate(scenario.changes):
            issues += _change_issues(change, f"{path}.changes[{j}]", instance)
    return issues


def _change_issues(c: Change, path: str, instance: Instance) -> list[Issue]:
    """One change's references to the instance: factories, resource groups, buyers,
    processes, suppliers and their materials, periods."""
    factories = {f.id: f for f in instance.factories}
    issues: list[Issue] = []
    if isinstance(c, CapacityChange | OutageChange) and c.factory not in (None, *factories):
        issues.append(Issue(f"{path}.factory", f"unknown factory {c.factory!r}"))
    if isinstance(c, CapacityChange) and c.resource_group is not None:
        at = [factories[c.factory]] if c.factory in factories else instance.factories
        if all(r.id != c.resource_group for f in at for r in f.resources):
            where = f" at factory {c.factory}" if c.factory else ""
            issues.append(
                Issue(f"{path}.resource_group", f"no resource group {c.resource_group!r}{where}")
            )
    if isinstance(c, DemandChange):
        if c.buyer is not None and all(o.buyer != c.buyer for o in instance.orders):
            issues.append(Issue(f"{path}.buyer", f"no order of buyer {c.buyer!r}"))
        if c.process is not None and all(p.id != c.process for p in instance.processes):
            issues.append(Issue(f"{path}.process", f"unknown process {c.process!r}"))
    periods = instance.horizon.periods
    if isinstance(c, OutageChange) and c.to_period >= periods:
        issues.append(
            Issue(f"{path}.to_period", f"{c.to_period} is beyond the horizon 0..{periods - 1}")
        )
    if isinstance(c, SupplierPriceChange):
        supplier = next((s for s in instance.suppliers if s.id == c.supplier), None)
        if supplier is None:
            issues.append(Issue(f"{path}.supplier", f"unknown supplier {c.supplier!r}"))
        elif c.material is not None and all(o.material != c.material for o in supplier.offers):
            issues.append(
                Issue(f"{path}.material", f"supplier {c.supplier} offers no {c.material!r}")
            )
    return issues


def variant(instance: Instance, scenario: Scenario, path: str) -> Instance:
    """``instance`` with the scenario's changes applied in order, validated again.

    Raises
    ------
    SpecError
        The new order, or the variant as a whole, is not valid; paths point into the
        spec for the new order and into the variant (after the scenario's path) for
        the rest.
    """
    current = instance
    added: dict[int, str] = {}  # index in orders -> the spec path of the order
    issues: list[Issue] = []
    for j, change in enumerate(scenario.changes):
        cpath = f"{path}.changes[{j}]"
        if isinstance(change, NewOrderChange):
            try:
                order = Order.model_validate(change.order)
            except ValidationError as exc:
                issues += pydantic_issues(exc, (f"{cpath}.order",))
                continue
            added[len(current.orders)] = f"{cpath}.order"
            current = current.model_copy(update={"orders": [*current.orders, order]})
        else:
            current = APPLY[change.kind](current, change)
    if issues:
        raise SpecError(issues)
    named = current.model_copy(update={"name": f"{instance.name}+{slug_of(scenario.name)}"})
    try:
        # model_copy does not validate: the variant is checked again as a whole.
        return parse_instance(named.model_dump(mode="json"))
    except InvalidInstanceError as exc:
        raise SpecError([_in_spec(issue, path, added) for issue in exc.issues]) from None


def _in_spec(issue: Issue, path: str, added: dict[int, str]) -> Issue:
    """A variant's problem, with a new order's path put back into the spec."""
    m = re.match(r"orders\[(\d+)\](.*)", issue.path)
    if m and int(m.group(1)) in added:
        return Issue(added[int(m.group(1))] + m.group(2), issue.message)
    return Issue(f"{path}: {issue.path}" if issue.path else path, issue.message)


def _capacity(instance: Instance, c: Any) -> Instance:
    scale = 1.0 + c.percent / 100.0
    factories = []
    for f in instance.factories:
        if c.factory is not None and f.id != c.factory:
            factories.append(f)
            continue
        resources = [
            r.model_copy(
                update={
                    "available_minutes": [max(0, round(m * scale)) for m in r.available_minutes]
                }
            )
            if c.resource_group is None or r.id == c.resource_group
            else r
            for r in f.resources
        ]
        factories.append(f.model_copy(update={"resources": resources}))
    return instance.model_copy(update={"factories": factories})


def _demand(instance: Instance, c: Any) -> Instance:
    orders = []
    for o in instance.orders:
        hit = (c.buyer is None or o.buyer == c.buyer) and (
            c.process is None or any(op.process == c.process for op in o.operations)
        )
        if not hit:
            orders.append(o)
            continue
        quantity = max(1, round(o.quantity * c.factor))
        # A smaller order keeps its split rule possible: the smallest part is capped.
        split = o.split.model_copy(update={"min_quantity": min(o.split.min_quantity, quantity)})
        orders.append(o.model_copy(update={"quantity": quantity, "split": split}))
    return instance.model_copy(update={"orders": orders})


def _outage(instance: Instance, c: Any) -> Instance:
    factories = []
    for f in instance.factories:
        if f.id != c.factory:
            factories.append(f)
            continue
        resources = [
            r.model_copy(
                update={
                    "available_minutes": [
                        0 if c.from_period <= t <= c.to_period else m
                        for t, m in enumerate(r.available_minutes)
                    ]
                }
            )
            for r in f.resources
        ]
        factories.append(f.model_copy(update={"resources": resources}))
    return instance.model_copy(update={"factories": factories})


def _prices(instance: Instance, c: Any) -> Instance:
    suppliers = []
    for s in instance.suppliers:
        if s.id != c.supplier:
            suppliers.append(s)
            continue
        offers = []
        for offer in s.offers:
            if c.material is not None and offer.material != c.material:
                offers.append(offer)
                continue
            tiers = [
                t.model_copy(
                    update={"unit_price_cents": max(0, round(t.unit_price_cents * c.factor))}
                )
                for t in offer.price.tiers
            ]
            price = offer.price.model_copy(update={"tiers": tiers})
            offers.append(offer.model_copy(update={"price": price}))
        suppliers.append(s.model_copy(update={"offers": offers}))
    return instance.model_copy(update={"suppliers": suppliers})


APPLY: dict[str, Callable[[Instance, Any], Instance]] = {
    "capacity": _capacity,
    "demand": _demand,
    "outage": _outage,
    "supplier_prices": _prices,
}


def slug_of(name: str) -> str:
    """A scenario's file name: its name in lower case, runs of other characters as '-'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "scenario"


def describe(change: Change) -> str:
    """One change in a few words, for the comparison table."""
    if isinstance(change, CapacityChange):
        where = " ".join(x for x in (change.factory, change.resource_group) if x) or "all"
        return f"capacity {change.percent:+g} % ({where})"
    if isinstance(change, DemandChange):
        who = " ".join(x for x in (change.buyer, change.process) if x) or "all orders"
        return f"demand x{change.factor:g} ({who})"
    if isinstance(change, OutageChange):
        return f"{change.factory} out {change.from_period}-{change.to_period}"
    if isinstance(change, SupplierPriceChange):
        what = f" {change.material}" if change.material else ""
        return f"{change.supplier}{what} prices x{change.factor:g}"
    return f"new order {change.order.get('id', '?')}"


# ------------------------------------------------------------------ the comparison


class ScenarioRow(Result):
    """One scenario's plan against the base plan."""

    scenario: str
    changes: str
    outcome: str = Field(description="solved, check failed or failed.")
    plan: str | None = None
    figures: PlanFigures | None = None
    cost_deltas: dict[str, int] | None = Field(
        default=None, description="Each cost term, this plan minus the base plan (cents)."
    )
    total_delta_pct: float | None = None
    fill_rate_delta_pp: float | None = None
    on_time_delta_pp: float | None = None
    orders_changed_factory: list[str] = Field(
        default_factory=list,
        description="Orders served by both plans whose units are made at other factories.",
    )
    newly_served: list[str] = Field(default_factory=list)
    newly_unserved: list[str] = Field(default_factory=list)
    wall_s: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "solved"


class ScenarioComparison(Result):
    instance: str
    executor: str
    params: dict[str, Any]
    base: ScenarioRow
    scenarios: list[ScenarioRow]
    wall_s: float

    @property
    def ok(self) -> bool:
        return self.base.ok and all(r.ok for r in self.scenarios)


def run_scenarios(
    instance: Instance,
    spec: ScenarioSpec,
    variants: Sequence[Instance],
    out_dir: str | Path,
    params: SolveParams,
    executor: Executor,
    on_row: Callable[[ScenarioRow], None] | None = None,
) -> ScenarioComparison:
    """Solve the base instance and every variant through ``executor``, check each plan,
    write the plans and the comparison (``comparison.json``, ``comparison.csv``) to
    ``out_dir`` and return it."""
    start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    slugs = [BASE] + [slug_of(s.name) for s in spec.scenarios]
    calls = [
        Call(slug, (slug, inst.model_dump_json(), params))
        for slug, inst in zip(slugs, [instance, *variants], strict=True)
    ]
    outcomes: dict[str, tuple[Solved | None, str | None, float]] = {}
    for o in executor.run(solve_and_check, calls, cpus_per_task=params.workers):
        solved: Solved | None = o.value if o.ok else None
        if solved is not None:
            write_atomic(out / f"{o.key}{PLAN_SUFFIX}", solved.plan_json + "\n")
        wall = solved.solve_s + solved.check_s if solved is not None else o.wall_s
        outcomes[o.key] = (solved, o.error, round(wall, 3))
        if on_row is not None:
            on_row(_row(o.key, "", outcomes[o.key], None, out))

    base_solved = outcomes[BASE][0]
    base_plan = Plan.model_validate_json(base_solved.plan_json) if base_solved else None
    base_row = _row(BASE, "the instance as it is", outcomes[BASE], None, out)
    rows = []
    for scenario, slug in zip(spec.scenarios, slugs[1:], strict=True):
        text = "; ".join(describe(c) for c in scenario.changes)
        rows.append(_row(slug, text, outcomes[slug], (base_row, base_plan), out, scenario.name))
    comparison = ScenarioComparison(
        instance=instance.name,
        executor=executor.name,
        params=params.model_dump(mode="json"),
        base=base_row,
        scenarios=rows,
        wall_s=round(time.perf_counter() - start, 3),
    )
    write_atomic(out / "comparison.json", comparison.model_dump_json(indent=1) + "\n")
    write_csv(
        out / "comparison.csv",
        [comparison_csv_row(r) for r in [comparison.base, *rows]],
        COMPARISON_COLUMNS,
    )
    return comparison


def _row(
    slug: str,
    changes: str,
    outcome: tuple[Solved | None, str | None, float],
    base: tuple[ScenarioRow, Plan | None] | None,
    out: Path,
    name: str | None = None,
) -> ScenarioRow:
    solved, error, wall = outcome
    if solved is None:
        return ScenarioRow(
            scenario=name or slug, changes=changes, outcome="failed", error=error, wall_s=wall
        )
    f = solved.figures
    row = ScenarioRow(
        scenario=name or slug,
        changes=changes,
        outcome="solved" if f.check_ok else "check failed",
        plan=str(out / f"{slug}{PLAN_SUFFIX}"),
        figures=f,
        wall_s=wall,
        error=None if f.check_ok else f"the checker found {f.violations} violation(s)",
    )
    if base is None or base[0].figures is None or base[1] is None:
        return row
    b = base[0].figures
    d = diff_plans(base[1], Plan.model_validate_json(solved.plan_json))
    total_b = b.costs["total"]
    return row.model_copy(
        update={
            "cost_deltas": {t: f.costs[t] - b.costs[t] for t in COST_TERMS},
            "total_delta_pct": round(100.0 * (f.costs["total"] - total_b) / abs(total_b), 4)
            if total_b
            else None,
            "fill_rate_delta_pp": round(100.0 * (f.fill_rate - b.fill_rate), 4),
            "on_time_delta_pp": round(100.0 * (f.on_time_rate - b.on_time_rate), 4),
            "orders_changed_factory": [m.order for m in d.moved if m.kind == "moved"],
            "newly_served": [c.order for c in d.newly_served],
            "newly_unserved": [c.order for c in d.newly_unserved],
        }
    )


COMPARISON_COLUMNS = (
    "scenario",
    "changes",
    "outcome",
    "status",
    "check_ok",
    "violations",
    *(f"cost_{t}" for t in COST_TERMS),
    *(f"delta_{t}" for t in COST_TERMS),
    "total_delta_pct",
    "fill_rate",
    "fill_rate_delta_pp",
    "on_time_rate",
    "on_time_delta_pp",
    "orders_served",
    "orders_late",
    "orders_unassigned",
    "orders_changed_factory",
    "changed_factory",
    "newly_served",
    "newly_unserved",
    "gap",
    "wall_s",
    "error",
)


def comparison_csv_row(row: ScenarioRow) -> dict[str, Any]:
    """One comparison row flat, in :data:`COMPARISON_COLUMNS` (lists joined by spaces)."""
    flat: dict[str, Any] = {
        "scenario": row.scenario,
        "changes": row.changes,
        "outcome": row.outcome,
        "total_delta_pct": "" if row.total_delta_pct is None else row.total_delta_pct,
        "fill_rate_delta_pp": "" if row.fill_rate_delta_pp is None else row.fill_rate_delta_pp,
        "on_time_delta_pp": "" if row.on_time_delta_pp is None else row.on_time_delta_pp,
        "orders_changed_factory": len(row.orders_changed_factory),
        "changed_factory": " ".join(row.orders_changed_factory),
        "newly_served": " ".join(row.newly_served),
        "newly_unserved": " ".join(row.newly_unserved),
        "wall_s": row.wall_s,
        "error": row.error or "",
    }
    f = row.figures
    if f is not None:
        flat.update(
            status=f.status,
            check_ok=f.check_ok,
            violations=f.violations,
            fill_rate=round(f.fill_rate, 6),
            on_time_rate=round(f.on_time_rate, 6),
            orders_served=f.orders_served,
            orders_late=f.orders_late,
            orders_unassigned=f.orders_unassigned,
            gap="" if f.gap is None else round(f.gap, 6),
        )
        flat.update({f"cost_{t}": v for t, v in f.costs.items()})
    if row.cost_deltas is not None:
        flat.update({f"delta_{t}": v for t, v in row.cost_deltas.items()})
    return flat
