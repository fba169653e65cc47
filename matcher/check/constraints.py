"""The constraint report (docs/explain.md, "Constraint report").

Its judgements (what is responsible for what) come from the explanation machinery
and are not re-derived here; its figures and references are: each binding row exists
and states the plan's use (processing plus setup, recomputed from the rows) and the
instance's free time, its holders are made there in that period, and every order it
names exists, with the state it claims (unserved in the plan, or late).
"""

from __future__ import annotations

from matcher.check.codes import SHARING_TOL, ViolationCode
from matcher.check.state import CheckState
from matcher.domain.plan import BindingCapacity, ConstraintReport


def check_constraints(checker: CheckState) -> None:
    """The constraint report, when the plan has one."""
    report = checker.plan.constraints
    if report is None:
        return
    holders = _holders(checker)
    for i, row in enumerate(report.binding):
        _check_row(checker, f"constraints.binding[{i}]", row, holders)
    _check_orders(checker, report)


def _holders(checker: CheckState) -> dict[tuple[str, str, int], set[str]]:
    """Orders with a row running at each (factory, group, period)."""
    out: dict[tuple[str, str, int], set[str]] = {}
    for a in checker.plan.allocations:
        for pq in a.periods:
            if pq.quantity > 0:
                out.setdefault((a.factory, a.resource_group, pq.period), set()).add(a.order)
    return out


def _check_row(
    checker: CheckState,
    path: str,
    row: BindingCapacity,
    holders: dict[tuple[str, str, int], set[str]],
) -> None:
    where = f"factory '{row.factory}' resource '{row.resource_group}' period {row.period}"
    free = checker.free.get((row.factory, row.resource_group))
    if free is None or not 0 <= row.period < checker.periods:
        checker.add(ViolationCode.CONSTRAINTS_ROW_UNKNOWN, path, f"{where} does not exist")
        return
    key = (row.factory, row.resource_group, row.period)
    used = checker.used.get(key, 0) / 60
    if not abs(row.used_minutes - used) <= SHARING_TOL:
        checker.add(
            ViolationCode.CONSTRAINTS_FIGURES,
            f"{path}.used_minutes",
            f"{where}: the plan uses {used:g} min (incl. setup), row says {row.used_minutes:g}",
        )
    if row.free_minutes != free[row.period]:
        checker.add(
            ViolationCode.CONSTRAINTS_FIGURES,
            f"{path}.free_minutes",
            f"{where}: free {free[row.period]} min, row says {row.free_minutes}",
        )
    for j, order in enumerate(row.holders):
        if order not in holders.get(key, set()):
            checker.add(
                ViolationCode.CONSTRAINTS_HOLDER,
                f"{path}.holders[{j}]",
                f"{where}: order '{order}' is not made there in that period",
            )
    for field, names in (("delays", row.delays), ("pushes_out", row.pushes_out)):
        for j, order in enumerate(names):
            if order not in checker.orders:
                checker.add(
                    ViolationCode.CONSTRAINTS_ORDER,
                    f"{path}.{field}[{j}]",
                    f"unknown order '{order}'",
                )


def _check_orders(checker: CheckState, report: ConstraintReport) -> None:
    """Every order the report names exists; its late or unserved state is the plan's."""
    unserved = {u.order for u in checker.plan.unassigned}
    late = {a.order for a in checker.plan.allocations if a.late_units}
    for i, oc in enumerate(report.orders):
        path = f"constraints.orders[{i}]"
        if oc.order not in checker.orders:
            checker.add(
                ViolationCode.CONSTRAINTS_ORDER, f"{path}.order", f"unknown order '{oc.order}'"
            )
            continue
        actual = "unassigned" if oc.order in unserved else "late" if oc.order in late else None
        if oc.state != actual:
            checker.add(
                ViolationCode.CONSTRAINTS_ORDER,
                f"{path}.state",
                f"order '{oc.order}' is {actual or 'served on time'} in the plan, "
                f"the report says {oc.state}",
            )
        for j, c in enumerate(oc.constraints):
            for k, order in enumerate(c.holders):
                if order not in checker.orders:
                    checker.add(
                        ViolationCode.CONSTRAINTS_ORDER,
                        f"{path}.constraints[{j}].holders[{k}]",
                        f"unknown order '{order}'",
                    )
    for i, m in enumerate(report.materials):
        for field, names in (("holders", m.holders), ("holds_back", m.holds_back)):
            for j, order in enumerate(names):
                if order not in checker.orders:
                    checker.add(
                        ViolationCode.CONSTRAINTS_ORDER,
                        f"constraints.materials[{i}].{field}[{j}]",
                        f"unknown order '{order}'",
                    )
