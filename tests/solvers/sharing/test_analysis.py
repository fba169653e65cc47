from __future__ import annotations

import pytest

from matcher.app.pipeline import plan
from matcher.check import check_plan
from matcher.domain.params import SolveParams
from matcher.domain.plan import CapacitySharing, LoadStatus, TransferKind
from tests.sharing_data import factory, instance, order

PARAMS = SolveParams(workers=1, seed=0, time_limit_s=5)


def _sharing(**kw: object) -> CapacitySharing:
    # F1 makes a unit for 100, F2 for 150; 15 units are due now and F1 has 10 hours.
    inst = instance(
        [factory("F1", 100, [10]), factory("F2", 150, [100])], [order("O1", 15, split=2)]
    )
    p = plan(inst, PARAMS.model_copy(update=kw))
    assert p.stages[0].status.value == "OPTIMAL"
    assert p.capacity_sharing is not None
    return p.capacity_sharing


def test_an_hour_more_at_the_binding_factory_is_worth_the_price_difference() -> None:
    cs = _sharing()
    rows = {(r.factory, r.period): r for r in cs.capacity}
    assert rows[("F1", 0)].used_minutes == 600
    assert rows[("F1", 0)].idle_minutes == 0
    assert rows[("F1", 0)].marginal_cents_per_hour == pytest.approx(50.0)
    assert rows[("F2", 0)].idle_minutes == 100 * 60 - 5 * 60
    assert rows[("F2", 0)].marginal_cents_per_hour == 0.0
    assert [n.factory for n in cs.extra_capacity_pays] == ["F1"]
    assert cs.extra_capacity_pays[0].marginal_cents_per_hour == pytest.approx(50.0)
    assert "GLOP" in cs.method


def test_the_binding_cheapest_factory_is_overloaded_and_the_idle_one_under_used() -> None:
    cs = _sharing()
    assert [(f.factory, f.status, f.orders) for f in cs.overloaded] == [
        ("F1", LoadStatus.OVERLOADED, ["O1"])
    ]
    assert [f.factory for f in cs.under_used] == ["F2"]
    assert cs.idle_to_offer[0].factory == "F2"
    assert cs.idle_to_offer[0].idle_hours == pytest.approx(95.0)
    assert cs.idle_to_offer[0].processes == ["press"]


def test_lending_idle_hours_to_the_binding_factory_is_valued_by_re_solving() -> None:
    cs = _sharing()
    (lend,) = [t for t in cs.transfers if t.kind == TransferKind.LEND_CAPACITY]
    # F2 offers 10 idle hours to F1 (as many as F1 has): the 5 units made at F2 for 150
    # move to F1 for 100, using 5 of them, the hours stated.
    assert (lend.from_factory, lend.to_factory, lend.period, lend.hours) == ("F2", "F1", 0, 5.0)
    assert lend.saving_cents == 5 * 50
    assert lend.detail.startswith("5 idle h of press (10 offered)")


def test_the_notes_say_how_each_lending_try_ended() -> None:
    cs = _sharing()
    # One binding group (F1, period 0) with a lender (F2) whose re-solve saves.
    assert "lending idle hours: 1 binding group(s) tried: 1 re-solved, a saving found" in cs.notes


def test_without_a_lender_the_notes_say_so() -> None:
    # F2 has no idle hour to lend: it is as busy as F1.
    inst = instance([factory("F1", 100, [10]), factory("F2", 150, [5])], [order("O1", 15, split=2)])
    cs = plan(inst, PARAMS).capacity_sharing
    assert cs is not None
    assert not cs.transfers
    assert any(n.startswith("lending idle hours:") and "without a lender" in n for n in cs.notes)


def test_an_optimal_plan_has_no_work_worth_moving() -> None:
    cs = _sharing()
    assert not [t for t in cs.transfers if t.kind == TransferKind.MOVE_WORK]


def test_backups_name_the_next_cheapest_factory_with_room_and_its_extra_cost() -> None:
    inst = instance(
        [factory("F1", 100, [10]), factory("F2", 150, [100]), factory("F3", 120, [4])],
        [order("O1", 8)],
    )
    cs = plan(inst, PARAMS.model_copy(update={"backups": True})).capacity_sharing
    assert cs is not None and cs.backups is not None
    (backup,) = cs.backups
    # F3 is cheaper than F2 but has room for 4 of the 8 units only.
    assert (backup.order, backup.primary_factory, backup.backup_factory) == ("O1", "F1", "F2")
    assert backup.extra_cents == 8 * 50


def test_a_lost_factory_part_without_room_anywhere_has_no_backup() -> None:
    inst = instance([factory("F1", 100, [10]), factory("F2", 150, [3])], [order("O1", 8)])
    cs = plan(inst, PARAMS.model_copy(update={"backups": True})).capacity_sharing
    assert cs is not None and cs.backups is not None
    assert cs.backups[0].backup_factory is None


def test_the_analysis_can_be_switched_off() -> None:
    inst = instance([factory("F1", 100, [10])], [order("O1", 8)])
    assert plan(inst, PARAMS.model_copy(update={"sharing": False})).capacity_sharing is None


def test_large_problems_price_capacity_with_lagrangian_multipliers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import solvers.sharing.analysis as analysis

    monkeypatch.setattr(analysis, "LP_MAX_VARIABLES", 0)
    cs = _sharing(workers=2)
    assert cs.method.startswith("Lagrangian multipliers")
    rows = {r.factory: r.marginal_cents_per_hour for r in cs.capacity}
    assert rows["F1"] == pytest.approx(50.0, rel=0.05)
    assert rows["F2"] == 0.0


def test_a_stopped_solve_skips_pricing_and_transfers() -> None:
    from matcher.domain.params import StopSignal

    stop = StopSignal()
    stop.set("deadline")
    inst = instance(
        [factory("F1", 100, [10]), factory("F2", 150, [100])], [order("O1", 15, split=2)]
    )
    cs = plan(inst, PARAMS, stop=stop).capacity_sharing
    assert cs is not None
    assert all(r.marginal_cents_per_hour == 0 for r in cs.capacity)
    assert cs.transfers == []
    assert any("deadline" in n for n in cs.notes)


def test_a_transfer_that_lets_a_mandatory_order_be_served_says_so_at_its_plan_cost() -> None:
    """F1 (100 a unit, 10 h) is the only factory the credit allows for the mandatory O1
    and O2 (8 units each): one is left out. O3 (5 units, a penalty) goes to F2 (150),
    which makes F1's hours worth 50 each. F2 lending F1 10 idle hours lets O2 be served:
    the solver counts that as its mandatory penalty saved; the plan's costs, which show
    no penalty for a mandatory order, rise by O2's 800 of production."""
    inst = instance(
        [factory("F1", 100, [10]), factory("F2", 150, [100], score=40)],
        [
            order("O1", 8, min_credit=60),
            order("O2", 8, min_credit=60),
            order("O3", 5, penalty=100_000),
        ],
    )
    p = plan(inst, PARAMS)
    assert [u.order for u in p.unassigned] == ["O2"]
    assert p.capacity_sharing is not None
    first = p.capacity_sharing.transfers[0]
    assert (first.kind, first.from_factory, first.to_factory) == (
        TransferKind.LEND_CAPACITY,
        "F2",
        "F1",
    )
    assert first.serves_mandatory == ["O2"]
    assert first.saving_cents == -8 * 100
    assert "serves mandatory order(s) O2" in first.detail
    assert check_plan(inst, p).ok


def test_an_lp_out_of_time_falls_back_to_lagrangian_multipliers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A priced LP not solved in its time leaves no value: the multipliers stand in, so
    that binding groups are still found and lent to (not the soft LP: it would run out
    of time too)."""
    import solvers.sharing.analysis as analysis
    from solvers.assignment.relaxation import Relaxation

    calls: list[bool] = []

    def out_of_time(problem: object, hard: bool, *args: object, **kw: object) -> Relaxation:
        calls.append(hard)
        note = "LP relaxation with every mandatory order served not solved: NOT_SOLVED"
        return Relaxation(problem, None, note=note)  # type: ignore[arg-type]

    monkeypatch.setattr(analysis, "solve_relaxation", out_of_time)
    cs = _sharing()
    assert calls == [True]
    assert cs.method.startswith("Lagrangian multipliers")
    assert any("NOT_SOLVED: Lagrangian multipliers instead" in n for n in cs.notes)
    rows = {r.factory: r.marginal_cents_per_hour for r in cs.capacity}
    assert rows["F1"] == pytest.approx(50.0, rel=0.1)  # 45.88: one worker's 500 steps
    assert [t.kind for t in cs.transfers] == [TransferKind.LEND_CAPACITY]


def test_with_one_worker_the_tries_stop_when_their_deterministic_time_is_spent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import solvers.sharing.analysis as analysis

    monkeypatch.setattr(analysis, "TRIES_DETERMINISTIC_SHARE", 0.0)
    cs = _sharing()
    assert not cs.transfers
    assert (
        "lending idle hours: 0 binding group(s) tried: 1 stopped (time or a stop) before "
        "the rest" in cs.notes
    )
