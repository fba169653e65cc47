"""The MIP back-ends (HiGHS, SCIP, CBC) against CP-SAT: one model, one optimum.

Every plan goes through the independent checker. Solves use one worker, a pinned seed
and a zero relative gap, so "OPTIMAL" means the same thing for every back-end.
"""

from __future__ import annotations

import functools
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from matcher.app.pipeline import plan
from matcher.check import check_plan
from matcher.domain.instance import Instance
from matcher.domain.params import Progress, SolveParams
from matcher.domain.plan import Plan, SolveStatus
from matcher.domain.validation import parse_instance
from matcher.generate import generate
from solvers.assignment import mip
from solvers.assignment.base import AssignmentBackend, available, get_backend, objective_of
from solvers.assignment.greedy import greedy_parts
from solvers.assignment.problem import build_problem
from solvers.linear import LinearModel, Outcome
from tests.test_property import instances

SOLVERS = ["cpsat", "mip-highs", "mip-scip", "mip-cbc"]
MIP_SOLVERS = SOLVERS[1:]
# Small generated instances (setup times, splittable orders, buyer shares in two) that
# every back-end solves to proven optimality in well under a second.
GENERATED = [(12, 4, 5, 2), (20, 5, 7, 1), (25, 6, 7, 1)]


def _solve(instance: Instance, solver: str, **kw: Any) -> Plan:
    # CP-SAT on its whole model ("full"): the model the MIP back-ends solve too; one
    # round (no feedback), so that every back-end solves the same assignment problem.
    params = (
        dict(workers=1, seed=3, time_limit_s=20, relative_gap=0.0, strategy="full", feedback=False)
        | kw
    )
    return plan(instance, SolveParams(assignment_solver=solver, **params))


def _checked(instance: Instance, p: Plan) -> Plan:
    report = check_plan(instance, p)
    assert report.ok, [str(v) for v in report.violations]
    assert report.recomputed.objective == p.costs.objective
    return p


def _where(p: Plan) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for a in p.allocations:
        out.setdefault(a.order, set()).add(a.factory)
    return out


def _proved(p: Plan) -> float:
    """The plan-term objective of a plan proved optimal (bound within a cent)."""
    stage = p.stages[0]
    assert stage.status == SolveStatus.OPTIMAL, stage.notes
    assert stage.objective is not None and stage.best_bound is not None
    assert stage.best_bound == pytest.approx(stage.objective, abs=1.0)
    return stage.objective


@functools.cache
def _generated(spec: tuple[int, int, int, int]) -> Instance:
    orders, factories, periods, seed = spec
    return generate(orders=orders, factories=factories, periods=periods, seed=seed)


@functools.cache
def _generated_plan(spec: tuple[int, int, int, int], solver: str) -> Plan:
    instance = _generated(spec)
    return _checked(instance, _solve(instance, solver))


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_back_end_finds_the_hand_computed_optimum_of_the_tiny_instance(
    tiny: Instance, solver: str
) -> None:
    p = _checked(tiny, _solve(tiny, solver))
    assert _proved(p) == 31560
    assert p.costs.objective == 31560
    assert _where(p) == {"O1": {"F1"}, "O2": {"F2"}, "O3": {"F1"}}


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("spec", GENERATED, ids=lambda s: "o{}-f{}-p{}-s{}".format(*s))
def test_every_back_end_proves_the_same_optimum_on_generated_instances(
    spec: tuple[int, int, int, int], solver: str
) -> None:
    reference = _proved(_generated_plan(spec, "cpsat"))
    p = _generated_plan(spec, solver)
    assert _proved(p) == pytest.approx(reference, abs=1e-6)
    assert p.stages[0].solver == solver


@pytest.mark.parametrize("solver", SOLVERS)
def test_setup_time_is_paid_in_every_period_a_lot_runs(
    tiny_data: dict[str, Any], solver: str
) -> None:
    # 120 min setup leaves 360 min = 36 units a day; 100 units of O3 need all three days.
    for f in tiny_data["factories"]:
        f["capabilities"][0]["setup_minutes"] = 120
    tiny_data["orders"] = [tiny_data["orders"][2]]
    tiny_data["orders"][0]["quantity"] = 100
    tiny_data["orders"][0]["penalties"]["unserved_cents"] = 10**6
    instance = parse_instance(tiny_data)
    p = _checked(instance, _solve(instance, solver))
    assert _proved(p) == 100 * 200
    (alloc,) = p.allocations
    assert sorted(pq.quantity for pq in alloc.periods) == [28, 36, 36]


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_splittable_order_is_made_by_two_factories_when_one_is_too_small(
    tiny_data: dict[str, Any], solver: str
) -> None:
    tiny_data["orders"] = [tiny_data["orders"][0]]
    tiny_data["orders"][0].update(
        quantity=150, due_period=2, split={"allowed": True, "min_quantity": 5, "max_factories": 2}
    )
    instance = parse_instance(tiny_data)
    p = _checked(instance, _solve(instance, solver))
    _proved(p)
    assert {a.factory: a.quantity for a in p.allocations} == {"F1": 144, "F2": 6}


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_buyer_share_cap_moves_an_order_to_the_dearer_factory(
    tiny_data: dict[str, Any], solver: str
) -> None:
    # F1 may give a buyer half of its 3 x 480 min: 72 units. B1's O1 (60) and O3 (30,
    # F1 only) no longer both fit, so O1 moves to F2 (+60 x 14) and O2 comes back to F1
    # (-40 x 14): 31 560 + 840 - 560.
    tiny_data["factories"][0]["max_buyer_share"] = 0.5
    instance = parse_instance(tiny_data)
    p = _checked(instance, _solve(instance, solver))
    assert _proved(p) == 31840
    assert _where(p) == {"O1": {"F2"}, "O2": {"F1"}, "O3": {"F1"}}


@pytest.mark.parametrize("solver", SOLVERS)
def test_hard_mandatory_orders_that_cannot_all_fit_are_infeasible(
    tiny_data: dict[str, Any], solver: str
) -> None:
    # Each fits F1 (144 units in three days) on its own; together they need 200.
    for o in tiny_data["orders"][1:3]:
        o.update(quantity=100, due_period=2, min_credit_score=85)
        o["penalties"].pop("unserved_cents", None)
    instance = parse_instance(tiny_data)
    p = _checked(instance, _solve(instance, solver, hard_mandatory=True))
    assert p.status == SolveStatus.INFEASIBLE
    assert p.allocations == []


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_hard_mandatory_order_without_any_factory_is_infeasible(
    tiny_data: dict[str, Any], solver: str
) -> None:
    tiny_data["orders"][1].update(quantity=500, due_period=2)  # O2: due-date infeasible
    p = _solve(parse_instance(tiny_data), solver, hard_mandatory=True)
    assert p.status == SolveStatus.INFEASIBLE
    assert p.allocations == []


@pytest.mark.parametrize("solver", SOLVERS)
def test_hard_mandatory_keeps_the_optimum_when_every_mandatory_order_fits(
    tiny: Instance, solver: str
) -> None:
    p = _checked(tiny, _solve(tiny, solver, hard_mandatory=True))
    assert _proved(p) == 31560


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(instance=instances())
def test_every_back_end_agrees_on_random_small_instances(instance: Instance) -> None:
    optima = {s: _proved(_checked(instance, _solve(instance, s))) for s in SOLVERS}
    assert all(v == pytest.approx(optima["cpsat"], abs=1e-6) for v in optima.values()), optima


# --- what the MIP back-ends do beyond agreeing ------------------------------------


def test_the_model_prices_and_admits_the_greedy_plan_like_the_problem_does() -> None:
    problem = build_problem(_generated(GENERATED[2]))
    model, v = mip.build_model(problem, hard_mandatory=False)
    warm = greedy_parts(problem)
    values = mip.hint_values(model, problem, v, warm)
    assert all(0 <= x <= ub for x, ub in zip(values, model.upper, strict=True))
    for idx, coefs, lo, hi in zip(
        model.row_vars, model.row_coefs, model.row_lo, model.row_hi, strict=True
    ):
        activity = sum(a * values[i] for i, a in zip(idx, coefs, strict=True))
        assert lo <= activity <= hi
    priced = model.constant + sum(a * values[i] for i, a in model.cost.items())
    assert priced == objective_of(problem, warm)
    back = mip.extract([float(x) for x in values], v)
    assert sorted(back, key=lambda p: p.candidate) == sorted(warm, key=lambda p: p.candidate)


def test_solution_values_are_rounded_to_the_nearest_integer() -> None:
    v = mip._Vars(make={0: {0: 0, 1: 1, 2: 2}, 1: {3: 3}})
    parts = mip.extract([2.9999999, 1e-7, 4.0000002, 0.4999], v)
    assert [(p.candidate, p.quantities) for p in parts] == [(0, {0: 3, 2: 4})]


@pytest.mark.parametrize("solver", MIP_SOLVERS)
def test_mip_back_ends_print_nothing_warn_nothing_and_leave_no_files(
    tiny: Instance,
    solver: str,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    _solve(tiny, solver)  # warnings are errors in this suite
    assert capfd.readouterr() == ("", "")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("solver", MIP_SOLVERS)
def test_the_time_limit_is_honoured_and_the_greedy_plan_is_the_floor(solver: str) -> None:
    instance = _generated((50, 12, 14, 1))  # not provable in one second
    p = _checked(instance, _solve(instance, solver, time_limit_s=1.0, relative_gap=1e-4))
    stage = p.stages[0]
    assert p.status in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL)
    assert stage.wall_time_s < 2.0
    greedy = _solve(instance, "greedy").stages[0].objective
    assert stage.objective is not None and greedy is not None
    assert stage.objective <= greedy
    assert stage.time_to_first_feasible_s is not None
    assert stage.time_to_first_feasible_s <= stage.wall_time_s


@pytest.mark.parametrize("solver", MIP_SOLVERS)
def test_progress_reports_the_greedy_plan_then_the_final_incumbent_in_plan_terms(
    tiny: Instance, solver: str
) -> None:
    seen: list[Progress] = []
    p = plan(tiny, SolveParams(assignment_solver=solver, workers=1), seen.append)
    seen = [e for e in seen if e.stage == "assignment"]
    assert [e.solver for e in seen] == ["greedy", solver]
    assert seen[0].objective == 31800  # the greedy plan, see instances/README.md
    assert seen[-1].objective == p.stages[0].objective == 31560
    assert seen[-1].best_bound == pytest.approx(31560, abs=1.0)


def test_a_solution_that_breaks_the_model_once_rounded_is_replaced_by_the_greedy_plan(
    tiny: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    def overproduce(self: Any, model: LinearModel, *_: Any) -> Outcome:
        return Outcome(SolveStatus.OPTIMAL, [float(u) for u in model.upper], 0.0, 0.0)

    monkeypatch.setattr(mip.HighsBackend, "_run", overproduce)
    p = _checked(tiny, _solve(tiny, "mip-highs"))
    assert p.status == SolveStatus.FEASIBLE
    assert p.costs.objective == 31800  # the greedy plan
    assert any("breaks the model" in n for n in p.stages[0].notes)


@pytest.mark.parametrize("solver", MIP_SOLVERS)
def test_a_crashing_solver_is_a_status_and_the_greedy_plan_survives(
    tiny: Instance, solver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pulp
    from ortools.math_opt.python import mathopt

    def crash(*_: Any, **__: Any) -> Any:
        raise pulp.PulpSolverError("solver crashed")

    if solver == "mip-cbc":
        monkeypatch.setattr(pulp.COIN_CMD, "actualSolve", crash)
    else:
        monkeypatch.setattr(mathopt, "solve", crash)
    p = _checked(tiny, _solve(tiny, solver))
    assert p.status == SolveStatus.FEASIBLE
    assert p.costs.objective == 31800
    assert any("solver crashed" in n for n in p.stages[0].notes)


def test_no_solution_in_time_and_no_greedy_plan_is_a_time_limit(
    tiny: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    def nothing(self: Any, *_: Any) -> Outcome:
        return Outcome(SolveStatus.TIME_LIMIT, bound=31000.0)

    monkeypatch.setattr(mip.ScipBackend, "_run", nothing)
    monkeypatch.setattr(mip, "greedy_parts", lambda *_: [])  # leaves mandatory O2 out
    p = _solve(tiny, "mip-scip", hard_mandatory=True)
    assert p.status == SolveStatus.TIME_LIMIT
    assert p.allocations == []
    assert p.stages[0].time_to_first_feasible_s is None


@pytest.mark.parametrize("solver", MIP_SOLVERS)
def test_models_too_big_for_a_monolithic_mip_are_refused_with_the_reason(
    tiny: Instance, solver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mip, "MAX_PRODUCTION_VARIABLES", 10)
    with pytest.raises(ValueError, match="15 production variables, more than the 10"):
        _solve(tiny, solver)


def test_an_unservable_mandatory_order_is_priced_but_not_in_the_plan_objective() -> None:
    # Generated instances leave some mandatory orders out: the internal penalty must
    # not leak into the plan-term objective of any back-end.
    p = _generated_plan(GENERATED[1], "mip-scip")
    left_out = [u for u in p.unassigned if u.mandatory]
    assert left_out
    assert p.stages[0].objective is not None
    w = p.weights
    later = w.purchasing * p.costs.purchasing  # the next stages' terms; routing replaces
    later += w.transport * (p.costs.transport - sum(a.transport_cents for a in p.allocations))
    assert math.isclose(p.stages[0].objective, p.costs.objective - later)


def test_the_mip_back_ends_are_registered_under_their_names() -> None:
    backends: list[AssignmentBackend] = [get_backend(name) for name in MIP_SOLVERS]
    assert [b.name for b in backends] == MIP_SOLVERS
    assert set(MIP_SOLVERS) <= set(available())


def test_cbc_without_a_binary_is_refused_with_the_reason(
    tiny: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mip, "cbc_path", lambda: "/nonexistent/cbc")
    with pytest.raises(ValueError, match="no CBC binary"):
        _solve(tiny, "mip-cbc")
