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
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 10)
"""New container objects before a young collection; young collections before a
middle one; middle ones before an old one."""


def tune_collector() -> None:
    """Set :data:`THRESHOLDS` for this process."""
    gc.set_threshold(*THRESHOLDS)
