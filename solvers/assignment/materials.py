"""Materials in the assignment: no production before its materials can arrive.

The rule of docs/model.md ("Materials"): for every purchased material ``m`` and
period ``p``, ``R_m(p) = sum_f max(0, ceil(U_fm(p) - stock_fm))`` (whole units each
factory must have bought by ``p``) never exceeds ``A_m(p)``, what the usable offers
with a lead time of at most ``p`` can deliver. ``R`` only grows with ``p`` and ``A`` is
a step function, so the rule needs checking only at the last period of each run of
equal finite ``A`` (a *checkpoint*); where some uncapped offer has arrived, nothing
binds any more.

Engines count material in millionths of its unit, each bill-of-materials quantity
rounded up and stock rounded down: never looser than the rule.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from matcher.domain.entities import MaterialSourcing, Order
from matcher.domain.instance import Instance
from solvers.purchasing.problem import usable, whole_limits

SCALE = 1_000_000
"""Material quantities in the engines: millionths of the material's unit."""

MaterialPrices = npt.NDArray[np.float64]
"""Per (limit, period), a price in weighted cents per whole unit of the material used in
that period (indexed as ``AssignmentProblem.materials``; a last row of zeros)."""


@dataclass(frozen=True)
class MaterialLimit:
    """What can arrive of one purchased material, where it binds."""

    material: str
    checkpoints: tuple[int, ...]  # periods at which R <= A is enforced, ascending
    available: tuple[int, ...]  # A at each checkpoint, whole units
    earliest: int | None  # first period any offer can deliver (None: never)
    stock: Mapping[int, int] = field(default_factory=dict)  # factory -> scaled stock
    binding: str = ""  # what limits it: "lead time ...", "supplier capacity ..."

    def relaxed_available(self) -> list[float]:
        """Per checkpoint, the right-hand side of the relaxed row ``sum_f use_f / SCALE
        <= A + sum_f stock_f / SCALE`` (whole units), which every plan meets: the
        model's ``sum_f whole_units(use_f - stock_f) <= A`` with the rounding up and
        each factory's own stock dropped. The Lagrangian bound and the LP's material
        rows state it."""
        stock = sum(self.stock.values()) / SCALE
        return [a + stock for a in self.available]


def scaled_use(quantity: float) -> int:
    """Millionths of a unit, rounded up (a bill-of-materials quantity)."""
    return math.ceil(quantity * SCALE - 1e-6)


def material_uses(
    index: Mapping[str, int], bill: Mapping[str, float]
) -> tuple[tuple[int, int], ...]:
    """A bill of materials as the engines count it: (limit index, millionths per unit)
    for each material whose supply can bind (``index``: material id -> limit index)."""
    return tuple(
        (index[mid], scaled_use(q)) for mid, q in sorted(bill.items()) if mid in index and q > 0
    )


def whole_units(scaled: int) -> int:
    """Whole units that cover ``scaled`` millionths (0 for nothing or less)."""
    return max(0, -(-scaled // SCALE))


def supply_by_period(instance: Instance, material: str) -> list[int | None]:
    """``A(p)`` for each period: whole units the usable offers can deliver by ``p``
    (None: unlimited)."""
    total: list[int | None] = [0] * instance.horizon.periods
    for supplier in instance.suppliers:
        for offer in supplier.offers:
            if offer.material != material:
                continue
            minimum, capacity = whole_limits(offer)
            if not usable(minimum, capacity):
                continue
            for p in range(offer.lead_time_periods, instance.horizon.periods):
                held = total[p]
                total[p] = None if capacity is None or held is None else held + capacity
    return total


def compile_limits(instance: Instance, used: Iterable[str]) -> list[MaterialLimit]:
    """The limit of each purchased material in ``used`` that can bind (some period has
    finite supply), in the order given."""
    by_id = {m.id: m for m in instance.materials}
    limits: list[MaterialLimit] = []
    for mid in used:
        if by_id[mid].sourcing == MaterialSourcing.PROVIDED:
            continue
        supply = supply_by_period(instance, mid)
        checkpoints: list[int] = []
        available: list[int] = []
        for p, a in enumerate(supply):
            if a is None:
                break
            if p == len(supply) - 1 or supply[p + 1] != a:
                checkpoints.append(p)
                available.append(a)
        if not checkpoints:
            continue
        earliest = next((p for p, a in enumerate(supply) if a is None or a > 0), None)
        stock = {
            fi: math.floor(f.stock[mid] * SCALE + 1e-6)
            for fi, f in enumerate(instance.factories)
            if f.stock.get(mid, 0.0) > 0
        }
        limits.append(
            MaterialLimit(
                mid, tuple(checkpoints), tuple(available), earliest, stock, _binding(supply)
            )
        )
    return limits


def _binding(supply: list[int | None]) -> str:
    if supply[0] is None or supply[0] > 0:
        return "the suppliers' capacity"
    arrives = next((p for p, a in enumerate(supply) if a is None or a > 0), None)
    if arrives is None:
        return "no usable offer and no stock"
    return f"lead time: nothing can arrive before period {arrives}"


def earliest_start(order: Order, factory: int, limits: Mapping[str, MaterialLimit]) -> int | None:
    """First period ``factory`` can make any of ``order`` as far as materials go: at once
    where it holds stock of each limited material, else once an offer can deliver
    (None: never)."""
    start = 0
    for mid, per_unit in order.bill_of_materials.items():
        limit = limits.get(mid)
        if limit is None or per_unit <= 0 or limit.stock.get(factory, 0) > 0:
            continue
        if limit.earliest is None:
            return None
        start = max(start, limit.earliest)
    return start


class MaterialState:
    """Cumulative material use per factory at each checkpoint, and the whole units
    ``R`` all factories need there: the bookkeeping greedy placement and the LNS
    neighbourhoods share with the models."""

    def __init__(self, limits: list[MaterialLimit]) -> None:
        self.limits = limits
        # (material, factory) -> scaled cumulative use at each checkpoint
        self.use: dict[tuple[int, int], list[int]] = {}
        self.need = [[0] * len(lim.checkpoints) for lim in limits]  # R per checkpoint

    def copy(self) -> MaterialState:
        other = MaterialState.__new__(MaterialState)
        other.limits = self.limits
        other.use = {key: row[:] for key, row in self.use.items()}
        other.need = [row[:] for row in self.need]
        return other

    def units(self, m: int, factory: int, c: int) -> int:
        """Whole units ``factory`` must have bought of material ``m`` by checkpoint ``c``."""
        row = self.use.get((m, factory))
        if row is None:
            return 0
        return whole_units(row[c] - self.limits[m].stock.get(factory, 0))

    def take(
        self,
        factory: int,
        uses: Iterable[tuple[int, int]],
        quantities: Mapping[int, int],
        sign: int,
    ) -> None:
        """Add (``sign`` 1) or remove (-1) the use of ``quantities`` (period -> units)
        made at ``factory`` by a part using ``uses`` ((material, scaled per unit))."""
        # :meth:`units` before and after, inlined (whole_units(x) is 0 for x <= 0): the
        # greedy placement takes and gives back for every period it tries.
        for m, per_unit in uses:
            lim = self.limits[m]
            checkpoints, stock, need = lim.checkpoints, lim.stock.get(factory, 0), self.need[m]
            row = self.use.setdefault((m, factory), [0] * len(checkpoints))
            for t, q in quantities.items():
                delta = sign * per_unit * q
                for c in range(bisect_left(checkpoints, t), len(checkpoints)):
                    before = row[c] - stock
                    after = before + delta
                    row[c] += delta
                    need[c] += (-(-after // SCALE) if after > 0 else 0) - (
                        -(-before // SCALE) if before > 0 else 0
                    )

    def room(self, factory: int, uses: Iterable[tuple[int, int]], t: int, limit: int) -> int:
        """Most units (at most ``limit``) a part using ``uses`` may add at ``factory`` in
        period ``t`` without any need exceeding what can arrive."""
        best = limit
        for m, per_unit in uses:
            lim = self.limits[m]
            stock, need, available = lim.stock.get(factory, 0), self.need[m], lim.available
            row = self.use.get((m, factory))
            for c in range(bisect_left(lim.checkpoints, t), len(need)):
                used = row[c] if row is not None else 0
                mine = used - stock  # whole_units(mine), inlined
                others = need[c] - (-(-mine // SCALE) if mine > 0 else 0)
                allowed = available[c] - others  # whole units this factory may need
                if allowed < 0:
                    return 0
                fits = (allowed * SCALE - mine) // per_unit
                if fits < best:
                    if fits <= 0:
                        return 0
                    best = fits
        return best


V = TypeVar("V")


@dataclass
class MaterialRows(Generic[V]):
    """One material at one checkpoint, as a model states it: per modelled factory
    ``(factory, [(millionths per unit, units variable)], fixed use, stock)``, the
    whole units the other factories already need, and the limit."""

    factories: list[tuple[int, list[tuple[int, V]], int, int]]
    others: int
    limit: int


def material_rows(
    limits: list[MaterialLimit],
    use: Mapping[tuple[int, int], list[tuple[int, int, V, int]]],
    fixed: MaterialState,
    kept: list[list[int]] | None = None,
) -> Iterator[tuple[int, int, MaterialRows[V]]]:
    """The rows a model needs, ``(material, checkpoint, rows)``, leaving out those that
    cannot bind even if every variable were at its bound.

    ``use``: (material, factory) -> [(millionths per unit, period, variable, bound)]
    of the modelled parts; ``fixed``: what the other, fixed parts use; ``kept``: ``R``
    of the work a re-plan keeps (done or frozen), taken as given: where it alone needs
    more than can arrive, the limit is what it needs.
    """
    for m, lim in enumerate(limits):
        factories = sorted(f for mm, f in use if mm == m)
        if not factories:
            continue
        for c, period in enumerate(lim.checkpoints):
            limit = max(lim.available[c], kept[m][c] if kept else 0)
            rows: list[tuple[int, list[tuple[int, V]], int, int]] = []
            others = fixed.need[m][c]
            most = 0
            for f in factories:
                terms = [(a, x) for a, t, x, _ in use[(m, f)] if t <= period]
                if not terms:
                    continue
                row = fixed.use.get((m, f))
                held = row[c] if row is not None else 0
                stock = lim.stock.get(f, 0)
                others -= whole_units(held - stock)
                top = sum(a * ub for a, t, _, ub in use[(m, f)] if t <= period)
                most += whole_units(top + held - stock)
                rows.append((f, terms, held, stock))
            if rows and most + others > limit:
                yield m, c, MaterialRows(rows, others, limit)
