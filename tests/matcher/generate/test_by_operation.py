"""The generator's orders split by operation (``--by-operation SHARE``): flagged at the
requested share, valid, and invisible at share 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matcher.cli import EXIT_INVALID, main
from matcher.domain.entities import Order
from matcher.domain.instance import Instance
from matcher.domain.validation import parse_instance
from matcher.generate import generate, instance_json
from tests.conftest import INSTANCES

_ARGS = (500, 30, 28, 11)


@pytest.fixture(scope="module")
def plain() -> Instance:
    return generate(*_ARGS)


@pytest.fixture(scope="module")
def by_op() -> Instance:
    return generate(*_ARGS, by_operation=0.5)


def _makes(instance: Instance, order: Order, operations: range) -> bool:
    """Does one factory offer all these operations (process, material, grade)?"""
    for factory in instance.factories:
        caps = {c.process: c for c in factory.capabilities}
        if all(
            (cap := caps.get(op.process)) is not None
            and (op.material is None or not cap.materials or op.material in cap.materials)
            and (op.min_quality_grade is None or cap.quality_grade >= op.min_quality_grade)
            for op in (order.operations[j] for j in operations)
        ):
            return True
    return False


def test_half_the_multi_operation_orders_are_split_by_operation(by_op: Instance) -> None:
    multi = [o for o in by_op.orders if len(o.operations) >= 2]
    flagged = sum(o.split.by_operation for o in multi)
    assert len(multi) >= 100
    assert abs(flagged / len(multi) - 0.5) <= 0.02
    assert not any(o.split.by_operation for o in by_op.orders if len(o.operations) == 1)


def test_an_instance_with_orders_split_by_operation_validates(by_op: Instance) -> None:
    text = instance_json(by_op)
    assert '"by_operation": true' in text
    assert parse_instance(json.loads(text)) == by_op


def test_some_orders_split_by_operation_need_routing_and_every_operation_has_a_maker(
    by_op: Instance,
) -> None:
    flagged = [o for o in by_op.orders if o.split.by_operation]
    no_single = [o for o in flagged if not _makes(by_op, o, range(len(o.operations)))]
    assert 0.1 * len(flagged) <= len(no_single) <= 0.4 * len(flagged)
    for order in no_single:
        assert all(_makes(by_op, order, range(j, j + 1)) for j in range(len(order.operations)))


def test_the_share_changes_orders_but_never_factories(plain: Instance, by_op: Instance) -> None:
    assert by_op.factories == plain.factories
    # The hubs' capacities are sized on the orders; nothing else in the fleet changes.
    assert by_op.fleet.model_copy(update={"hubs": []}) == plain.fleet.model_copy(
        update={"hubs": []}
    )
    unsized = [h.model_copy(update={"capacity_kg": None}) for h in by_op.fleet.hubs]
    assert unsized == [h.model_copy(update={"capacity_kg": None}) for h in plain.fleet.hubs]
    assert by_op.orders != plain.orders


def test_share_zero_gives_the_instance_of_the_generator_without_the_option(
    plain: Instance,
) -> None:
    assert generate(*_ARGS, by_operation=0.0) == plain
    assert not any(o.split.by_operation for o in plain.orders)


def test_the_cli_writes_the_same_bytes_with_share_zero_as_without_the_option(
    tmp_path: Path,
) -> None:
    argv = ["generate", "--orders", "50", "--factories", "12", "--periods", "14", "--seed", "1"]
    without, zero = tmp_path / "without.json", tmp_path / "zero.json"
    assert main([*argv, "-o", str(without)]) == 0
    assert main([*argv, "--by-operation", "0", "-o", str(zero)]) == 0
    assert zero.read_bytes() == without.read_bytes()
    # The shipped demo instance is re-made byte for byte (instances/README.md), with no
    # trace of the fields it does not use.
    assert without.read_bytes() == (INSTANCES / "demo.json").read_bytes()


def test_the_cli_rejects_a_share_outside_zero_to_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["generate", "--orders", "5", "--factories", "3", "-o", str(tmp_path / "x.json")]
    assert main([*argv, "--by-operation", "1.5"]) == EXIT_INVALID
    assert "by_operation must be in [0, 1]" in capsys.readouterr().err
    with pytest.raises(ValueError, match="by_operation"):
        generate(5, 3, 7, 0, by_operation=-0.1)
