"""The load benchmark's summary: what counts as throughput and as latency."""

from __future__ import annotations

from benchmarks.load_service import Call, summarise


def test_throughput_counts_every_call_ending_in_the_window_latency_those_started_in_it() -> None:
    calls = [
        Call(start=-3.0, end=2.0, outcome="OK", ok=True),  # began in the warm-up
        Call(start=1.0, end=6.0, outcome="OK", ok=True),
        Call(start=6.0, end=9.0, outcome="DEADLINE_EXCEEDED", ok=False),
        Call(start=8.0, end=13.0, outcome="OK", ok=True),  # ends after the window
    ]
    r = summarise(calls, 0.0, 10.0)
    assert r["warmup_calls"] == 1
    assert r["calls"] == 3  # started in the window
    assert r["ok_calls_completed_in_window"] == 2  # the warm-up one and the second
    assert r["throughput_rps"] == 0.2
    assert r["calls_completed_in_window"] == 3  # the failed one too
    assert r["errors"] == {"DEADLINE_EXCEEDED": 1}
    assert r["latency_ms"]["max"] == 5000.0  # the calls started in the window only
