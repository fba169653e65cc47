"""Hand-checked cases where buying materials changes the best assignment.

Two factories 96 km apart: FA at 120°E and FB at 121°E on the 30th parallel; with a
road factor of 1 and 1000 cents per tonne-km, a unit (1 kg) of material costs 96
cents to carry from one to the other and nothing where it stands. Goods weigh nothing
(no product transport). O1 (60 units, process q) can only be made at FB, at 100 a
unit; O2 (50 units, process p) at FA for 100 or at FB for 110 a unit, so FA makes it
500 cheaper. Each unit takes one unit of material m. Supplier SB stands at FB, SA at
FA. Every cost below is worked out in the comments.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from matcher.app.pipeline import plan
from matcher.domain.entities import Location, Offer, Transport
from matcher.domain.geo import transport_cents_per_unit
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams, StopSignal
from matcher.domain.plan import Plan, SolveStatus
from matcher.generate import generate
from solvers.assignment.base import AssignmentResult
from solvers.assignment.problem import AnchorSpec, AssignmentProblem, build_problem
from solvers.joint.backend import JointBackend, purchasing_part
from solvers.purchasing.model import offer_pieces
from solvers.purchasing.problem import OfferData

FA = {"lat": 30.0, "lon": 120.0}
FB = {"lat": 30.0, "lon": 121.0}
TRANSPORT = {"road_factor": 1.0, "cents_per_tonne_km": 1000.0}
# feedback=False: the pipeline runs its stages once, in sequence (the joint back-end
# prices the materials itself; for the assignment back-ends this is the sequential
# pipeline the joint reference is measured against).
PARAMS = SolveParams(
    assignment_solver="joint",
    workers=1,
    seed=0,
    time_limit_s=20,
    relative_gap=0.0,
    sharing=False,
    feedback=False,
)


def _offer(tiers: list[tuple[float, int]], **extra: Any) -> dict[str, Any]:
    prices = [{"min_quantity": q, "unit_price_cents": p} for q, p in tiers]
    return {"material": "m", "price": {"type": "all_units", "tiers": prices}, **extra}


def _factory(fid: str, where: dict[str, float], caps: dict[str, int], stock: float) -> Any:
    return {
        "id": fid,
        "location": where,
        "capabilities": [
            {"process": p, "resource_group": "r", "unit_cost_cents": c, "seconds_per_unit": 1}
            for p, c in caps.items()
        ],
        "resources": [{"id": "r", "available_minutes": [480] * 3}],
        "stock": {"m": stock} if stock else {},
    }


def _order(oid: str, process: str, quantity: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": oid,
        "buyer": "B",
        "operations": [{"process": process}],
        "quantity": quantity,
        "due_period": 2,
        "delivery": FB,
        "unit_weight_kg": 0.0,
        "penalties": {"unserved_cents": 1_000_000},
        "bill_of_materials": {"m": 1.0},
        **extra,
    }


def _case(sb: dict[str, Any], sa: dict[str, Any], stock_b: float = 0.0, **o2: Any) -> Instance:
    return Instance.model_validate(
        {
            "name": "joint-case",
            "horizon": {"start_date": "2026-01-05", "periods": 3},
            "processes": [{"id": "p"}, {"id": "q"}],
            "materials": [{"id": "m", "unit": "m"}],
            "factories": [
                _factory("FA", FA, {"p": 100}, 0.0),
                _factory("FB", FB, {"p": 110, "q": 100}, stock_b),
            ],
            "orders": [_order("O1", "q", 60), _order("O2", "p", 50, **o2)],
            "suppliers": [
                {"id": "SB", "location": FB, "offers": [sb]},
                {"id": "SA", "location": FA, "offers": [sa]},
            ],
            "transport": TRANSPORT,
        }
    )


def _joint(instance: Instance) -> tuple[AssignmentProblem, AssignmentResult]:
    problem = build_problem(instance)
    result = JointBackend().solve(problem, PARAMS)
    assert result.status == SolveStatus.OPTIMAL, result.notes
    assert result.best_bound == pytest.approx(result.objective, abs=0.5)
    return problem, result


def _made(problem: AssignmentProblem, result: AssignmentResult, order: str) -> dict[str, Any]:
    """Factory id -> period -> units of ``order`` in the result."""
    out: dict[str, Any] = {}
    for part in result.parts:
        cand = problem.candidates[part.candidate]
        if problem.orders[cand.order].order.id == order:
            out[problem.instance.factories[cand.factory].id] = part.quantities
    return out


def _plan(instance: Instance, solver: str, feedback: bool = False) -> Plan:
    update = {"assignment_solver": solver, "feedback": feedback}
    return plan(instance, PARAMS.model_copy(update=update))


def _o2_at(p: Plan) -> set[str]:
    return {a.factory for a in p.allocations if a.order == "O2"}


def test_the_hand_figures_rest_on_96_cents_a_unit_between_the_factories() -> None:
    t = Transport.model_validate(TRANSPORT)
    assert transport_cents_per_unit(Location(**FA), Location(**FB), t, 1.0) == 96


def test_a_tier_threshold_moves_an_order_to_the_dearer_factory() -> None:
    # SB: 100 a unit, 60 from 100 units (all-units); SA: 80 a unit.
    # O2 at FB: 110 units from SB at 60 = 6600; production 6000 + 5500: 18100.
    # O2 at FA: FB's 60 from SB = 6000 (or 100 at 60, the same), FA's 50 from SA =
    # 4000; production 6000 + 5000: 21000 (110 from SB with 50 carried: 22400).
    instance = _case(_offer([(0, 100), (100, 60)]), _offer([(0, 80)]))
    problem, result = _joint(instance)
    assert _made(problem, result, "O2").keys() == {"FB"}
    assert result.objective == 18100
    assert purchasing_part(result.notes) == 6600


def test_without_the_cheaper_tier_the_order_stays_at_the_cheaper_factory() -> None:
    # SB flat 100: O2 at FB costs 110 x 100 + 11500 = 22500, at FA 6000 + 4000 + 11000.
    instance = _case(_offer([(0, 100)]), _offer([(0, 80)]))
    problem, result = _joint(instance)
    assert _made(problem, result, "O2").keys() == {"FA"}
    assert result.objective == 21000


def test_the_sequential_pipeline_misses_the_tier_and_pays_2900_more() -> None:
    instance = _case(_offer([(0, 100), (100, 60)]), _offer([(0, 80)]))
    sequential, joint = _plan(instance, "cpsat"), _plan(instance, "joint")
    assert _o2_at(sequential) == {"FA"} and _o2_at(joint) == {"FB"}
    assert sequential.costs.total == 21000
    assert joint.costs.total == 18100
    assert joint.purchasing is not None and joint.purchasing.collective_cents == 6600
    assert not joint.purchasing.shortages


def test_the_default_pipeline_with_feedback_never_beats_the_joint_optimum() -> None:
    instance = _case(_offer([(0, 100), (100, 60)]), _offer([(0, 80)]))
    assert _plan(instance, "cpsat", feedback=True).costs.total >= 18100


def test_a_supplier_capacity_moves_an_order_to_the_dearer_factory() -> None:
    # SB and SA: 80 a unit; SA can sell 20. O2 at FA: 20 from SA, 30 from SB carried
    # (30 x 176 = 5280), FB's 60 from SB (4800): 11680 + 11000 = 22680.
    # O2 at FB: 110 from SB = 8800, + 11500 = 20300.
    instance = _case(_offer([(0, 80)]), _offer([(0, 80)], capacity=20))
    problem, result = _joint(instance)
    assert _made(problem, result, "O2").keys() == {"FB"}
    assert result.objective == 20300
    assert purchasing_part(result.notes) == 8800


def test_with_room_at_the_near_supplier_the_order_stays_and_the_pipelines_agree() -> None:
    # SA can sell 50: O2 at FA costs 4000 + 4800 + 11000 = 19800 < 20300.
    roomy = _case(_offer([(0, 80)]), _offer([(0, 80)], capacity=50))
    problem, result = _joint(roomy)
    assert _made(problem, result, "O2").keys() == {"FA"}
    assert result.objective == 19800
    sequential, joint = _plan(roomy, "cpsat"), _plan(roomy, "joint")
    assert sequential.costs.total == joint.costs.total == 19800


def test_the_sequential_pipeline_misses_the_capacity_and_pays_2380_more() -> None:
    instance = _case(_offer([(0, 80)]), _offer([(0, 80)], capacity=20))
    sequential, joint = _plan(instance, "cpsat"), _plan(instance, "joint")
    assert _o2_at(sequential) == {"FA"} and _o2_at(joint) == {"FB"}
    assert sequential.costs.total == 22680
    assert joint.costs.total == 20300


def test_a_lead_time_moves_an_order_to_the_factory_holding_stock() -> None:
    # Both suppliers 80 a unit with a lead time of 2; FB holds 50 of m; O2 is due in
    # period 0 and pays 100 a unit per period late. O2 at FB in period 0 on the
    # stock, O1 in period 2 on 60 bought: 5500 + 6000 + 4800 = 16300. O2 at FA cannot
    # start before period 2: 5000 + 6000 + 10000 late + 4000 + 800 (FB: 60 - 50).
    instance = _case(
        _offer([(0, 80)], lead_time_periods=2),
        _offer([(0, 80)], lead_time_periods=2),
        stock_b=50,
        due_period=0,
        penalties={"late_cents_per_unit_period": 100, "unserved_cents": 1_000_000},
    )
    problem, result = _joint(instance)
    assert _made(problem, result, "O2") == {"FB": {0: 50}}
    assert _made(problem, result, "O1") == {"FB": {2: 60}}
    assert result.objective == 16300
    assert purchasing_part(result.notes) == 4800


def test_without_the_lead_time_the_order_stays_at_the_cheaper_factory() -> None:
    # Lead time 0: O2 at FA in period 0: 5000 + 6000 + 4000 + 800 = 15800 < 16300.
    instance = _case(
        _offer([(0, 80)]),
        _offer([(0, 80)]),
        stock_b=50,
        due_period=0,
        penalties={"late_cents_per_unit_period": 100, "unserved_cents": 1_000_000},
    )
    problem, result = _joint(instance)
    assert _made(problem, result, "O2") == {"FA": {0: 50}}
    assert result.objective == 15800


def test_a_mandatory_order_is_served_however_dear_its_materials() -> None:
    # The assignment's mandatory penalty (what production alone can cost, plus one)
    # is far below the material: the joint model raises it by what purchases can cost.
    instance = _case(_offer([(0, 100_000)]), _offer([(0, 100_000)]))
    data = instance.model_dump()
    for o in data["orders"]:
        o["penalties"] = {}
    problem, result = _joint(Instance.model_validate(data))
    assert {
        problem.orders[problem.candidates[p.candidate].order].order.id for p in result.parts
    } == {
        "O1",
        "O2",
    }
    assert result.objective == 6000 + 5000 + 110 * 100_000


def test_nothing_is_made_before_its_materials_can_arrive() -> None:
    # Both offers need 2 periods and nobody holds stock: O2, due in period 0 (lateness
    # free here), and O1 are made in period 2.
    instance = _case(_offer([(0, 80)], lead_time_periods=2), _offer([(0, 90)], lead_time_periods=2))
    _problem, result = _joint(instance)
    assert all(t >= 2 for p in result.parts for t in p.quantities)


def _offer_data(
    kind: str, tiers: list[tuple[float, int]], moq: float, capacity: float | None
) -> OfferData:
    offer = Offer.model_validate(
        {
            "material": "m",
            "price": {
                "type": kind,
                "tiers": [{"min_quantity": q, "unit_price_cents": p} for q, p in tiers],
            },
            "moq": moq,
            "capacity": capacity,
        }
    )
    breaks = tuple(int(-(-q // 1)) for q, _ in tiers)
    minimum = max(breaks[0], int(-(-moq // 1)))
    cap = None if capacity is None else int(capacity)
    return OfferData(
        0,
        "S",
        offer,
        breaks,
        tuple(p for _, p in tiers),
        kind == "incremental",
        minimum,
        cap,
        0,
        {},
    )


@pytest.mark.parametrize("kind", ["all_units", "incremental"])
@pytest.mark.parametrize(("moq", "capacity"), [(0.0, None), (7.5, None), (12.0, 40.0)])
def test_the_price_pieces_cost_exactly_what_purchasing_charges(
    kind: str, moq: float, capacity: float | None
) -> None:
    o = _offer_data(kind, [(0, 50), (10, 40), (25, 31), (25.5, 30)], moq, capacity)
    upper = 60 if capacity is None else int(capacity)
    pieces = offer_pieces(o, upper)
    for q in range(1, upper + 1):
        costs = [p.fixed + p.unit * q for p in pieces if p.lo <= q <= p.hi]
        if q < o.minimum:
            assert not costs
        else:
            assert min(costs) == max(costs) == o.cost(q), q


def test_the_joint_reference_refuses_more_than_30_orders_and_says_how_many() -> None:
    problem = build_problem(generate(orders=31, factories=4, periods=7, seed=1))
    why = JointBackend().unsupported_reason(problem, PARAMS)
    assert why is not None and "31 orders" in why


def test_the_joint_reference_refuses_re_plans_and_orders_split_by_operation() -> None:
    instance = _case(_offer([(0, 80)]), _offer([(0, 80)]))
    anchored = build_problem(instance, anchor=AnchorSpec(0, {}, {}, {}, 0))
    assert "re-plans" in (JointBackend().unsupported_reason(anchored, PARAMS) or "")
    split = generate(orders=20, factories=5, periods=7, seed=4, by_operation=1.0)
    problem = build_problem(split)
    assert problem.by_operation
    assert "split by operation" in (JointBackend().unsupported_reason(problem, PARAMS) or "")


def test_a_stop_request_returns_at_once() -> None:
    stop = StopSignal()
    stop.set()
    problem = build_problem(generate(orders=25, factories=6, periods=7, seed=2))
    start = time.perf_counter()
    JointBackend().solve(problem, PARAMS.model_copy(update={"time_limit_s": 60}), stop=stop)
    assert time.perf_counter() - start < 10
