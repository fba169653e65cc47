"""The shipped instances (instances/README.md): valid, re-made exactly where generated,
and solved as their hand derivations say."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher.app.pipeline import plan
from matcher.check import check_plan
from matcher.cli import main
from matcher.domain.entities import MaterialSourcing
from matcher.domain.params import SolveParams
from matcher.domain.validation import load_instance
from tests.conftest import INSTANCES


@pytest.mark.parametrize("path", sorted(INSTANCES.glob("*.json")), ids=lambda p: p.name)
def test_every_shipped_instance_is_valid(path: Path) -> None:
    assert load_instance(path).orders


def test_medium_is_re_made_byte_for_byte_by_the_readme_command(tmp_path: Path) -> None:
    out = tmp_path / "medium.json"
    argv = ["generate", "--orders", "1000", "--factories", "100", "--periods", "28"]
    assert main([*argv, "--seed", "1", "-o", str(out), "--compact"]) == 0
    assert out.read_bytes() == (INSTANCES / "medium.json").read_bytes()


def test_tinys_fabric_is_brought_by_the_buyer_so_it_never_blocks_o1() -> None:
    tiny = load_instance(INSTANCES / "tiny.json")
    assert not tiny.suppliers
    assert {m.id: m.sourcing for m in tiny.materials} == {
        "cotton_fabric": MaterialSourcing.PROVIDED
    }


@pytest.mark.parametrize("solver", ["cpsat", "greedy"])
def test_a_long_lead_time_sends_the_early_order_to_the_factory_with_stock(solver: str) -> None:
    """instances/README.md: F1 is cheaper, but polycarbonate reaches it in period 4 at the
    earliest, three periods after O1 is due; F2 has it in stock. O2, due in period 6,
    waits for the resin at F1; O3's resin arrives in a period, so it stays at F1."""
    instance = load_instance(INSTANCES / "lead_time.json")
    result = plan(instance, SolveParams(workers=1, time_limit_s=5, assignment_solver=solver))
    made_at = {a.order: a.factory for a in result.allocations}
    assert made_at == {"O1": "F2", "O2": "F1", "O3": "F1"}
    assert not result.unassigned
    assert result.costs.production == 200 * 340 + 200 * 300 + 100 * 300
    assert result.costs.lateness == 0
    assert result.costs.purchasing == 200 * 2200 + 50 * 900
    assert result.costs.objective == 643_000
    assert all(p.period >= 4 for a in result.allocations if a.order == "O2" for p in a.periods)
    assert check_plan(instance, result).ok
