"""The generator's static data: industries (processes in precedence order, materials,
plant profiles, order chains), manufacturing clusters and buyer cities, the Spring
Festival dates and the vehicle types; and the catalogue section of an instance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProcessSpec:
    id: str
    name: str
    seconds: tuple[int, int]  # seconds per unit, log-uniform range
    rate_cents_per_hour: int  # what an hour of this process typically sells for
    setup: tuple[int, int]  # setup minutes range
    materials: tuple[str, ...] = ()  # materials a capability may be restricted to


@dataclass(frozen=True)
class MaterialSpec:
    id: str
    name: str
    unit: str
    price_cents: int  # list price per material unit
    per_unit: tuple[float, float]  # bill-of-materials quantity per product unit
    # A speciality material has one supplier with a long lead time or a tight capacity;
    # a consigned one is often brought by the buyer (``sourcing: provided``). The draws
    # that use these flags are in :mod:`matcher.generate.materials`.
    speciality: bool = False
    consigned: bool = False


@dataclass(frozen=True)
class IndustrySpec:
    """One industry: processes in precedence order and how plants bundle them.

    ``profiles`` are the process sets a factory of this industry may hold (a weaving
    mill does not sew), ``chains`` the multi-operation orders the market asks for
    (each inside some profile), ``impossible`` sensible chains that no profile holds:
    they produce the orders no factory can make.
    """

    id: str
    title: str
    processes: tuple[ProcessSpec, ...]
    materials: tuple[MaterialSpec, ...]
    profiles: tuple[tuple[str, ...], ...]
    profile_weights: tuple[float, ...]
    chains: tuple[tuple[str, ...], ...]
    impossible: tuple[tuple[str, ...], ...]
    unit_weight_kg: tuple[float, float]
    shift_probs: tuple[float, float, float]  # P(1, 2, 3 shifts) of a resource group

    @property
    def covering(self) -> tuple[tuple[str, ...], ...]:
        """Few profiles that together offer every process and every chain."""
        todo = [(p.id,) for p in self.processes] + list(self.chains)
        chosen: list[tuple[str, ...]] = []
        while todo:
            best = max(self.profiles, key=lambda pr: sum(set(t) <= set(pr) for t in todo))
            chosen.append(best)
            todo = [t for t in todo if not set(t) <= set(best)]
        return tuple(chosen)


def _p(
    pid: str,
    seconds: tuple[int, int],
    rate: int,
    setup: tuple[int, int],
    materials: tuple[str, ...] = (),
) -> ProcessSpec:
    return ProcessSpec(pid, pid.replace("_", " "), seconds, rate, setup, materials)


def _m(
    mid: str,
    unit: str,
    price: int,
    per_unit: tuple[float, float],
    *,
    speciality: bool = False,
    consigned: bool = False,
) -> MaterialSpec:
    return MaterialSpec(mid, mid.replace("_", " "), unit, price, per_unit, speciality, consigned)


# Money is in fen (CNY cents); rates include machine, labour, overhead and margin.
INDUSTRIES: tuple[IndustrySpec, ...] = (
    IndustrySpec(
        id="textiles",
        title="Textiles",
        processes=(
            _p("weaving", (120, 400), 6000, (20, 90), ("cotton_yarn", "polyester_yarn")),
            _p("dyeing", (30, 120), 9000, (30, 120), ("cotton_yarn", "polyester_yarn")),
            _p("cutting", (20, 90), 5000, (5, 30)),
            _p("sewing", (600, 1500), 5000, (0, 30)),
        ),
        materials=(
            _m("cotton_yarn", "kg", 2800, (0.2, 0.8)),
            _m("polyester_yarn", "kg", 1200, (0.2, 0.8)),
            _m("reactive_dye", "kg", 6000, (0.005, 0.04), speciality=True),
            _m("sewing_thread", "cone", 800, (0.01, 0.05)),
            _m("zipper", "pcs", 60, (1.0, 2.0), consigned=True),
        ),
        profiles=(
            ("weaving",),
            ("weaving", "dyeing"),
            ("dyeing",),
            ("cutting", "sewing"),
            ("sewing",),
            ("dyeing", "cutting", "sewing"),
        ),
        profile_weights=(0.15, 0.2, 0.1, 0.3, 0.15, 0.1),
        chains=(("weaving", "dyeing"), ("cutting", "sewing"), ("dyeing", "cutting", "sewing")),
        impossible=(("weaving", "dyeing", "cutting"), ("weaving", "dyeing", "sewing")),
        unit_weight_kg=(0.15, 1.2),
        shift_probs=(0.35, 0.45, 0.2),
    ),
    IndustrySpec(
        id="plastics",
        title="Plastics",
        processes=(
            _p("mould_making", (10, 60), 30000, (60, 120)),
            _p("injection_molding", (20, 90), 12000, (30, 120), ("abs", "pp", "polycarbonate")),
            _p("painting", (30, 120), 8000, (15, 60)),
            _p("assembly", (60, 300), 5000, (0, 30)),
        ),
        materials=(
            _m("abs", "kg", 1500, (0.02, 1.0)),
            _m("pp", "kg", 900, (0.02, 1.0)),
            _m("polycarbonate", "kg", 2200, (0.02, 0.8), speciality=True),
            _m("masterbatch", "kg", 3000, (0.001, 0.02), consigned=True),
            _m("paint", "l", 4000, (0.005, 0.05)),
        ),
        profiles=(
            ("mould_making",),
            ("mould_making", "injection_molding"),
            ("mould_making", "injection_molding", "assembly"),
            ("injection_molding",),
            ("injection_molding", "assembly"),
            ("injection_molding", "painting"),
            ("injection_molding", "painting", "assembly"),
            ("painting",),
        ),
        profile_weights=(0.05, 0.15, 0.15, 0.25, 0.15, 0.1, 0.1, 0.05),
        chains=(
            ("mould_making", "injection_molding"),
            ("mould_making", "injection_molding", "assembly"),
            ("injection_molding", "painting"),
            ("injection_molding", "assembly"),
            ("injection_molding", "painting", "assembly"),
        ),
        impossible=(("mould_making", "injection_molding", "painting"),),
        unit_weight_kg=(0.05, 1.5),
        shift_probs=(0.15, 0.35, 0.5),
    ),
    IndustrySpec(
        id="hardware",
        title="Hardware",
        processes=(
            _p("cnc_milling", (120, 900), 15000, (15, 90), ("aluminium_bar", "stainless_steel")),
            _p("stamping", (3, 20), 10000, (30, 120), ("steel_sheet", "stainless_steel")),
            _p("welding", (60, 400), 7000, (10, 45), ("steel_sheet", "stainless_steel")),
            _p("surface_treatment", (20, 90), 6000, (30, 90)),
        ),
        materials=(
            _m("steel_sheet", "kg", 550, (0.2, 6.0)),
            _m("aluminium_bar", "kg", 2200, (0.1, 3.0)),
            _m("stainless_steel", "kg", 1600, (0.1, 4.0), speciality=True),
            _m("welding_wire", "kg", 1400, (0.005, 0.05)),
            _m("zinc", "kg", 2400, (0.005, 0.1)),
        ),
        profiles=(
            ("cnc_milling",),
            ("cnc_milling", "surface_treatment"),
            ("stamping",),
            ("stamping", "welding"),
            ("stamping", "welding", "surface_treatment"),
            ("welding", "surface_treatment"),
            ("surface_treatment",),
        ),
        profile_weights=(0.25, 0.15, 0.15, 0.15, 0.1, 0.1, 0.1),
        chains=(
            ("cnc_milling", "surface_treatment"),
            ("stamping", "welding"),
            ("stamping", "welding", "surface_treatment"),
            ("welding", "surface_treatment"),
        ),
        impossible=(("cnc_milling", "welding", "surface_treatment"),),
        unit_weight_kg=(0.3, 8.0),
        shift_probs=(0.25, 0.5, 0.25),
    ),
    IndustrySpec(
        id="electronics",
        title="Electronics",
        processes=(
            _p("smt", (10, 60), 20000, (30, 120), ("pcb_fr4", "pcb_flex")),
            _p("through_hole", (60, 300), 6000, (10, 40)),
            _p("testing", (30, 180), 8000, (5, 30)),
        ),
        materials=(
            _m("pcb_fr4", "pcs", 300, (1.0, 2.0)),
            _m("pcb_flex", "pcs", 900, (1.0, 2.0), speciality=True),
            _m("ic_chip", "pcs", 250, (1.0, 12.0), speciality=True, consigned=True),
            _m("passive_components", "kpcs", 2500, (0.02, 0.3)),
            _m("solder_paste", "kg", 40000, (0.0005, 0.005)),
        ),
        profiles=(
            ("smt",),
            ("smt", "testing"),
            ("smt", "through_hole", "testing"),
            ("through_hole", "testing"),
            ("testing",),
        ),
        profile_weights=(0.25, 0.25, 0.3, 0.1, 0.1),
        chains=(
            ("smt", "testing"),
            ("smt", "through_hole", "testing"),
            ("through_hole", "testing"),
        ),
        impossible=(),
        unit_weight_kg=(0.05, 1.0),
        shift_probs=(0.1, 0.4, 0.5),
    ),
    IndustrySpec(
        id="furniture",
        title="Furniture",
        processes=(
            _p("wood_cutting", (120, 600), 8000, (15, 60), ("plywood", "oak_board")),
            _p("finishing", (300, 1200), 6000, (20, 60)),
            _p("upholstery", (900, 2400), 5000, (10, 40), ("foam", "upholstery_fabric")),
            _p("furniture_assembly", (600, 1800), 5000, (0, 30)),
        ),
        materials=(
            _m("plywood", "m2", 3500, (0.5, 4.0)),
            _m("oak_board", "m2", 12000, (0.3, 3.0), speciality=True),
            _m("foam", "kg", 1800, (0.5, 6.0)),
            _m("upholstery_fabric", "m", 2500, (0.5, 6.0), consigned=True),
            _m("lacquer", "l", 5000, (0.05, 0.5)),
        ),
        profiles=(
            ("wood_cutting",),
            ("wood_cutting", "finishing"),
            ("wood_cutting", "finishing", "furniture_assembly"),
            ("upholstery", "furniture_assembly"),
            ("wood_cutting", "finishing", "upholstery", "furniture_assembly"),
            ("finishing",),
        ),
        profile_weights=(0.2, 0.2, 0.25, 0.15, 0.1, 0.1),
        chains=(
            ("wood_cutting", "finishing"),
            ("wood_cutting", "finishing", "furniture_assembly"),
            ("upholstery", "furniture_assembly"),
            ("finishing", "furniture_assembly"),
        ),
        impossible=(),
        unit_weight_kg=(6.0, 45.0),
        shift_probs=(0.45, 0.45, 0.1),
    ),
)


@dataclass(frozen=True)
class Place:
    name: str
    lat: float
    lon: float
    size: float = 1.0
    mix: tuple[float, ...] = ()  # share of factories per industry, as in INDUSTRIES


# Manufacturing clusters; mix order: textiles, plastics, hardware, electronics, furniture.
CLUSTERS: tuple[Place, ...] = (
    Place("Dongguan", 23.02, 113.75, 1.3, (0.05, 0.25, 0.1, 0.4, 0.2)),
    Place("Shenzhen", 22.54, 114.06, 1.2, (0.02, 0.15, 0.13, 0.7, 0.0)),
    Place("Suzhou", 31.30, 120.62, 1.1, (0.25, 0.15, 0.15, 0.45, 0.0)),
    Place("Ningbo", 29.87, 121.55, 1.0, (0.15, 0.45, 0.25, 0.1, 0.05)),
    Place("Foshan", 23.02, 113.12, 0.9, (0.1, 0.15, 0.3, 0.0, 0.45)),
    Place("Quanzhou", 24.87, 118.68, 0.8, (0.6, 0.15, 0.1, 0.0, 0.15)),
    Place("Wenzhou", 28.00, 120.67, 0.7, (0.2, 0.2, 0.4, 0.2, 0.0)),
    Place("Shaoxing", 30.00, 120.58, 0.7, (0.8, 0.1, 0.1, 0.0, 0.0)),
)

# Where buyers sit besides the clusters.
CITIES: tuple[Place, ...] = (
    Place("Shanghai", 31.23, 121.47),
    Place("Beijing", 39.90, 116.41),
    Place("Guangzhou", 23.13, 113.26),
    Place("Hangzhou", 30.27, 120.16),
    Place("Chengdu", 30.57, 104.07),
    Place("Wuhan", 30.59, 114.31),
    Place("Tianjin", 39.08, 117.20),
    Place("Chongqing", 29.56, 106.55),
    Place("Xi'an", 34.34, 108.94),
    Place("Nanjing", 32.06, 118.80),
    Place("Qingdao", 36.07, 120.38),
    Place("Xiamen", 24.48, 118.09),
)

# Lunar New Year's day; the factory holiday runs from its eve to day 6 (approximate:
# official make-up working days are ignored).
SPRING_FESTIVAL = {
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
}

# (kind, weight_kg range, volume_m3 range, fixed cost, cents per km, cents per hour)
VEHICLE_TYPES: tuple[tuple[str, tuple[int, int], tuple[int, int], int, int, int], ...] = (
    ("van", (2000, 3500), (10, 18), 20000, 250, 4000),
    ("truck", (8000, 12000), (30, 42), 45000, 450, 5000),
    ("heavy", (15000, 20000), (45, 60), 80000, 700, 6000),
)


def catalogue_dicts(
    industries: Sequence[IndustrySpec],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    processes = [
        {"id": p.id, "name": p.name, "industry": ind.id}
        for ind in industries
        for p in ind.processes
    ]
    materials = [
        {"id": m.id, "name": m.name, "unit": m.unit} for ind in industries for m in ind.materials
    ]
    return processes, materials
