from __future__ import annotations

from typing import Any

import pytest

from matcher.app.pipeline import plan
from matcher.app.replan import replan
from matcher.domain.events import Disruption, parse_disruption
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Move, Plan
from matcher.domain.validation import InvalidInstanceError
from tests.sharing_data import factory, instance, order

PARAMS = SolveParams(workers=1, seed=0, time_limit_s=5, sharing=False)


def _replan(inst: Instance, before: Plan, events: dict[str, Any]) -> Plan:
    return replan(inst, before, parse_disruption(events, inst), PARAMS)


def _where(p: Plan) -> dict[str, dict[str, list[tuple[int, int]]]]:
    out: dict[str, dict[str, list[tuple[int, int]]]] = {}
    for a in p.allocations:
        out.setdefault(a.order, {})[a.factory] = [(x.period, x.quantity) for x in a.periods]
    return out


def test_an_outage_forces_exactly_the_one_known_move() -> None:
    # A at F1; B may only use F2 (credit), which keeps 1 hour free; F3 is the dearest.
    # F1 goes down: A can only go to F3.
    inst = instance(
        [
            factory("F1", 100, [10]),
            factory("F2", 110, [10], score=95),
            factory("F3", 130, [10]),
        ],
        [order("A", 8), order("B", 9, min_credit=90)],
    )
    before = plan(inst, PARAMS)
    assert {o: set(f) for o, f in _where(before).items()} == {"A": {"F1"}, "B": {"F2"}}
    events = {
        "events": [
            {"type": "factory_unavailable", "factory": "F1", "from_period": 0, "to_period": 0}
        ]
    }
    after = _replan(inst, before, events)
    assert after.replan is not None
    assert after.replan.moves == [Move(order="A", from_factory="F1", to_factory="F3", units=8)]
    assert after.replan.orders_moved == 1
    assert after.replan.moved_units == 8
    assert after.replan.total_delta_cents == 8 * 30
    assert _where(after)["B"] == _where(before)["B"]


def _stability_case(weight: int) -> Plan:
    # X (10 units) sits at F1, the cheap factory with 10 hours. Y arrives: it may only
    # use F1 (credit 90 needed, F2 has 80). Serving Y means moving X to F2 (+10 a unit);
    # leaving Y out costs its penalty 5000.
    inst = instance(
        [factory("F1", 100, [10], score=95), factory("F2", 110, [100], score=80)],
        [order("X", 10, penalty=10**6)],
    )
    before = plan(inst, PARAMS)
    assert set(_where(before)["X"]) == {"F1"}
    y = order("Y", 10, penalty=5000, min_credit=90)
    events = {"stability": weight, "events": [{"type": "order_added", "order": y}]}
    return _replan(inst, before, events)


def test_without_a_stability_penalty_the_cheapest_re_plan_moves_work() -> None:
    after = _stability_case(0)
    assert set(_where(after)["X"]) == {"F2"}
    assert set(_where(after)["Y"]) == {"F1"}
    assert after.costs.moved_units == 10


def test_a_high_stability_penalty_keeps_the_plan_and_leaves_the_newcomer_out() -> None:
    after = _stability_case(1000)
    assert set(_where(after)["X"]) == {"F1"}
    assert "Y" not in _where(after)
    assert after.costs.moved_units == 0
    assert after.replan is not None
    assert [u.order for u in after.replan.newly_unserved] == ["Y"]
    assert after.replan.moves == []


def _urgent_newcomer(now: int) -> Plan:
    # A (due 1, lateness free) is made at F1 in periods 0-1. Urgent Y (due 1, 1000 a
    # unit and period late) can only use F1 (credit). Re-planned from period 0, A's
    # period-1 units would give way; from period 1, A has started: frozen.
    inst = instance(
        [factory("F1", 100, [5, 5, 5], score=95), factory("F2", 100, [0, 0, 0])],
        [order("A", 10, due=1)],
        periods=3,
    )
    before = plan(inst, PARAMS)
    assert _where(before)["A"] == {"F1": [(0, 5), (1, 5)]}
    y = order("Y", 5, due=1, late=1000, min_credit=90)
    return _replan(
        inst, before, {"now_period": now, "events": [{"type": "order_added", "order": y}]}
    )


def test_done_and_started_work_stays_where_and_when_it_was() -> None:
    after = _urgent_newcomer(1)
    assert _where(after)["A"] == {"F1": [(0, 5), (1, 5)]}
    assert _where(after)["Y"] == {"F1": [(2, 5)]}
    assert after.replan is not None and after.replan.frozen_units == 10
    assert after.replan.newly_late == ["Y"]


def test_work_not_yet_started_gives_way_to_an_urgent_order() -> None:
    after = _urgent_newcomer(0)
    assert _where(after)["Y"] == {"F1": [(1, 5)]}
    assert _where(after)["A"] == {"F1": [(0, 5), (2, 5)]}
    assert after.replan is not None and after.replan.frozen_units == 0


def test_frozen_work_at_a_factory_that_drops_out_is_released_and_may_move() -> None:
    # A (no split) started at F1 in period 0; F1 is down from period 1: the rest goes to
    # F2, the order now split, and the report says why.
    inst = instance(
        [factory("F1", 100, [5, 5, 5]), factory("F2", 120, [10, 10, 10])],
        [order("A", 10, due=2)],
        periods=3,
    )
    before = plan(inst, PARAMS)
    assert _where(before)["A"] == {"F1": [(1, 5), (2, 5)]} or _where(before)["A"]["F1"]
    events = {
        "now_period": 1,
        "frozen": ["A"],
        "events": [
            {"type": "factory_unavailable", "factory": "F1", "from_period": 1, "to_period": 2}
        ],
    }
    after = _replan(inst, before, events)
    made = _where(after)["A"]
    assert "F2" in made
    assert sum(q for rows in made.values() for _, q in rows) == 10
    assert all(t == 0 for t, _ in made.get("F1", []))
    assert after.replan is not None and after.replan.released


def test_a_cancelled_order_disappears_and_the_others_stay() -> None:
    inst = instance([factory("F1", 100, [20])], [order("A", 8), order("B", 9)])
    before = plan(inst, PARAMS)
    after = _replan(inst, before, {"events": [{"type": "order_cancelled", "order": "A"}]})
    assert set(_where(after)) == {"B"}
    assert after.replan is not None and after.replan.moves == []


def test_an_order_change_is_re_planned() -> None:
    inst = instance([factory("F1", 100, [20]), factory("F2", 120, [20])], [order("A", 8, split=2)])
    before = plan(inst, PARAMS)
    after = _replan(
        inst, before, {"events": [{"type": "order_changed", "order": "A", "quantity": 30}]}
    )
    assert sum(a.quantity for a in after.allocations) == 30
    assert after.replan is not None
    assert Move(order="A", from_factory=None, to_factory="F2", units=10) in after.replan.moves


def test_a_quantity_below_the_units_already_made_is_refused() -> None:
    inst = instance([factory("F1", 100, [5, 5])], [order("A", 10, due=1)], periods=2)
    before = plan(inst, PARAMS)
    d = parse_disruption(
        {"now_period": 1, "events": [{"type": "order_changed", "order": "A", "quantity": 2}]}, inst
    )
    with pytest.raises(InvalidInstanceError) as err:
        replan(inst, before, d, PARAMS)
    assert [i.path for i in err.value.issues] == ["events[0].quantity"]


def test_every_bad_event_is_reported_with_its_path() -> None:
    inst = instance([factory("F1", 100, [5, 5])], [order("A", 10, due=1)], periods=2)
    events: list[dict[str, Any]] = [
        {"type": "factory_unavailable", "factory": "F9", "from_period": 0, "to_period": 5},
        {"type": "capacity_cut", "factory": "F1", "from_period": 1, "to_period": 1},
        {"type": "order_cancelled", "order": "Z"},
        {"type": "order_added", "order": order("A", 3) | {"operations": [{"process": "weld"}]}},
    ]
    data = {"now_period": 1, "frozen": ["nope"], "events": events}
    with pytest.raises(InvalidInstanceError) as err:
        parse_disruption(data, inst)
    paths = sorted(i.path for i in err.value.issues)
    assert "events[1]" in " ".join(paths)  # neither available_minutes nor fraction
    with pytest.raises(InvalidInstanceError) as err:
        parse_disruption({**data, "events": [events[0], *events[2:]]}, inst)
    paths = sorted(i.path for i in err.value.issues)
    assert paths == [
        "events[0].factory",
        "events[0].from_period",
        "events[0].to_period",
        "events[1].order",
        "events[2].order.id",
        "events[2].order.operations[0].process",
        "frozen[0]",
    ]


def test_a_disruption_needs_known_event_types() -> None:
    inst = instance([factory("F1", 100, [5])], [order("A", 1)])
    with pytest.raises(InvalidInstanceError):
        parse_disruption({"events": [{"type": "earthquake"}]}, inst)
    assert isinstance(parse_disruption({}, inst), Disruption)


def test_the_cli_re_plans_and_the_checker_accepts_it(tmp_path: Any) -> None:
    from matcher.cli import main

    inst = instance(
        [factory("F1", 100, [10]), factory("F2", 110, [10], score=95), factory("F3", 130, [10])],
        [order("A", 8), order("B", 9, min_credit=90)],
    )
    (tmp_path / "i.json").write_text(inst.model_dump_json())
    (tmp_path / "p.json").write_text(plan(inst, PARAMS).model_dump_json())
    (tmp_path / "e.json").write_text(
        '{"events": [{"type": "factory_unavailable", "factory": "F1", '
        '"from_period": 0, "to_period": 0}]}'
    )
    i, p, e, n = (str(tmp_path / f) for f in ("i.json", "p.json", "e.json", "n.json"))
    assert main(["replan", i, p, e, "-o", n, "-q", "--workers", "1", "--time-limit", "2"]) == 0
    assert main(["check", i, n, "--previous", p, "--events", e]) == 0
    assert main(["check", i, n, "--previous", p]) == 2  # --events is needed too
    (tmp_path / "bad.json").write_text('{"events": [{"type": "factory_unavailable"}]}')
    assert main(["replan", i, p, str(tmp_path / "bad.json"), "-o", n, "-q"]) == 2
