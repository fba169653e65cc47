from __future__ import annotations

from typing import Any

from matcher.app.pipeline import plan
from matcher.app.schedule import schedule_plan
from matcher.check import check_schedule
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan
from matcher.domain.schedule import Schedule
from matcher.domain.validation import parse_instance
from tests.sharing_data import HERE


def _case() -> tuple[Any, Plan]:
    # F1: cut (1 machine, 6 min a unit) then sew (2 machines, 12 min a unit); each
    # machine works the first 480 min of a day. 40 units due day 1.
    data = {
        "name": "sched",
        "horizon": {"start_date": "2026-01-05", "periods": 2},
        "processes": [{"id": "cut"}, {"id": "sew"}],
        "factories": [
            {
                "id": "F1",
                "location": HERE,
                "capabilities": [
                    {
                        "process": "cut",
                        "resource_group": "cutter",
                        "unit_cost_cents": 10,
                        "seconds_per_unit": 360,
                    },
                    {
                        "process": "sew",
                        "resource_group": "line",
                        "unit_cost_cents": 20,
                        "seconds_per_unit": 720,
                        "setup_minutes": 10,
                    },
                ],
                "resources": [
                    {"id": "cutter", "machines": 1, "available_minutes": [480, 480]},
                    {"id": "line", "machines": 2, "available_minutes": [960, 960]},
                ],
            }
        ],
        "orders": [
            {
                "id": "O1",
                "buyer": "B",
                "operations": [{"process": "cut"}, {"process": "sew"}],
                "quantity": 40,
                "due_period": 1,
                "delivery": HERE,
            },
        ],
        "transport": {"cents_per_tonne_km": 0.0},
    }
    inst = parse_instance(data)
    return inst, plan(inst, SolveParams(workers=1, time_limit_s=5, sharing=False))


def test_a_schedule_respects_calendars_chains_and_the_plan() -> None:
    inst, p = _case()
    s = schedule_plan(inst, p, "F1", time_limit_s=5, workers=1)
    (f,) = s.factories
    assert f.status.value in ("OPTIMAL", "FEASIBLE")
    assert check_schedule(inst, p, s) == []
    lots = [lot for m in f.machines for lot in m.lots]
    assert sum(lot.quantity for lot in lots if lot.operation == 0) == 40
    for lot in lots:  # within a shift of its day
        day = lot.start_minute // 1440
        assert lot.end_minute <= day * 1440 + 480
    assert {m.machine for m in f.machines} == {"cutter#1", "line#1", "line#2"}


def _tamper(s: Schedule, change: dict[str, int]) -> Schedule:
    data = s.model_dump(mode="json")
    lot = data["factories"][0]["machines"][0]["lots"][0]
    lot.update(change)
    return Schedule.model_validate(data)


def test_the_checker_catches_a_lot_outside_the_calendar_and_a_wrong_duration() -> None:
    inst, p = _case()
    s = schedule_plan(inst, p, "F1", time_limit_s=5, workers=1)
    first = s.factories[0].machines[0].lots[0]
    night = _tamper(
        s, {"start_minute": 600, "end_minute": 600 + first.end_minute - first.start_minute}
    )
    codes = {v.code for v in check_schedule(inst, p, night)}
    assert "SCHEDULE_CALENDAR" in codes
    short = _tamper(s, {"end_minute": first.end_minute - 1})
    assert "SCHEDULE_DURATION" in {v.code for v in check_schedule(inst, p, short)}


def test_the_checker_catches_missing_units_and_broken_chains() -> None:
    inst, p = _case()
    s = schedule_plan(inst, p, "F1", time_limit_s=5, workers=1)
    data = s.model_dump(mode="json")
    data["factories"][0]["machines"][0]["lots"].pop(0)
    codes = {v.code for v in check_schedule(inst, p, Schedule.model_validate(data))}
    assert {"SCHEDULE_COVERAGE", "SCHEDULE_PRECEDENCE"} <= codes
