"""Hand-checked purchasing cases, back-end agreement and the stage's savings split.

Factories and suppliers of the tiny cases stand at one place (no inbound transport),
so every optimum below is a sum of tier prices worked out in the comments.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import pytest

from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Allocation, PeriodQuantity, ShortageReason, SolveStatus
from matcher.generate.purchasing import purchasing_case
from solvers.linear import Limits
from solvers.purchasing.problem import build_purchasing_problem, material_needs, offer_cost
from solvers.purchasing.solve import MaterialSolution, ProvenAnswers, solve_material
from solvers.purchasing.stage import run_purchasing

HERE = {"lat": 30.0, "lon": 120.0}


def _offer(
    material: str,
    tiers: list[tuple[float, int]],
    kind: str = "all_units",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "material": material,
        "price": {
            "type": kind,
            "tiers": [{"min_quantity": q, "unit_price_cents": p} for q, p in tiers],
        },
        **extra,
    }


def _instance(offers: dict[str, list[dict[str, Any]]], factories: int = 1) -> Instance:
    return Instance.model_validate(
        {
            "horizon": {"start_date": "2026-01-05", "periods": 10},
            "processes": [{"id": "p"}],
            "materials": [{"id": "m"}, {"id": "n"}],
            "factories": [
                {
                    "id": f"F{i}",
                    "location": HERE,
                    "capabilities": [
                        {
                            "process": "p",
                            "resource_group": "r",
                            "unit_cost_cents": 1,
                            "seconds_per_unit": 1,
                        }
                    ],
                    "resources": [{"id": "r", "available_minutes": [60] * 10}],
                }
                for i in range(1, factories + 1)
            ],
            "suppliers": [
                {"id": sid, "location": HERE, "offers": offs} for sid, offs in offers.items()
            ],
        }
    )


def _solve(
    instance: Instance,
    needs: dict[str, dict[int, int]],
    solver: str = "mip-highs",
    max_suppliers: int | None = None,
) -> MaterialSolution:
    problem = build_purchasing_problem(instance, {"m": needs})
    limits = Limits(time.perf_counter() + 20, 0.0, 0, 1)
    return solve_material(problem.materials[0], needs, solver, limits, max_suppliers)


def _bought(sol: MaterialSolution) -> dict[str, int]:
    return {b.offer.supplier: b.quantity for b in sol.bought}


SOLVERS = ["mip-highs", "cpsat", "mip-scip", "mip-cbc"]


@pytest.mark.parametrize("solver", SOLVERS)
def test_all_units_buys_more_to_reach_a_cheaper_tier(solver: str) -> None:
    inst = _instance({"A": [_offer("m", [(0, 100), (100, 80)])]})
    sol = _solve(inst, {"F1": {5: 90}}, solver)
    # 90 at 1.00 = 9000 against 100 at 0.80 = 8000: buy 100, 10 of them surplus
    assert sol.status == SolveStatus.OPTIMAL
    assert sol.cost == 8000
    assert _bought(sol) == {"A": 100}
    assert sol.bought[0].surplus == 10
    assert sol.bought[0].offer.tier(100) == 1


@pytest.mark.parametrize("solver", SOLVERS)
def test_incremental_prices_each_unit_by_its_own_tier(solver: str) -> None:
    inst = _instance({"A": [_offer("m", [(0, 100), (50, 80), (100, 60)], "incremental")]})
    sol = _solve(inst, {"F1": {5: 120}}, solver)
    # 50 x 1.00 + 50 x 0.80 + 20 x 0.60; buying more never pays with incremental tiers
    assert sol.cost == 5000 + 4000 + 1200
    assert _bought(sol) == {"A": 120}
    assert sol.bought[0].offer.tier(120) == 2
    assert sol.bought[0].offer.tier(100) == 1  # unit 100 is the last of tier 1


def test_offer_cost_follows_both_schedules_at_and_around_the_breaks() -> None:
    breaks, prices = (0, 50, 100), (100, 80, 60)
    assert [offer_cost(breaks, prices, False, q) for q in (49, 50, 99, 100)] == [
        4900,
        4000,
        7920,
        6000,
    ]
    assert [offer_cost(breaks, prices, True, q) for q in (50, 51, 100, 101)] == [
        5000,
        5080,
        9000,
        9060,
    ]


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(
    ("need", "winner", "cost"), [(100, {"B": 100}, 7000), (150, {"A": 200}, 10000)]
)
def test_a_moq_means_zero_or_at_least_the_moq(
    solver: str, need: int, winner: dict[str, int], cost: int
) -> None:
    inst = _instance({"A": [_offer("m", [(0, 50)], moq=200)], "B": [_offer("m", [(0, 70)])]})
    sol = _solve(inst, {"F1": {5: need}}, solver)
    # 100: A would be 200 x 0.50 = 10000 > B's 7000; 150: B's 10500 > A's 10000
    assert sol.cost == cost
    assert _bought(sol) == winner


@pytest.mark.parametrize("solver", SOLVERS)
def test_capacity_forces_a_split_between_suppliers(solver: str) -> None:
    inst = _instance({"A": [_offer("m", [(0, 50)], capacity=60)], "B": [_offer("m", [(0, 70)])]})
    sol = _solve(inst, {"F1": {5: 100}}, solver)
    assert _bought(sol) == {"A": 60, "B": 40}
    assert sol.cost == 60 * 50 + 40 * 70


def test_lead_time_decides_who_can_deliver_and_early_needs_are_shortages() -> None:
    inst = _instance(
        {
            "A": [_offer("m", [(0, 50)], lead_time_periods=3)],
            "B": [_offer("m", [(0, 90)], lead_time_periods=1)],
        }
    )
    sol = _solve(inst, {"F1": {0: 5, 2: 10, 4: 20}})
    # period 0: nobody in time; period 2: only B (lead 1); period 4: A, the cheaper
    assert _bought(sol) == {"A": 20, "B": 10}
    assert [(u.period, u.units, u.reason) for u in sol.uncovered] == [
        (0, 5, ShortageReason.LEAD_TIME)
    ]
    delivered = {(b.offer.supplier, t) for b in sol.bought for _, t, _ in b.deliveries}
    assert delivered == {("A", 4), ("B", 2)}


def test_a_supplier_cap_leaves_the_fewest_units_uncovered() -> None:
    inst = _instance(
        {"A": [_offer("m", [(0, 50)], capacity=60)], "B": [_offer("m", [(0, 70)], capacity=80)]}
    )
    sol = _solve(inst, {"F1": {5: 100}}, max_suppliers=1)
    # one supplier only: B covers 80 of 100, A only 60: 20 units short
    assert _bought(sol) == {"B": 80}
    assert sum(u.units for u in sol.uncovered) == 20
    assert {u.reason for u in sol.uncovered} == {ShortageReason.SUPPLIER_CAPACITY}


def test_needs_are_rounded_up_cumulatively() -> None:
    inst = _instance({"A": [_offer("m", [(0, 1)])]})
    allocation = Allocation(
        order="O1",
        operation=0,
        process="p",
        factory="F1",
        resource_group="r",
        quantity=10,
        periods=[PeriodQuantity(period=t, quantity=1) for t in range(10)],
        production_cents=10,
    )
    data = inst.model_dump(mode="json")
    data["orders"] = [
        {
            "id": "O1",
            "buyer": "b",
            "operations": [{"process": "p"}],
            "quantity": 10,
            "due_period": 9,
            "delivery": HERE,
            "bill_of_materials": {"m": 0.3},
        }
    ]
    needs = material_needs(Instance.model_validate(data), [allocation])
    # 0.3 a period: cumulative 0.3, 0.6, 0.9, 1.2 ... 3.0 -> whole units 1, 1, 1, 2 ... 3
    assert needs == {"m": {"F1": {0: 1, 3: 1, 6: 1}}}


@pytest.mark.parametrize("seed", range(4))
def test_back_ends_agree_on_random_cases(seed: int) -> None:
    instance, needs = purchasing_case(6, 4, 5, seed=seed)
    problem = build_purchasing_problem(instance, needs)
    for mp in problem.materials:
        costs = {}
        for solver in ("mip-highs", "cpsat", "mip-scip"):
            sol = solve_material(
                mp, mp.factories, solver, Limits(time.perf_counter() + 30, 0.0, 0, 1)
            )
            assert sol.status == SolveStatus.OPTIMAL, (solver, mp.material.id)
            costs[solver] = sol.cost
        assert len(set(costs.values())) == 1, (mp.material.id, costs)


def _allocation(order: str, factory: str, quantity: int, period: int) -> Allocation:
    return Allocation(
        order=order,
        operation=0,
        process="p",
        factory=factory,
        resource_group="r",
        quantity=quantity,
        periods=[PeriodQuantity(period=period, quantity=quantity)],
        production_cents=quantity,
    )


def _twins_and_a_loner() -> tuple[Instance, list[Allocation]]:
    """F1 and F2 need 60 of m each; F3 needs 60 of n alone."""
    base = _instance(
        {"A": [_offer("m", [(0, 100), (100, 80)]), _offer("n", [(0, 10), (50, 9)])]},
        factories=3,
    )
    data = base.model_dump(mode="json")
    data["orders"] = [
        {
            "id": f"O{i}",
            "buyer": "b",
            "operations": [{"process": "p"}],
            "quantity": 60,
            "due_period": 9,
            "delivery": HERE,
            "bill_of_materials": {mat: 1.0},
        }
        for i, mat in ((1, "m"), (2, "m"), (3, "n"))
    ]
    allocations = [_allocation(f"O{i}", f"F{i}", 60, 6) for i in (1, 2, 3)]
    return Instance.model_validate(data), allocations


@pytest.mark.parametrize("split", ["shapley", "proportional"])
def test_the_stage_splits_savings_exactly_symmetrically_and_gives_a_dummy_nothing(
    split: Literal["shapley", "proportional"],
) -> None:
    inst, allocations = _twins_and_a_loner()
    params = SolveParams(workers=1, savings_split=split)
    out = run_purchasing(inst, allocations, params, 10.0)
    assert out is not None
    pu, stats = out
    assert stats.status == SolveStatus.OPTIMAL
    # m: alone 60 x 1.00 each; together 120 x 0.80 = 9600. n: 60 x 0.09 = 540 either way
    assert pu.collective_cents == 9600 + 540
    assert pu.standalone_cents == 6000 + 6000 + 540
    assert pu.savings_by_material_cents == {"m": 2400, "n": 0}
    shares = {s.factory: (s.standalone_cents, s.charged_cents, s.saving_cents) for s in pu.shares}
    assert shares == {"F1": (6000, 4800, 1200), "F2": (6000, 4800, 1200), "F3": (540, 540, 0)}
    assert pu.core is None or pu.core.blocking_coalition == []


def test_the_shipped_purchasing_instance_matches_its_hand_derivation() -> None:
    """instances/README.md derives this optimum, the savings and their split by hand."""
    from matcher.app.pipeline import plan
    from matcher.check import check_plan
    from matcher.domain.validation import load_instance

    inst = load_instance("instances/purchasing.json")
    p = plan(inst, SolveParams(workers=1, time_limit_s=20))
    assert check_plan(inst, p).ok
    pu = p.purchasing
    assert pu is not None
    assert {(x.supplier, x.quantity, x.tier) for x in pu.purchases} == {
        ("S1", 580.0, 1),
        ("S2", 320.0, 1),
    }
    assert (pu.collective_cents, pu.standalone_cents, pu.savings_cents) == (
        816400,
        862400,
        46000,
    )
    assert [(s.factory, s.saving_cents, s.charged_cents) for s in pu.shares] == [
        ("F1", 8933, 359067),
        ("F2", 17133, 277267),
        ("F3", 19934, 180066),
    ]
    assert pu.split_method == "shapley"
    assert pu.core is not None and pu.core.exhaustive
    assert (pu.core.blocking_coalition, pu.core.excess_cents) == (["F2", "F3"], 7333)


def test_a_proven_answer_is_reused_for_the_same_needs_and_only_for_them() -> None:
    inst = _instance({"A": [_offer("m", [(0, 100), (100, 80)])]}, factories=2)
    problem = build_purchasing_problem(inst, {"m": {"F1": {5: 90}, "F2": {5: 30}}})
    mp = problem.materials[0]
    proven = ProvenAnswers()

    def solve(factories: list[str]) -> MaterialSolution:
        limits = Limits(time.perf_counter() + 20, 0.0, 0, 1)
        return solve_material(mp, factories, "cpsat", limits, None, proven)

    first = solve(["F1"])
    again = solve(["F1"])
    assert proven.reused == 1
    assert (again.cost, again.status, _bought(again)) == (first.cost, first.status, _bought(first))
    again.notes.append("a caller's note")  # a reused answer is the caller's to change
    assert "a caller's note" not in solve(["F1"]).notes
    both = solve(["F1", "F2"])  # other needs: solved, not reused
    assert proven.reused == 2
    assert both.cost == 120 * 80


def test_with_a_wall_clock_limit_the_stand_alone_solves_keep_to_the_stage_time() -> None:
    """Several workers: the stand-alone solves stop at the stage's own share (here none
    is left), the rest are greedy upper bounds and the notes say so; one worker solves
    them from the time limit's nominal share whatever the stage's seconds."""
    inst, allocations = _twins_and_a_loner()
    timed = run_purchasing(inst, allocations, SolveParams(workers=2), 0.0)
    assert timed is not None
    pu, _ = timed
    assert pu.collective_cents == 9600 + 540  # the plan's purchases are still optimal
    assert any("stand-alone costs are not proven optimal" in n for n in pu.notes), pu.notes
    nominal = run_purchasing(inst, allocations, SolveParams(workers=1), 0.0)
    assert nominal is not None
    assert not any("stand-alone costs are not proven optimal" in n for n in nominal[0].notes)
