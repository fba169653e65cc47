"""Independent checker of plans.

Recomputes every constraint, cost and KPI of ``docs/model.md`` from the instance
and the plan's decisions (quantities per period; for orders split by operation, the
transfers between their operations too) alone, the material rule among them (no
production before its purchased materials can arrive), and, when the purchasing
stage ran, the rules of ``docs/purchasing.md`` (needs, offers, lead times, coverage,
inbound transport, totals and the savings split), and when the routing stage ran, those
of ``docs/routing.md`` (the transport requests the plan implies and their splits, each
routed once or left to the carrier for a reason the instance bears out, shifts, travel
times, loads, distances, route costs and totals) with those of ``docs/logistics.md``
(legs through hubs, the hubs' hours, line-haul shipments and the hubs' use), and when a
capacity-sharing analysis is attached, its rows, rankings, transfers and backups
(docs/sharing.md). A re-plan is
checked against the previous plan and the events (:func:`check_replan`): the instance
after the events, work fixed before ``now_period`` or frozen, the units moved and the
report of what changed. It deliberately shares no code with
the engines in ``solvers/``: a bug in an engine must not hide behind the same bug in
its verifier. It reports every violation it finds, each with a stable code and a path
into the plan, rather than stopping at the first.

One module per plan section over shared codes, figures and state:

- :mod:`~matcher.check.codes`: violation codes, the report, tolerances;
- :mod:`~matcher.check.figures`: distances, rates, lags, offer tiers, needs;
- :mod:`~matcher.check.state`: what one check's sections share;
- :mod:`~matcher.check.assignment`: the core pass (rows, parts, orders, capacity,
  costs, KPIs); :mod:`~matcher.check.by_operation`, :mod:`~matcher.check.materials`,
  :mod:`~matcher.check.purchasing`,
  :mod:`~matcher.check.routing` (with :mod:`~matcher.check.logistics`),
  :mod:`~matcher.check.sharing`,
  :mod:`~matcher.check.constraints`, :mod:`~matcher.check.fairness_report`,
  :mod:`~matcher.check.replan`: the sections;
- :mod:`~matcher.check.verify`: the entry points; :mod:`~matcher.check.schedule`:
  machine schedules.

It imports :mod:`matcher.domain` only.
"""

from __future__ import annotations

from matcher.check.codes import CheckReport, PlanFormatError, Violation, ViolationCode
from matcher.check.figures import (
    cumulative_needs,
    haversine_km,
    inbound_transport_cents,
    is_split_by_operation,
    transfer_lag,
    transfer_minutes,
    unit_transfer_cents,
    unit_transport_cents,
)
from matcher.check.schedule import check_schedule
from matcher.check.verify import (
    check_files,
    check_plan,
    check_replan,
    check_replan_files,
    load_plan,
)

__all__ = [
    "CheckReport",
    "PlanFormatError",
    "Violation",
    "ViolationCode",
    "check_files",
    "check_plan",
    "check_replan",
    "check_replan_files",
    "check_schedule",
    "cumulative_needs",
    "haversine_km",
    "inbound_transport_cents",
    "is_split_by_operation",
    "load_plan",
    "transfer_lag",
    "transfer_minutes",
    "unit_transfer_cents",
    "unit_transport_cents",
]
