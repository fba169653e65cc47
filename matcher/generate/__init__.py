"""Seeded generator of realistic cloud-factory instances.

Solvers need test data that looks like a real platform: factories clustered in
manufacturing regions, each in one industry with the processes such plants run,
calendars with shifts, weekends and holidays, orders whose size and deadlines fit
the capacity, and a few orders that cannot or should not be served. Everything is
drawn from one ``numpy.random.default_rng(seed)`` in a fixed order, so the same
arguments always give the same instance, and the result goes through
:class:`~matcher.domain.instance.Instance` validation like any user input.

Orders split by operation (``by_operation``, docs/model.md): that share of the
multi-operation orders gets ``split.by_operation: true``, and a quarter of those
(in industries that have such chains) ask for a chain of processes no single
factory offers, so that only routing the lot between factories serves them. These
draws come from a second stream seeded from the same seed, so the main stream, the
factories and every other order are the same whatever the share, and a share of 0
gives exactly the instance of a generator without the option. :func:`instance_json`
writes an instance as the ``generate`` command does, leaving out the fields of
features it does not use so that files made before them stay byte-identical.

Materials bind sometimes (docs/model.md, "Materials"): common materials have several
suppliers with short lead times, speciality ones a single supplier with a long lead
time or a tight capacity, some factories hold a few days' stock, and a few consigned
materials are brought by the buyer (``sourcing: provided``). These draws
(:mod:`matcher.generate.materials`) come from a third stream of the seed, so orders,
factories, tiers and the fleet are those drawn without them.

Sizing: order quantities are scaled so that the processing minutes the orders need
are 72-92 % of the free minutes of the resource groups that host the demanded
processes (each order needing roughly 0.2-4 days of one resource group). When there
are too few orders per factory to reach that load without oversized orders, the
load stays lower: an order never needs more than ``max(4, 0.4 * working days)``
days of one group.

Trade records (:mod:`matcher.generate.records`, ``matcher generate --records``): two
years of deliveries by the instance's factories consistent with their declared
credit, with a few new and a few unreliable factories, from a fourth stream of the
seed, for ``matcher credit`` (docs/credit.md).

Hubs and line-haul (:mod:`matcher.generate.logistics`, docs/logistics.md): one hub per
cluster at its depot, reaching the cluster's factories, with its handling rate, hours
and a capacity sized on what its factories ship, and line-haul rates of Chinese road
freight; from a fifth stream of the seed, so ``generate(..., hubs=False)`` (``matcher
generate --no-hubs``) gives the same instance without ``fleet.hubs`` and
``transport.line_haul``.
"""

from __future__ import annotations

from matcher.generate.generator import generate, instance_json
from matcher.generate.logistics import CARRIER_MIN_CENTS
from matcher.generate.records import GeneratedRecords, generate_records
from matcher.generate.suppliers import tiered_offer

__all__ = [
    "CARRIER_MIN_CENTS",
    "GeneratedRecords",
    "generate",
    "generate_records",
    "instance_json",
    "tiered_offer",
]
