"""Speed and scale benchmarks (pytest-benchmark), outside the default test run.

Run them with ``python -m pytest benchmarks -m benchmark_suite``; ``docs/scale.md``
describes the protocol and holds the last table.
"""
