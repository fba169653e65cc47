from __future__ import annotations

from typing import Any

import pytest

from matcher.domain.instance import Instance
from matcher.domain.validation import InvalidInstanceError, parse_instance


def _messages(data: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidInstanceError) as info:
        parse_instance(data)
    return [str(i) for i in info.value.issues]


def test_the_tiny_instance_is_valid(tiny: Instance) -> None:
    assert len(tiny.orders) == 4
    assert tiny.orders[1].mandatory


def test_validation_reports_every_violation_with_its_path(tiny_data: dict[str, Any]) -> None:
    tiny_data["orders"][0]["quantity"] = 0
    tiny_data["orders"][1]["operations"][0]["process"] = "cnc9"
    tiny_data["orders"][2]["release_period"] = 2
    tiny_data["orders"][2]["due_period"] = 1
    tiny_data["orders"][3]["delivery"]["lat"] = 91
    tiny_data["factories"][0]["resources"][0]["available_minutes"] = [480, 480]
    tiny_data["factories"][1]["id"] = "F1"
    msgs = _messages(tiny_data)
    assert "orders[0].quantity: Input should be greater than 0 (got 0)" in msgs
    assert "orders[1].operations[0].process: unknown process 'cnc9'" in msgs
    assert "orders[2].release_period: release period 2 is after due period 1" in msgs
    assert any(m.startswith("orders[3].delivery.lat:") for m in msgs)
    assert (
        "factories[0].resources[0].available_minutes: calendar has 2 periods, horizon has 3" in msgs
    )
    assert "factories[0].id: duplicate id 'F1'" in msgs
    assert "factories[1].id: duplicate id 'F1'" in msgs


def test_unknown_references_are_reported_everywhere(tiny_data: dict[str, Any]) -> None:
    tiny_data["orders"][0]["bill_of_materials"] = {"steel": 2.0}
    tiny_data["factories"][0]["capabilities"][0]["resource_group"] = "nope"
    tiny_data["factories"][0]["capabilities"][0]["materials"] = ["wood"]
    tiny_data["fleet"] = {
        "depots": [{"id": "D1", "location": {"lat": 30, "lon": 120}}],
        "vehicles": [{"id": "V1", "depot": "D9", "capacity": {"weight_kg": 1000}}],
    }
    msgs = _messages(tiny_data)
    assert "orders[0].bill_of_materials.steel: unknown material 'steel'" in msgs
    assert "factories[0].capabilities[0].resource_group: unknown resource group 'nope'" in msgs
    assert "factories[0].capabilities[0].materials[0]: unknown material 'wood'" in msgs
    assert "fleet.vehicles[0].depot: unknown depot 'D9'" in msgs


def test_price_tiers_must_increase_and_cover_the_moq(tiny_data: dict[str, Any]) -> None:
    tiny_data["suppliers"] = [
        {
            "id": "S1",
            "location": {"lat": 30, "lon": 120},
            "offers": [
                {
                    "material": "cotton_fabric",
                    "moq": 10,
                    "capacity": 5,
                    "price": {
                        "type": "all_units",
                        "tiers": [
                            {"min_quantity": 20, "unit_price_cents": 100},
                            {"min_quantity": 20, "unit_price_cents": 90},
                        ],
                    },
                }
            ],
        }
    ]
    msgs = _messages(tiny_data)
    assert any(
        m.startswith("suppliers[0].offers[0].price.tiers[1].min_quantity: tier breaks")
        for m in msgs
    )
    assert any(
        m.startswith("suppliers[0].offers[0].price.tiers[0].min_quantity: first tier") for m in msgs
    )
    assert "suppliers[0].offers[0].capacity: capacity 5 is below the MOQ 10" in msgs


def test_min_split_quantity_above_the_order_quantity_is_rejected(
    tiny_data: dict[str, Any],
) -> None:
    tiny_data["orders"][0]["split"] = {"allowed": True, "min_quantity": 100, "max_factories": 2}
    tiny_data["factories"][0]["capabilities"][0]["min_lot"] = 50
    tiny_data["factories"][0]["capabilities"][0]["max_lot"] = 10
    msgs = _messages(tiny_data)
    assert (
        "orders[0].split.min_quantity: minimum split quantity 100 exceeds the order quantity 60"
        in msgs
    )
    assert any(
        m.startswith("factories[0].capabilities[0]: max_lot 10 is below min_lot 50") for m in msgs
    )


def test_field_errors_and_cross_reference_errors_come_together(
    tiny_data: dict[str, Any],
) -> None:
    tiny_data["orders"][0]["due_period"] = -1  # field error: order 0 does not parse
    tiny_data["orders"][1]["operations"][0]["process"] = "cnc9"  # cross-reference error
    msgs = _messages(tiny_data)
    assert any(m.startswith("orders[0].due_period:") for m in msgs)
    assert "orders[1].operations[0].process: unknown process 'cnc9'" in msgs


def test_a_non_object_instance_gets_a_clear_error() -> None:
    msgs = _messages([])  # type: ignore[arg-type]
    assert len(msgs) == 1 and "valid dictionary" in msgs[0]


def test_unknown_fields_are_rejected(tiny_data: dict[str, Any]) -> None:
    tiny_data["orders"][0]["qty"] = 5
    assert "orders[0].qty: Extra inputs are not permitted" in _messages(tiny_data)


def test_instances_are_frozen(tiny: Instance) -> None:
    with pytest.raises(Exception, match="frozen"):
        tiny.orders[0].quantity = 5  # type: ignore[misc]
    variant = tiny.model_copy(update={"name": "variant"})
    assert variant.name == "variant" and tiny.name == "tiny"


def test_a_duplicate_id_is_reported_even_when_its_twin_has_field_errors(
    tiny_data: dict[str, Any],
) -> None:
    tiny_data["orders"][1]["id"] = "O1"
    tiny_data["orders"][1]["quantity"] = 0
    msgs = _messages(tiny_data)
    assert "orders[0].id: duplicate id 'O1'" in msgs
    assert "orders[1].id: duplicate id 'O1'" in msgs
    assert "orders[1].quantity: Input should be greater than 0 (got 0)" in msgs
