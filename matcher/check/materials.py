"""The material rule (docs/model.md, "Materials"), recomputed from the instance and the plan.

No production before its materials can arrive: for every purchased material and every
period ``p``, the factories' cumulative needs by ``p`` after their stock, each rounded
up to whole units, must not exceed what the usable offers can deliver by ``p``. The
rule binds the assignment, so it is checked for every plan, with or without a
purchasing section: a plan that breaks it has no purchase plan covering it on time.

The reason ``MATERIAL_UNAVAILABLE`` on an unassigned order is verified as far as the
instance alone allows (see :func:`check_materials`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from matcher.check.codes import NEED_TOL, ViolationCode
from matcher.check.figures import usable_offer
from matcher.check.state import CheckState
from matcher.domain.entities import MaterialSourcing
from matcher.domain.instance import Instance
from matcher.domain.plan import ReasonCode

# How many factories a violation's message names before it says "and N more".
_NAMED_FACTORIES = 5


@dataclass(frozen=True)
class Supply:
    """What the usable offers of one material can deliver by each period.

    ``by_period[p]`` is ``A_m(p)`` of docs/model.md: the whole-unit capacities of the
    usable offers with ``lead_time_periods <= p``, ``math.inf`` once one of them has no
    capacity. ``earliest`` is the shortest lead time of a usable offer (``None``: none).
    """

    by_period: list[float]
    earliest: int | None


def material_supply(instance: Instance) -> dict[str, Supply]:
    """``A_m(p)`` for every material: offers that cannot sell a whole unit within their
    MOQ and capacity count for nothing, as in purchasing."""
    periods = instance.horizon.periods
    arriving: dict[str, list[float]] = defaultdict(lambda: [0.0] * periods)
    earliest: dict[str, int] = {}
    for supplier in instance.suppliers:
        for offer in supplier.offers:
            if not usable_offer(offer):
                continue
            lead = offer.lead_time_periods
            mid = offer.material
            earliest[mid] = min(lead, earliest.get(mid, lead))
            row = arriving[mid]
            if lead < periods:
                row[lead] += (
                    math.inf if offer.capacity is None else math.floor(offer.capacity + NEED_TOL)
                )
    supply: dict[str, Supply] = {}
    for m in instance.materials:
        running = 0.0
        by_period: list[float] = []
        for amount in arriving.get(m.id, [0.0] * periods):
            running += amount
            by_period.append(running)
        supply[m.id] = Supply(by_period, earliest.get(m.id))
    return supply


def check_materials(checker: CheckState) -> None:
    """The material rule for every purchased material, and ``MATERIAL_UNAVAILABLE``.

    A material that breaks the rule is reported once, at its first violating period
    (``MATERIAL_NOT_IN_TIME``), with the path of a row producing with it then.

    ``MATERIAL_UNAVAILABLE`` on an unassigned order is an ``UNASSIGNED_REASON``
    violation when materials can never hold the order back: its bill of materials has
    no purchased material, or every purchased material in it has a usable offer without
    a capacity whose lead time is at most the order's release period. Whether the
    materials really ran out for it depends on the other orders' use and is not
    re-derived; nor is the wording of its detail.
    """
    supply = material_supply(checker.inst)
    _check_rule(checker, supply)
    _check_reasons(checker, supply)


def _check_rule(checker: CheckState, supply: dict[str, Supply]) -> None:
    by_material: dict[str, list[tuple[str, list[int]]]] = defaultdict(list)
    for (fid, mid), cum in checker.needs.items():
        by_material[mid].append((fid, cum))
    order_of = {f.id: k for k, f in enumerate(checker.inst.factories)}
    for material in checker.inst.materials:
        needs = sorted(by_material.get(material.id, []), key=lambda fc: order_of[fc[0]])
        if not needs:
            continue
        arrives = supply[material.id]
        for p in range(checker.periods):
            need = sum(cum[p] for _, cum in needs)
            if need > arrives.by_period[p]:
                _report(checker, material.id, p, need, arrives, needs)
                break


def _report(
    checker: CheckState,
    mid: str,
    p: int,
    need: int,
    arrives: Supply,
    needs: list[tuple[str, list[int]]],
) -> None:
    rising = {fid for fid, cum in needs if cum[p] > (cum[p - 1] if p else 0)}
    path, who = _producing_row(checker, mid, p, rising)
    named = [f"'{fid}' {cum[p]}" for fid, cum in needs if cum[p] > 0]
    if len(named) > _NAMED_FACTORIES:
        named = [*named[:_NAMED_FACTORIES], f"and {len(named) - _NAMED_FACTORIES} more"]
    can = int(arrives.by_period[p])
    message = (
        f"material '{mid}' in period {p}: production up to then needs {need} whole units "
        f"after stock ({', '.join(named)}), the usable offers can deliver {can} by then"
    )
    if can == 0:
        message += (
            "; no usable offer"
            if arrives.earliest is None
            else f"; nothing arrives before period {arrives.earliest} (the shortest lead time)"
        )
    checker.add(ViolationCode.MATERIAL_NOT_IN_TIME, path, message + who)


def _producing_row(checker: CheckState, mid: str, p: int, factories: set[str]) -> tuple[str, str]:
    """The first operation-0 row making an order that uses ``mid`` at one of
    ``factories`` in period ``p``: its path and a phrase naming it for the message.

    The first violating period always has one: the needs rise there (what can arrive
    never falls), and only production in ``p`` raises them."""
    for i, a in enumerate(checker.plan.allocations):
        order = checker.orders.get(a.order)
        if a.operation != 0 or order is None or a.factory not in factories:
            continue
        if mid not in order.bill_of_materials:
            continue
        for k, pq in enumerate(a.periods):
            if pq.period == p and pq.quantity > 0:
                return (
                    f"allocations[{i}].periods[{k}]",
                    f" (order '{order.id}' is made at '{a.factory}' in period {p})",
                )
    return "allocations", ""


def _check_reasons(checker: CheckState, supply: dict[str, Supply]) -> None:
    purchased = {m.id for m in checker.inst.materials if m.sourcing is MaterialSourcing.PURCHASED}
    for i, u in enumerate(checker.plan.unassigned):
        order = checker.orders.get(u.order)
        if u.reason is not ReasonCode.MATERIAL_UNAVAILABLE or order is None:
            continue  # an unknown order is reported by the core pass
        bought = sorted(m for m in order.bill_of_materials if m in purchased)
        if not bought:
            why = (
                f"its bill of materials {sorted(order.bill_of_materials)} has no purchased material"
                if order.bill_of_materials
                else "it has no bill of materials"
            )
        elif all(
            math.isinf(supply[m].by_period[min(order.release_period, checker.periods - 1)])
            for m in bought
        ):
            why = (
                f"every purchased material of it ({', '.join(bought)}) has a usable offer "
                f"without a capacity arriving by its release period {order.release_period}"
            )
        else:
            continue
        checker.add(
            ViolationCode.UNASSIGNED_REASON,
            f"unassigned[{i}].reason",
            f"order '{order.id}' is unassigned for MATERIAL_UNAVAILABLE, but materials "
            f"cannot hold it back: {why}",
        )
