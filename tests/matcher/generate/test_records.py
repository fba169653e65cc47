"""Generated trade records: seeded, valid, consistent with the declared credit, with a
few new and a few unreliable factories, and no effect on the instance."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from matcher.cli import main
from matcher.credit import CreditParams, parse_records, score_records
from matcher.domain.instance import Instance
from matcher.generate import generate, generate_records


@pytest.fixture(scope="module")
def instance() -> Instance:
    return generate(300, 60, 14, 11)


def test_the_same_seed_gives_the_same_records(instance: Instance) -> None:
    assert generate_records(instance, 5) == generate_records(instance, 5)
    assert generate_records(instance, 5).records != generate_records(instance, 6).records


def test_records_are_valid_and_delivered_before_the_horizon(instance: Instance) -> None:
    drawn = generate_records(instance, 5, count=3000)
    records = parse_records(enumerate(drawn.records, start=1))
    assert 2900 <= len(records) <= 3100
    assert max(r.delivered_date for r in records) <= drawn.as_of < instance.horizon.start_date
    assert {r.factory for r in records} <= {f.id for f in instance.factories}


def test_new_factories_have_few_records_and_unreliable_ones_score_below_their_claim(
    instance: Instance,
) -> None:
    drawn = generate_records(instance, 5, count=12_000)
    counts = Counter(r["factory"] for r in drawn.records)
    assert drawn.new and drawn.unreliable
    assert all(counts[f] <= 3 for f in drawn.new)
    report = score_records(parse_records(enumerate(drawn.records, start=1)))
    declared = {f.id: f.credit for f in instance.factories}
    computed = {c.factory: c for c in report.factories}
    for f in drawn.unreliable:
        assert computed[f].score < declared[f].score - 10
    # The others: their declared rates are recovered (records weigh fully here).
    flat = score_records(
        parse_records(enumerate(drawn.records, start=1)), CreditParams(half_life_days=1e9)
    )
    errors = [
        abs(c.on_time.mean - declared[c.factory].on_time_rate)
        for c in flat.factories
        if c.factory not in drawn.unreliable and c.records >= 100
    ]
    assert len(errors) > 20 and float(np.median(errors)) < 0.03


def test_writing_records_leaves_the_instance_as_it_was(tmp_path: Path) -> None:
    argv = ["generate", "--orders", "20", "--factories", "6", "--periods", "7", "--seed", "2"]
    assert main([*argv, "-o", str(tmp_path / "a.json")]) == 0
    assert (
        main([*argv, "-o", str(tmp_path / "b.json"), "--records", str(tmp_path / "r.jsonl")]) == 0
    )
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) > 100
