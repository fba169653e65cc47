"""The MIP reference bound (benchmarks/mip_reference.py) bounds the plans it is measured
against: the stage's objective without the mandatory penalty, k mandatory left out."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.mip_reference import main
from matcher.app.pipeline import plan
from matcher.domain.params import SolveParams
from matcher.domain.validation import load_instance

DEMO = Path(__file__).parents[2] / "instances" / "demo.json"


def test_the_reference_bound_is_below_a_proven_plan_in_the_same_terms(tmp_path: Path) -> None:
    made = plan(load_instance(DEMO), SolveParams(workers=1, feedback=False, sharing=False))
    assert made.stages[0].status.value == "OPTIMAL"  # within the default 1e-4
    (tmp_path / "plan.json").write_text(made.model_dump_json())
    out = tmp_path / "ref.json"
    assert main([str(DEMO), str(tmp_path / "plan.json"), "--seconds", "5", "--json", str(out)]) == 0
    ref = json.loads(out.read_text())
    objective = made.stages[0].objective
    assert objective is not None and ref["bound"] is not None
    assert ref["bound"] <= objective
    assert ref["bound"] >= objective / 2  # the same terms (no penalty left in or taken twice)
    assert ref["mandatory_unserved_at_most"] >= 1  # demo leaves mandatory orders out
