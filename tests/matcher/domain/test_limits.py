"""Numeric limits: every number is bounded at validation (with its path, and in the
JSON Schema) so that nothing valid overflows an engine; instances at the limits solve.

The builders below (``at_limits``) are shared with ``tests/service/test_limits.py``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from matcher.app.pipeline import plan
from matcher.app.recommend import recommend
from matcher.app.replan import replan
from matcher.domain import entities as lim
from matcher.domain.entities import Order
from matcher.domain.events import parse_disruption
from matcher.domain.instance import Instance, json_schema
from matcher.domain.params import MAX_SEED, SolveParams
from matcher.domain.plan import Plan
from matcher.domain.validation import (
    InvalidInstanceError,
    parse_instance,
    plan_instance_issues,
    plan_number_issues,
    stake_of,
)
from matcher.generate import generate

INSTANCES = Path(__file__).resolve().parents[3] / "instances"
INT64 = 2**63 - 1
HUGE_INT = 2**62
INF, NAN = float("inf"), float("nan")

# ------------------------------------------------------------------ the builders


def _base(periods: int = 4) -> dict[str, Any]:
    """Two factories with every calendar and weight at its limit; no orders yet."""
    return {
        "name": "limits",
        "horizon": {"start_date": "2026-01-05", "periods": periods, "period_minutes": 1440},
        "processes": [{"id": "p1"}, {"id": "p2"}],
        "materials": [{"id": "m1", "kg_per_unit": 0.0}, {"id": "m2", "kg_per_unit": 0.0}],
        "factories": [
            {
                "id": f"F{i}",
                "location": {"lat": 30.0 + i, "lon": 120.0 + i},
                "capabilities": [
                    {"process": p, "resource_group": "g", "unit_cost_cents": 100}
                    | {"seconds_per_unit": 60}
                    for p in ("p1", "p2")
                ],
                "resources": [
                    {
                        "id": "g",
                        "machines": lim.MAX_COUNT,
                        "available_minutes": [lim.MAX_MINUTES] * periods,
                    }
                ],
            }
            for i in range(2)
        ],
        "orders": [],
        "weights": dict.fromkeys(
            (
                "production",
                "transport",
                "lateness",
                "unserved",
                "credit",
                "purchasing",
                "load_balance",
                "stability",
            ),
            lim.MAX_WEIGHT,
        ),
    }


def _order(i: int, quantity: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"O{i}",
        "buyer": "B",
        "operations": [{"process": "p1"}],
        "quantity": quantity,
        "due_period": 0,
        "delivery": {"lat": 31.0, "lon": 121.0},
    } | fields


def _money() -> dict[str, Any]:
    """Prices, penalties and weights at their limits (orders as large as the limit on
    what a plan can cost then allows), mandatory and optional, one split by operation."""
    d = _base()
    for f in d["factories"]:
        for c in f["capabilities"]:
            c["unit_cost_cents"] = lim.MAX_UNIT_CENTS
    d["orders"] = [
        _order(
            i,
            2000,
            penalties={"late_cents_per_unit_period": lim.MAX_UNIT_CENTS}
            | ({"unserved_cents": lim.MAX_CENTS} if i % 2 else {}),
            max_unit_price_cents=lim.MAX_CENTS,
        )
        for i in range(4)
    ]
    d["orders"].append(
        _order(
            9,
            1000,
            operations=[{"process": "p1"}, {"process": "p2"}],
            split={"allowed": True, "max_factories": 2, "by_operation": True},
        )
    )
    return d


def _quantity() -> dict[str, Any]:
    """Quantities at their limit, a material need at its limit, stock and supplier
    capacity at theirs (the material rule binds)."""
    d = _base()
    for f in d["factories"]:
        for c in f["capabilities"]:
            c.update(unit_cost_cents=0, seconds_per_unit=0)
    d["orders"] = [
        _order(
            0,
            lim.MAX_UNITS,
            unit_weight_kg=0.0,
            penalties={"unserved_cents": lim.MAX_CENTS},
            split={"allowed": True, "min_quantity": lim.MAX_UNITS // 2, "max_factories": 2},
            bill_of_materials={"m1": 790.0},  # need x (periods + 1) just below the limit
            due_period=3,
        ),
        _order(1, lim.MAX_UNITS, unit_weight_kg=0.0, due_period=3),
    ]
    d["suppliers"] = [
        {
            "id": "S",
            "location": {"lat": 30.0, "lon": 120.0},
            "offers": [
                {
                    "material": "m1",
                    "capacity": lim.MAX_MATERIAL,
                    "price": {
                        "type": "incremental",
                        "tiers": [
                            {"min_quantity": 0, "unit_price_cents": 1},
                            {"min_quantity": lim.MAX_MATERIAL, "unit_price_cents": 0},
                        ],
                    },
                }
            ],
        }
    ]
    d["factories"][0]["stock"] = {"m1": lim.MAX_MATERIAL}
    return d


def _floats() -> dict[str, Any]:
    """Weights, volumes, speeds, transport rates, vehicle capacities and costs, MOQ,
    supplier capacity, tier breaks and lead times at their limits, with a fleet."""
    d = _base()
    d["transport"] = {
        "road_factor": 5.0,
        "cents_per_tonne_km": lim.MAX_CENTS_PER_TONNE_KM,
        "carrier_min_cents": 1000,
        "transfer_speed_kmh": lim.MIN_SPEED_KMH,
        "transfer_handling_minutes": lim.MAX_SHORT_MINUTES,
    }
    d["materials"][1]["m3_per_unit"] = lim.MAX_PER_UNIT
    d["materials"].append(
        {"id": "m3", "kg_per_unit": lim.MAX_PER_UNIT, "m3_per_unit": lim.MIN_PER_UNIT}
    )
    d["orders"] = [
        _order(
            0,
            20,
            unit_weight_kg=lim.MAX_PER_UNIT,
            unit_volume_m3=lim.MAX_PER_UNIT,
            bill_of_materials={"m2": 1e-3, "m3": lim.MIN_PER_UNIT},
            due_period=3,
            penalties={"unserved_cents": lim.MAX_CENTS},
        ),
        _order(
            1,
            5,
            unit_weight_kg=lim.MIN_PER_UNIT,
            bill_of_materials={"m1": lim.MAX_PER_UNIT},
            due_period=3,
        ),
    ]
    d["factories"][1]["stock"] = {"m2": lim.MAX_MATERIAL}
    tiers = [
        {"min_quantity": 0, "unit_price_cents": 10},
        {"min_quantity": lim.MAX_MATERIAL, "unit_price_cents": 1},
    ]
    d["suppliers"] = [
        {
            "id": "S",
            "location": {"lat": 30.0, "lon": 121.0},
            "offers": [
                {
                    "material": "m2",
                    "capacity": lim.MAX_MATERIAL,
                    "moq": lim.MAX_MATERIAL,
                    "lead_time_periods": lim.MAX_PERIOD,
                    "price": {"tiers": [{"min_quantity": 0, "unit_price_cents": 1}]},
                },
                {
                    "material": "m1",
                    "capacity": 1e6,
                    "moq": 1,
                    "lead_time_periods": 1,
                    "price": {"tiers": tiers},
                },
                {
                    "material": "m3",
                    "capacity": 1,
                    "price": {
                        "tiers": [{"min_quantity": 0, "unit_price_cents": lim.MAX_UNIT_CENTS}]
                    },
                },
            ],
        }
    ]
    both = {"weight_kg": lim.MAX_CAPACITY, "volume_m3": lim.MAX_CAPACITY}
    d["fleet"] = {
        "depots": [{"id": "D", "location": {"lat": 30.5, "lon": 120.5}}],
        "service_minutes": 30,
        "vehicles": [
            {
                "id": "V1",
                "depot": "D",
                "capacity": both,
                "fixed_cost_cents": lim.MAX_CENTS,
                "cost_per_km_cents": lim.MAX_RATE_CENTS,
                "cost_per_hour_cents": lim.MAX_RATE_CENTS,
                "speed_kmh": lim.MAX_SPEED_KMH,
            },
            {
                "id": "V2",
                "depot": "D",
                "capacity": {"weight_kg": 1e-3, "volume_m3": 1e-3},
                "speed_kmh": lim.MIN_SPEED_KMH,
                "shift_end_minute": lim.MAX_SHORT_MINUTES,
                "max_duration_minutes": lim.MAX_SHORT_MINUTES,
            },
        ],
    }
    return d


def _time() -> dict[str, Any]:
    """Period length, calendars, processing, setup, shift and service times at their
    limits over a long horizon."""
    periods = 200
    d = _base(periods)
    d["horizon"]["period_minutes"] = lim.MAX_SHORT_MINUTES
    for f in d["factories"]:
        f["resources"][0]["committed_minutes"] = [lim.MAX_MINUTES // 2] * periods
        for c in f["capabilities"]:
            c.update(
                seconds_per_unit=lim.MAX_SECONDS_PER_UNIT,
                setup_minutes=lim.MAX_SHORT_MINUTES,
                max_lot=lim.MAX_UNITS,
            )
    last = periods - 1
    d["orders"] = [_order(i, 1000, release_period=last, due_period=last) for i in range(2)]
    d["orders"].append(_order(5, 3000, penalties={"late_cents_per_unit_period": 10**6}))
    d["fleet"] = {
        "depots": [{"id": "D", "location": {"lat": 30.5, "lon": 120.5}}],
        "service_minutes": lim.MAX_SHORT_MINUTES,
        "vehicles": [
            {
                "id": "V1",
                "depot": "D",
                "capacity": {"weight_kg": lim.MAX_CAPACITY},
                "speed_kmh": lim.MIN_SPEED_KMH,
                "shift_start_minute": lim.MAX_SHORT_MINUTES - 1,
                "shift_end_minute": lim.MAX_SHORT_MINUTES,
            }
        ],
    }
    return d


AT_LIMITS: dict[str, Callable[[], dict[str, Any]]] = {
    "money": _money,
    "quantity": _quantity,
    "floats": _floats,
    "time": _time,
}


def at_limits(case: str) -> dict[str, Any]:
    """Raw JSON of an instance whose numbers are at their limits (see ``AT_LIMITS``)."""
    return AT_LIMITS[case]()


def demo_data() -> dict[str, Any]:
    """``instances/demo.json`` as raw JSON (suppliers, a fleet, purchased materials)."""
    data: dict[str, Any] = json.loads((INSTANCES / "demo.json").read_text())
    return data


def set_path(data: Any, path: tuple[str | int, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else key)
    return out


def _issues(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInstanceError) as err:
        parse_instance(data)
    return [(i.path, i.message) for i in err.value.issues]


def _fits_int64(value: Any) -> Iterator[str]:
    """Every integer of a dumped plan outside int64, every float that is not finite."""
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not -(2**63) <= value <= INT64:
        yield f"int {value}"
    elif isinstance(value, float) and not math.isfinite(value):
        yield f"float {value}"
    elif isinstance(value, dict):
        for item in value.values():
            yield from _fits_int64(item)
    elif isinstance(value, list):
        for item in value:
            yield from _fits_int64(item)


# ----------------------------------------------------------- the reported inputs

# (path in demo.json, value): each was an INTERNAL error or a silently wrong plan.
BAD_NUMBERS: list[tuple[tuple[str | int, ...], Any]] = [
    (("orders", 0, "unit_weight_kg"), INF),
    (("orders", 0, "unit_weight_kg"), 1e308),
    (("orders", 0, "unit_volume_m3"), NAN),
    (("transport", "cents_per_tonne_km"), 1e308),
    (("transport", "cents_per_tonne_km"), NAN),
    (("transport", "transfer_speed_kmh"), 1e-300),
    (("orders", 0, "bill_of_materials", "stainless_steel"), 1e308),
    (("orders", 0, "bill_of_materials", "stainless_steel"), INF),
    (("fleet", "vehicles", 0, "capacity", "weight_kg"), 1e308),
    (("fleet", "vehicles", 0, "speed_kmh"), NAN),
    (("materials", 0, "kg_per_unit"), 1e308),
    (("materials", 0, "kg_per_unit"), 1e18),
    (("materials", 0, "kg_per_unit"), 1e-300),
    (("materials", 0, "m3_per_unit"), -INF),
    (("factories", 0, "capabilities", 0, "unit_cost_cents"), HUGE_INT),
    (("factories", 0, "capabilities", 0, "seconds_per_unit"), HUGE_INT),
    (("factories", 0, "resources", 0, "available_minutes", 0), HUGE_INT),
    (("factories", 0, "credit", "on_time_rate"), NAN),
    (("factories", 0, "location", "lat"), NAN),
    (("orders", 0, "penalties", "unserved_cents"), HUGE_INT),
    (("orders", 0, "penalties", "late_cents_per_unit_period"), HUGE_INT),
    (("orders", 0, "quantity"), HUGE_INT),
    (("orders", 0, "due_period"), HUGE_INT),
    (("suppliers", 0, "offers", 0, "price", "tiers", 0, "unit_price_cents"), HUGE_INT),
    (("suppliers", 0, "offers", 0, "price", "tiers", 1, "min_quantity"), 1e308),
    (("suppliers", 0, "offers", 0, "capacity"), 1e308),
    (("suppliers", 0, "offers", 0, "capacity"), NAN),
    (("suppliers", 0, "offers", 0, "moq"), INF),
    (("suppliers", 0, "offers", 0, "lead_time_periods"), HUGE_INT),
    (("fleet", "vehicles", 0, "fixed_cost_cents"), HUGE_INT),
    (("fleet", "vehicles", 0, "cost_per_km_cents"), HUGE_INT),
    (("fleet", "vehicles", 0, "shift_end_minute"), HUGE_INT),
    (("transport", "carrier_min_cents"), HUGE_INT),
    (("weights", "production"), HUGE_INT),
    (("weights", "stability"), HUGE_INT),
    (("horizon", "period_minutes"), HUGE_INT),
]


@pytest.mark.parametrize(("path", "value"), BAD_NUMBERS, ids=lambda x: str(x))
def test_a_number_no_engine_can_carry_is_refused_with_its_path(
    path: tuple[str | int, ...], value: Any
) -> None:
    data = demo_data()
    set_path(data, path, value)
    paths = [p for p, _ in _issues(data)]
    assert dotted(path) in paths


def test_not_a_number_and_infinity_say_so(tiny_data: dict[str, Any]) -> None:
    tiny_data["orders"][0]["unit_weight_kg"] = NAN
    tiny_data["transport"]["road_factor"] = INF
    assert _issues(tiny_data) == [
        ("orders[0].unit_weight_kg", "Input should be a finite number (got NaN)"),
        ("transport.road_factor", "Input should be a finite number (got Infinity)"),
    ]


def test_each_limit_is_inclusive(tiny_data: dict[str, Any]) -> None:
    cap = tiny_data["factories"][0]["capabilities"][0]
    cap["unit_cost_cents"] = lim.MAX_UNIT_CENTS
    tiny_data["orders"][0]["penalties"]["unserved_cents"] = lim.MAX_CENTS
    tiny_data["weights"] = {"unserved": lim.MAX_WEIGHT}
    parse_instance(tiny_data)
    cap["unit_cost_cents"] = lim.MAX_UNIT_CENTS + 1
    tiny_data["orders"][0]["penalties"]["unserved_cents"] = lim.MAX_CENTS + 1
    tiny_data["weights"] = {"unserved": lim.MAX_WEIGHT + 1}
    assert {p for p, _ in _issues(tiny_data)} == {
        "factories[0].capabilities[0].unit_cost_cents",
        "orders[0].penalties.unserved_cents",
        "weights.unserved",
    }


def test_a_weight_per_unit_is_zero_or_measurable(tiny_data: dict[str, Any]) -> None:
    tiny_data["orders"][0]["unit_weight_kg"] = 0.0
    tiny_data["orders"][1]["unit_weight_kg"] = lim.MIN_PER_UNIT
    parse_instance(tiny_data)
    tiny_data["orders"][1]["unit_weight_kg"] = lim.MIN_PER_UNIT / 2
    assert _issues(tiny_data) == [
        ("orders[1].unit_weight_kg", "must be 0 or at least 1e-09 (got 5e-10)")
    ]


def test_the_json_schema_states_the_limits() -> None:
    defs = json_schema()["$defs"]
    assert defs["Capability"]["properties"]["unit_cost_cents"]["maximum"] == lim.MAX_UNIT_CENTS
    assert defs["Penalties"]["properties"]["unserved_cents"]["anyOf"][0]["maximum"] == (
        lim.MAX_CENTS
    )
    assert defs["ObjectiveWeights"]["properties"]["production"]["maximum"] == lim.MAX_WEIGHT
    assert defs["Order"]["properties"]["quantity"]["maximum"] == lim.MAX_UNITS
    assert defs["Order"]["properties"]["unit_weight_kg"]["maximum"] == lim.MAX_PER_UNIT
    (bom,) = defs["Order"]["properties"]["bill_of_materials"]["patternProperties"].values()
    assert bom["maximum"] == lim.MAX_PER_UNIT
    assert defs["Offer"]["properties"]["capacity"]["anyOf"][0]["maximum"] == lim.MAX_MATERIAL
    vehicle = defs["Vehicle"]["properties"]
    assert vehicle["capacity"]["additionalProperties"]["maximum"] == lim.MAX_CAPACITY
    assert vehicle["speed_kmh"]["minimum"] == lim.MIN_SPEED_KMH
    resources = defs["ResourceGroup"]["properties"]["available_minutes"]["items"]
    assert resources["maximum"] == lim.MAX_MINUTES
    params = SolveParams.model_json_schema()["properties"]
    assert params["seed"]["maximum"] == MAX_SEED


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seed", 2**63 - 1),
        ("seed", 2**31),
        ("time_limit_s", INF),
        ("time_limit_s", NAN),
        ("relative_gap", NAN),
        ("max_candidates", HUGE_INT),
        ("max_suppliers_per_material", HUGE_INT),
    ],
)
def test_solve_parameters_are_bounded_and_finite(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        SolveParams.model_validate({field: value})


def test_the_seed_leaves_room_for_the_lns_iterations_in_32_bits() -> None:
    assert MAX_SEED + 10**9 < 2**31
    SolveParams(seed=MAX_SEED)


# --------------------------------------------------------------- the aggregates


def test_what_the_plans_can_cost_is_bounded_for_the_whole_instance(
    tiny_data: dict[str, Any],
) -> None:
    for o in tiny_data["orders"]:  # each order within its limits, the sum not
        o["quantity"] = lim.MAX_UNITS
        o["penalties"]["late_cents_per_unit_period"] = lim.MAX_UNIT_CENTS
    issues = _issues(tiny_data)
    assert len(issues) == 1
    path, message = issues[0]
    assert path == "orders[3]"  # the largest share: two operations, two transports
    assert "above the limit of 1e+14" in message


def test_a_materials_need_over_the_horizon_is_bounded(tiny_data: dict[str, Any]) -> None:
    tiny_data["materials"][0]["sourcing"] = "purchased"
    tiny_data["orders"][0]["bill_of_materials"] = {"cotton_fabric": lim.MAX_PER_UNIT}
    tiny_data["orders"][0]["quantity"] = 10**7
    tiny_data["orders"][0]["penalties"] = {}
    tiny_data["factories"][0]["capabilities"][0]["unit_cost_cents"] = 0
    tiny_data["factories"][1]["capabilities"][0]["unit_cost_cents"] = 0
    tiny_data["weights"] = {"unserved": 0}
    paths = [p for p, _ in _issues(tiny_data)]
    assert paths == ["materials[0]"]


@pytest.mark.parametrize("path", sorted(INSTANCES.glob("*.json")), ids=lambda p: p.name)
def test_the_shipped_instances_are_far_within_the_limits(path: Path) -> None:
    instance = parse_instance(json.loads(path.read_text()))
    assert stake_of(instance).total < lim.MAX_PLAN_CENTS / 100


def test_the_stake_covers_what_a_plan_pays_through_hubs() -> None:
    instance = parse_instance(json.loads((INSTANCES / "demo.json").read_text()))
    shares = dict(stake_of(instance).shares)
    assert "fleet.hubs" in shares  # demo has hubs
    made = plan(instance, SolveParams(time_limit_s=5, workers=1, sharing=False))
    assert made.routes is not None and made.routes.line_haul_cents > 0
    assert made.routes.line_haul_cents + made.routes.handling_cents <= shares["fleet.hubs"]


def test_generated_instances_are_far_within_the_limits() -> None:
    for args in [(300, 30, 30, 7), (1000, 60, 30, 2)]:
        instance = generate(*args, by_operation=0.5)
        parse_instance(instance.model_dump(mode="json"))
        assert stake_of(instance).total < lim.MAX_PLAN_CENTS / 1000


# ------------------------------------------------------- events and caller plans


def test_events_are_bounded_and_finite(tiny: Instance) -> None:
    events = {
        "now_period": HUGE_INT,
        "stability": lim.MAX_WEIGHT + 1,
        "events": [
            {"type": "capacity_cut", "factory": "F1", "from_period": 0, "to_period": 1}
            | {"fraction": NAN},
            {"type": "order_changed", "order": "O1", "quantity": HUGE_INT},
            {"type": "factory_unavailable", "factory": "F1", "from_period": 0}
            | {"to_period": HUGE_INT},
        ],
    }
    with pytest.raises(InvalidInstanceError) as err:
        parse_disruption(events, tiny)
    paths = {i.path for i in err.value.issues}
    assert {
        "now_period",
        "stability",
        "events[0].capacity_cut.fraction",
        "events[1].order_changed.quantity",
        "events[2].factory_unavailable.to_period",
    } <= paths


def test_an_added_order_that_breaks_the_limit_on_cost_is_refused_at_its_event(
    tiny: Instance,
) -> None:
    big = _order(7, lim.MAX_UNITS, operations=[{"process": "sewing"}], due_period=2)
    big["penalties"] = {"late_cents_per_unit_period": lim.MAX_UNIT_CENTS}
    added = {"type": "order_added", "order": big}
    events = {"events": [{"type": "order_cancelled", "order": "O1"}, added]}
    with pytest.raises(InvalidInstanceError) as err:
        parse_disruption(events, tiny)
    assert [i.path for i in err.value.issues] == ["events[1]"]


def _tiny_plan(tiny: Instance) -> Plan:
    return plan(tiny, SolveParams(time_limit_s=5, workers=1))


def test_a_plan_holding_a_number_out_of_range_is_refused(tiny: Instance) -> None:
    good = _tiny_plan(tiny)
    assert plan_number_issues(good, "previous") == []
    a = good.allocations[0]
    bad_alloc = a.model_copy(update={"quantity": HUGE_INT})
    stage = good.stages[0].model_copy(update={"objective": NAN})
    costs = good.costs.model_copy(update={"total": -(2**63)})
    bad = good.model_copy(update={"allocations": [bad_alloc], "stages": [stage], "costs": costs})
    paths = {i.path for i in plan_number_issues(bad, "previous")}
    assert paths == {
        "previous.allocations[0].quantity",
        "previous.stages[0].objective",
        "previous.costs.total",
    }


def test_a_plan_naming_what_the_instance_lacks_is_refused(tiny: Instance) -> None:
    good = _tiny_plan(tiny)
    assert plan_instance_issues(good, tiny, "plan") == []
    a = good.allocations[0]
    wrong = [
        a.model_copy(update={"process": "cutting"}),
        a.model_copy(update={"resource_group": "nope"}),
        a.model_copy(update={"factory": "F9"}),
        a.model_copy(update={"order": "O9"}),
        a.model_copy(update={"operation": 3}),
    ]
    issues = plan_instance_issues(good.model_copy(update={"allocations": wrong}), tiny, "plan")
    assert [i.path for i in issues] == [
        "plan.allocations[0].process",
        "plan.allocations[1].resource_group",
        "plan.allocations[2].factory",
        "plan.allocations[3].order",
        "plan.allocations[4].operation",
    ]


def test_plans_of_generated_instances_hold_only_what_their_instance_has() -> None:
    instance = generate(40, 10, 10, 3, by_operation=1.0)
    made = plan(instance, SolveParams(time_limit_s=3, workers=1, assignment_solver="greedy"))
    assert any(a.operation > 0 for a in made.allocations)
    assert plan_instance_issues(made, instance) == []
    assert plan_number_issues(made) == []


# ---------------------------------------------------------- solving at the limits


@pytest.mark.parametrize("case", sorted(AT_LIMITS))
def test_an_instance_at_the_limits_is_valid(case: str) -> None:
    instance = parse_instance(at_limits(case))
    total = stake_of(instance).total
    assert total <= lim.MAX_PLAN_CENTS
    if case in ("money", "floats"):  # as close to the limit on cost as the others allow
        assert total > lim.MAX_PLAN_CENTS / 10


SOLVERS = [
    {},
    {"strategy": "full"},
    {"strategy": "lns"},
    {"assignment_solver": "greedy"},
    {"assignment_solver": "mip-highs"},
]


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda s: "-".join(s.values()) or "auto")
@pytest.mark.parametrize("case", sorted(AT_LIMITS))
def test_an_instance_at_the_limits_solves_and_its_plan_fits_in_int64(
    case: str, solver: dict[str, str]
) -> None:
    instance = parse_instance(at_limits(case))
    params = SolveParams(time_limit_s=1, workers=1, seed=MAX_SEED, **solver)
    try:
        made = plan(instance, params)
    except ValueError as exc:  # a back-end that does not model this instance says so
        assert "does not support" in str(exc)
        return
    assert made.allocations
    assert list(_fits_int64(made.model_dump())) == []
    notes = " ".join(n for s in made.stages for n in s.notes)
    assert "overflow" not in notes.lower() and "rejected the model" not in notes


def test_a_replan_and_a_recommendation_at_the_limits_carry_no_overflow() -> None:
    data = at_limits("money")
    data["orders"] = [o for o in data["orders"] if not o.get("split", {}).get("by_operation")]
    instance = parse_instance(data)  # re-plans do not take orders split by operation
    before = plan(instance, SolveParams(time_limit_s=1, workers=1))
    events = {
        "now_period": 1,
        "stability": lim.MAX_WEIGHT,
        "events": [
            {"type": "order_changed", "order": "O0", "quantity": 2500},
            {"type": "capacity_cut", "factory": "F1", "from_period": 1, "to_period": 3}
            | {"fraction": 0.5},
        ],
    }
    disruption = parse_disruption(events, instance)
    after = replan(instance, before, disruption, SolveParams(time_limit_s=1, workers=1))
    assert after.replan is not None
    assert list(_fits_int64(after.model_dump())) == []
    newcomer = Order.model_validate(_order(8, 500, penalties={"unserved_cents": lim.MAX_CENTS}))
    options = recommend(instance, before, newcomer)
    assert list(_fits_int64(options.model_dump())) == []
