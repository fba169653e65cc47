"""The entry point: every stage's draws in their fixed order, and the JSON that
``matcher generate`` writes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from matcher.domain.entities import LineHaul, MaterialSourcing, Transport
from matcher.domain.instance import Instance
from matcher.generate.by_operation import side_stream
from matcher.generate.catalogue import catalogue_dicts
from matcher.generate.factories import (
    draw_calendars,
    draw_credit,
    draw_factories,
    factory_dicts,
    pick_clusters,
    pick_industries,
    place_factories,
    platform_stats,
    set_max_lots,
)
from matcher.generate.logistics import (
    CARRIER_MIN_CENTS,
    draw_fleet,
    draw_hub_vans,
    draw_hubs,
    draw_line_haul,
    draw_milk_run_vehicles,
    gather_factories,
    hubs_stream,
    vans_stream,
)
from matcher.generate.materials import draw_material_terms, materials_stream
from matcher.generate.orders import draw_orders
from matcher.generate.suppliers import draw_suppliers


def generate(
    orders: int,
    factories: int,
    periods: int,
    seed: int,
    *,
    start_date: dt.date = dt.date(2026, 1, 5),
    name: str | None = None,
    by_operation: float = 0.0,
    hubs: bool = True,
) -> Instance:
    """A realistic, valid instance; the same arguments always give the same instance.

    Parameters
    ----------
    orders
        Number of orders (0 or more).
    factories
        Number of factories (1 or more). With fewer than 9, only the industries
        the factories can fully cover are in the catalogue.
    periods
        Days in the horizon (``period_minutes = 1440``).
    seed
        Seed of ``numpy.random.default_rng``; every draw comes from it.
    start_date
        Date of period 0 (a Monday by default; weekends and Chinese public holidays
        follow the calendar).
    name
        Instance name; defaults to ``gen-o{orders}-f{factories}-p{periods}-s{seed}``.
    by_operation
        Share (0..1) of the multi-operation orders split by operation
        (``split.by_operation``); a quarter of those ask for a chain no single
        factory offers. Drawn from a second stream of ``seed``: at 0 the instance
        is exactly the one without the option, and factories never change.
    hubs
        Draw one hub per cluster at its depot and the line-haul rates
        (``fleet.hubs``, ``transport.line_haul``, docs/logistics.md). Drawn from their
        own stream of ``seed`` after everything else: without them the instance is the
        same in every other respect but the locations of the few factories that hubs
        gather within 5-60 road km of their hub, the milk-run vehicles of depots with
        too few, and a van for a depot with none.

    Returns
    -------
    Instance
        Validated like any user instance.
    """
    if orders < 0:
        raise ValueError(f"orders must be >= 0, got {orders}")
    if factories < 1:
        raise ValueError(f"factories must be >= 1, got {factories}")
    if not 1 <= periods <= 10_000:
        raise ValueError(f"periods must be in 1..10000, got {periods}")
    if not 0.0 <= by_operation <= 1.0:
        raise ValueError(f"by_operation must be in [0, 1], got {by_operation}")
    # Every stage draws from ``rng`` in the order it is called below, the entries of
    # ``data`` included: calling them in another order changes every instance.
    rng = np.random.default_rng(seed)
    side = side_stream(seed)
    clusters = pick_clusters(rng, factories)
    industries = pick_industries(rng, factories)
    fac = draw_factories(rng, factories, clusters, industries)
    place_factories(rng, fac, clusters)
    cal = draw_calendars(rng, fac, periods, start_date)
    set_max_lots(rng, fac, cal)
    credit = draw_credit(rng, fac)
    stats = platform_stats(fac, cal, [c["score"] for c in credit])
    plan = draw_orders(
        rng, orders, periods, fac, cal, stats, clusters, industries, by_operation, side
    )
    processes, materials = catalogue_dicts(industries)
    data: dict[str, Any] = {
        "name": name if name is not None else f"gen-o{orders}-f{factories}-p{periods}-s{seed}",
        "horizon": {"start_date": start_date, "periods": periods, "period_minutes": 1440},
        "processes": processes,
        "materials": materials,
        "factories": factory_dicts(rng, fac, cal, clusters, industries, credit),
        "orders": plan.dicts,
        "suppliers": draw_suppliers(rng, factories, clusters, industries, plan),
        "fleet": draw_fleet(rng, clusters),
        # Less-than-truckload carriers charge a minimum per shipment: what makes a
        # platform's own milk runs pay for small loads.
        "transport": {"carrier_min_cents": CARRIER_MIN_CENTS},
    }
    # Sourcing, stock, lead times and capacities: their own stream, after the main one.
    draw_material_terms(materials_stream(seed), periods, industries, fac, cal, plan, data)
    if hubs:
        # Hubs, line-haul and the vehicles of their milk runs: their own stream, last,
        # sized on the final orders and factories.
        gather_factories(clusters, data)
        hub_rng = hubs_stream(seed)
        data["transport"]["line_haul"] = draw_line_haul(hub_rng, data["transport"])
        draw_milk_run_vehicles(hub_rng, clusters, data)
        data["fleet"]["hubs"] = draw_hubs(hub_rng, clusters, data)
        draw_hub_vans(vans_stream(seed), clusters, data)
    return Instance.model_validate(data)


def instance_json(instance: Instance, *, indent: int | None = 1) -> str:
    """The instance's JSON as ``matcher generate`` writes it: unset fields and the
    fields of later features left out while unused (``by_operation`` false, the
    transfer speed and handling at their defaults, ``sourcing`` purchased, ``stock``
    empty, ``fleet.hubs`` empty, ``transport.line_haul`` unset, its ``stop_cents`` at
    its default), so that files stay
    compact and files made before those features can be re-made byte for byte.
    """
    transport = instance.transport
    unused_transfer = {
        name
        for name in ("transfer_speed_kmh", "transfer_handling_minutes")
        if getattr(transport, name) == Transport.model_fields[name].default
    }
    transport_exclude: dict[str, Any] = {name: True for name in unused_transfer}
    line_haul = transport.line_haul
    if (
        line_haul is not None
        and line_haul.stop_cents == LineHaul.model_fields["stop_cents"].default
    ):
        transport_exclude["line_haul"] = {"stop_cents"}
    exclude: dict[str, Any] = {
        "orders": {
            i: {"split": {"by_operation"}}
            for i, order in enumerate(instance.orders)
            if not order.split.by_operation
        },
        "materials": {
            i: {"sourcing"}
            for i, material in enumerate(instance.materials)
            if material.sourcing == MaterialSourcing.PURCHASED
        },
        "factories": {
            i: {"stock"} for i, factory in enumerate(instance.factories) if not factory.stock
        },
        "transport": transport_exclude,
        **({} if instance.fleet.hubs else {"fleet": {"hubs"}}),
    }
    return instance.model_dump_json(exclude_none=True, exclude=exclude, indent=indent)
