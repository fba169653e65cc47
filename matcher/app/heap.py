"""The cyclic garbage collector's thresholds for a process that holds a platform-size
instance and its plan.

CPython 3.11 runs a young collection every 700 new container objects and an older one
every 10 of those, each walking every object of its generations. With a 50 000-order
instance and its plan alive (millions of objects), building the plan's records paid
for that again and again: routing the 50 000-order plan with the time already out
took 6.7-8.1 s at the default thresholds, 4.4 s at ``(50_000, 20, 10)``, and loading
the instance 2.6 s against 1.2 s (one run each, 2 cores). Collections are then about
70 times rarer; garbage in reference cycles waits longer to be freed (at most that
many new objects). Set once per process, at its entry point (the CLI, the local
executor's and the service's worker processes; on Ray, each worker of the job through
Ray's ``worker_process_setup_hook``), never by a library call.

A solve also leaves its instance and compiled problem out of the collector's walks
while it runs (:func:`long_lived`, scoped to the solve and undone after it).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

THRESHOLDS = (50_000, 20, 10)
"""New container objects before a young collection; young collections before a
middle one; middle ones before an old one."""


def tune_collector() -> None:
    """Set :data:`THRESHOLDS` for this process."""
    gc.set_threshold(*THRESHOLDS)


@contextlib.contextmanager
def long_lived(build: Callable[[], T]) -> Iterator[T]:
    """``build()`` with the collector paused, then every object alive (``build``'s result
    and what was alive before, such as the instance) left out of the cyclic collector's
    walks until exit (``gc.freeze``, then ``gc.unfreeze``): a solve's instance and
    compiled problem live to its end and are never garbage, yet each older collection
    walked them all again. Measured on a 60 s solve of 50 000 orders (CLI thresholds, 2
    cores): the first young collection after compiling took 1.14 s and a middle one
    1.78 s, of 4.5 s of collections in all.

    Objects that die meanwhile are freed by their reference counts as ever; only
    garbage in reference cycles among the frozen objects waits until exit. Nested or
    concurrent uses in one process leave the freezing to the first
    (``gc.get_freeze_count``), so an inner exit does not unfreeze an outer solve."""
    if gc.get_freeze_count():
        yield build()
        return
    collecting = gc.isenabled()
    gc.disable()
    try:
        made = build()
        gc.freeze()
    finally:
        if collecting:
            gc.enable()
    try:
        yield made
    finally:
        gc.unfreeze()
