"""Many solves at once: ``matcher batch`` (instances fanned out, one checked plan each)
and ``matcher scenarios`` (what-if variants of one instance against its base plan).

The package sits above the application, the checker and the generator and below the
CLI (docs/architecture.md): each task solves with :mod:`matcher.app.pipeline` and
verifies with :func:`matcher.check.check_plan` in the same worker, and the tasks run
through :mod:`matcher.app.executor` (local processes or a Ray cluster). docs/batch.md
describes the commands, the spec format and the summary columns.

- :mod:`~matcher.batch.tasks`: the picklable task (solve, check, figures);
- :mod:`~matcher.batch.batch`: a batch of instance files, its summary and re-runs;
- :mod:`~matcher.batch.scenarios`: the scenario spec, the variants and the comparison.
"""
