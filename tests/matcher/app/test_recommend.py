from __future__ import annotations

import json
from pathlib import Path

import pytest

from matcher.app.pipeline import plan
from matcher.app.recommend import parse_order, recommend
from matcher.cli import main
from matcher.domain.entities import Order
from matcher.domain.params import SolveParams
from matcher.domain.plan import Displacement, Plan
from matcher.domain.validation import InvalidInstanceError
from tests.sharing_data import factory, instance, order

PARAMS = SolveParams(workers=1, seed=0, time_limit_s=5, sharing=False)


def _case() -> tuple[Plan, Order]:
    # X (8 units) fills F1 (100 a unit, 10 h). New N (5 units): F2 (120) has room; F1
    # has room only if X moves to F2 (+20 a unit); F3 (110) has 2 hours only.
    inst = instance(
        [factory("F1", 100, [10]), factory("F2", 120, [20]), factory("F3", 110, [2])],
        [order("X", 8)],
    )
    p = plan(inst, PARAMS)
    assert {a.factory for a in p.allocations} == {"F1"}
    return p, Order.model_validate(order("N", 5))


def test_the_best_factory_with_room_comes_first_and_moves_are_costed() -> None:
    p, new = _case()
    inst = instance(
        [factory("F1", 100, [10]), factory("F2", 120, [20]), factory("F3", 110, [2])],
        [order("X", 8)],
    )
    r = recommend(inst, p, new, top_k=5)
    assert [(o.rank, o.factory, o.total_cents) for o in r.options] == [
        (1, "F2", 600),
        (2, "F1", 500 + 8 * 20),
    ]
    assert r.options[0].displaced == []
    assert r.options[0].completion_period == 0
    assert r.options[1].displaced == [
        Displacement(order="X", from_factory="F1", to_factory="F2", units=8, extra_cents=160)
    ]
    assert "F3" in r.not_possible


def test_top_k_limits_the_options() -> None:
    p, new = _case()
    inst = instance(
        [factory("F1", 100, [10]), factory("F2", 120, [20]), factory("F3", 110, [2])],
        [order("X", 8)],
    )
    assert [o.factory for o in recommend(inst, p, new, top_k=1).options] == ["F2"]


def test_an_order_no_factory_can_make_says_why() -> None:
    p, _ = _case()
    inst = instance([factory("F1", 100, [10])], [order("X", 8)])
    r = recommend(inst, p, Order.model_validate(order("N", 5, min_credit=99)), top_k=3)
    assert r.options == [] and r.reason is not None and "CREDIT_BELOW_MIN" in r.reason


def test_an_inconsistent_order_is_refused_with_its_paths() -> None:
    inst = instance([factory("F1", 100, [10])], [order("X", 8)])
    bad = order("N", 5, due=7) | {"operations": [{"process": "weld"}]}
    with pytest.raises(InvalidInstanceError) as err:
        parse_order(bad, inst)
    assert sorted(i.path for i in err.value.issues) == [
        "order.due_period",
        "order.operations[0].process",
    ]


def test_the_cli_recommends_for_an_order_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = instance(
        [factory("F1", 100, [10]), factory("F2", 120, [20]), factory("F3", 110, [2])],
        [order("X", 8)],
    )
    (tmp_path / "i.json").write_text(inst.model_dump_json())
    (tmp_path / "p.json").write_text(plan(inst, PARAMS).model_dump_json())
    (tmp_path / "n.json").write_text(json.dumps(order("N", 5)))
    args = [str(tmp_path / n) for n in ("i.json", "p.json", "n.json")]
    assert main(["recommend", *args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [o["factory"] for o in out["options"]] == ["F2", "F1"]
