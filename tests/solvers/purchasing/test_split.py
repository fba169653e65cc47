"""Cost splits on synthetic purchasing games with known answers: no solver needed.

The games: a volume discount ``c(S) = f(sum of demands)`` with ``f`` concave (submodular,
so its Shapley value lies in the core), the airport game ``c(S) = max of members``
(closed-form Shapley value), games with a dummy player, and a three-player game whose
core is empty.
"""

from __future__ import annotations

import itertools
import math
import time

import pytest

from solvers.purchasing.split import (
    MAX_EXACT_PLAYERS,
    CoalitionCosts,
    CostFn,
    core_check,
    integer_split,
    proportional,
    shapley,
    shapley_exact,
    shapley_sampled,
)


class Counting:
    """A cost function that records every coalition it is asked for."""

    def __init__(self, cost: CostFn) -> None:
        self.cost = cost
        self.calls: list[frozenset[str]] = []

    def __call__(self, coalition: frozenset[str]) -> float:
        self.calls.append(coalition)
        return self.cost(coalition)


def names(n: int) -> list[str]:
    return [f"f{i:02d}" for i in range(n)]


def volume_game(demands: dict[str, float]) -> CostFn:
    """Concave price of the pooled volume: buying together is never dearer."""
    return lambda s: 100.0 * math.sqrt(sum(demands[p] for p in s))


def airport_game(weights: dict[str, float]) -> CostFn:
    return lambda s: max((weights[p] for p in s), default=0.0)


def mixed_game(n: int) -> tuple[list[str], CostFn]:
    """Volume discount plus an airport part: every player's marginals vary."""
    players = names(n)
    volume = volume_game({p: 1.0 + 3 * i for i, p in enumerate(players)})
    airport = airport_game({p: 40.0 * ((7 * i) % n) for i, p in enumerate(players)})
    return players, lambda s: volume(s) + airport(s)


def with_dummy(cost: CostFn, dummy: str, own: float) -> CostFn:
    return lambda s: cost(s - {dummy}) + (own if dummy in s else 0.0)


def max_error(charges: dict[str, float], exact: dict[str, float]) -> float:
    return max(abs(charges[p] - exact[p]) for p in exact)


# Shapley: the axioms and closed forms


def test_exact_shapley_charges_sum_to_the_grand_coalition_cost() -> None:
    players, cost = mixed_game(9)
    result = shapley_exact(players, CoalitionCosts(cost))
    assert result.exact and result.ci95 is None and result.permutations == 0
    assert sum(result.charges.values()) == pytest.approx(cost(frozenset(players)), abs=1e-9)


def test_sampled_shapley_charges_sum_exactly_to_the_grand_coalition_cost() -> None:
    players, cost = mixed_game(15)
    result = shapley_sampled(players, CoalitionCosts(cost), 7, seed=1)
    assert not result.exact and result.permutations == 8
    assert math.fsum(result.charges.values()) == pytest.approx(cost(frozenset(players)), abs=1e-9)


def test_symmetric_players_are_charged_the_same() -> None:
    demands = {"a": 2.0, "b": 5.0, "c": 5.0, "d": 9.0}
    charges = shapley_exact(list(demands), CoalitionCosts(volume_game(demands))).charges
    assert charges["b"] == pytest.approx(charges["c"], abs=1e-9)
    assert charges["a"] < charges["b"] < charges["d"]


def test_a_dummy_player_is_charged_its_stand_alone_cost_and_saves_nothing() -> None:
    players, base = mixed_game(6)
    cost = with_dummy(base, "dummy", 123.0)
    exact = shapley_exact([*players, "dummy"], CoalitionCosts(cost))
    sampled = shapley_sampled([*players, "dummy"], CoalitionCosts(cost), 10, seed=3)
    assert exact.charges["dummy"] == pytest.approx(123.0, abs=1e-9)
    assert sampled.charges["dummy"] == pytest.approx(123.0, abs=1e-9)
    assert sampled.ci95 is not None and sampled.ci95["dummy"] == pytest.approx(0.0, abs=1e-9)


def test_exact_shapley_matches_the_closed_form_of_the_airport_game() -> None:
    weights = {"a": 10.0, "b": 30.0, "c": 30.0, "d": 70.0, "e": 100.0}
    charges = shapley_exact(list(weights), CoalitionCosts(airport_game(weights))).charges
    # Each runway segment is shared equally by the players that need it.
    ordered = sorted(weights.values())
    n = len(ordered)
    expected = {
        p: sum(
            (ordered[j] - (ordered[j - 1] if j else 0.0)) / (n - j)
            for j in range(n)
            if ordered[j] <= w
        )
        for p, w in weights.items()
    }
    assert charges == pytest.approx(expected, abs=1e-9)
    assert expected["a"] == pytest.approx(2.0)  # 10 / 5


def test_exact_shapley_is_additive_over_games() -> None:
    players, first = mixed_game(7)
    second = airport_game({p: float(len(p) * i * i) for i, p in enumerate(players)})
    total = shapley_exact(players, CoalitionCosts(lambda s: first(s) + second(s))).charges
    one = shapley_exact(players, CoalitionCosts(first)).charges
    two = shapley_exact(players, CoalitionCosts(second)).charges
    assert total == pytest.approx({p: one[p] + two[p] for p in players}, abs=1e-9)


# Sampling: accuracy, determinism, stopping


def test_sampled_shapley_lies_within_its_reported_ci95_of_the_exact_value_for_most_players() -> (
    None
):
    players, cost = mixed_game(10)
    costs = CoalitionCosts(cost)
    exact = shapley_exact(players, costs).charges
    sampled = shapley_sampled(players, costs, 200, seed=11)
    assert sampled.ci95 is not None
    inside = [p for p in players if abs(sampled.charges[p] - exact[p]) <= sampled.ci95[p]]
    assert len(inside) >= 8
    assert all(0 < half < math.inf for half in sampled.ci95.values())


def test_sampled_shapley_error_and_ci95_shrink_with_more_permutations() -> None:
    players, cost = mixed_game(10)
    costs = CoalitionCosts(cost)
    exact = shapley_exact(players, costs).charges
    few = shapley_sampled(players, costs, 20, seed=5)
    many = shapley_sampled(players, costs, 2000, seed=5)
    assert few.ci95 is not None and many.ci95 is not None
    assert max_error(many.charges, exact) < max_error(few.charges, exact) / 3
    assert max(many.ci95.values()) < max(few.ci95.values()) / 3


def test_sampled_shapley_is_deterministic_for_a_fixed_seed() -> None:
    players, cost = mixed_game(14)
    first = shapley_sampled(players, CoalitionCosts(cost), 30, seed=42)
    again = shapley_sampled(players, CoalitionCosts(cost), 30, seed=42)
    other = shapley_sampled(players, CoalitionCosts(cost), 30, seed=43)
    assert first == again
    assert first.charges != other.charges


def test_sampled_shapley_past_its_deadline_still_uses_one_antithetic_pair() -> None:
    players, cost = mixed_game(14)
    result = shapley_sampled(
        players, CoalitionCosts(cost), 1000, seed=0, deadline=time.perf_counter() - 1.0
    )
    assert result.permutations == 2
    assert result.ci95 is not None and all(h == math.inf for h in result.ci95.values())
    assert sum(result.charges.values()) == pytest.approx(cost(frozenset(players)), abs=1e-9)


def test_sampled_shapley_stops_when_asked_and_reports_the_permutations_used() -> None:
    players, cost = mixed_game(14)
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) >= 3

    result = shapley_sampled(players, CoalitionCosts(cost), 1000, seed=0, should_stop=stop)
    assert result.permutations == 6  # pairs before the 2nd, 3rd and (stopped) 4th check


def test_sampled_shapley_stops_at_a_running_deadline() -> None:
    players, base = mixed_game(16)

    def slow(coalition: frozenset[str]) -> float:
        time.sleep(0.001)  # a stand-in for the MILP
        return base(coalition)

    start = time.perf_counter()
    result = shapley_sampled(players, CoalitionCosts(slow), 10_000, seed=0, deadline=start + 0.05)
    elapsed = time.perf_counter() - start
    assert 2 <= result.permutations < 10_000 and result.permutations % 2 == 0
    assert elapsed < 0.5  # the deadline plus at most one pair of 32 evaluations


def test_shapley_is_exact_up_to_exact_max_players_and_sampled_above() -> None:
    players, cost = mixed_game(MAX_EXACT_PLAYERS + 1)
    costs = CoalitionCosts(cost)
    assert shapley(players[:-1], costs, permutations=10, seed=0).exact
    above = shapley(players, costs, permutations=10, seed=0)
    assert not above.exact and above.permutations == 10
    assert shapley(players[:4], costs, permutations=10, seed=0, exact_max=3).permutations == 10


def test_a_single_player_is_charged_its_own_cost() -> None:
    result = shapley(["solo"], CoalitionCosts(lambda s: 42.5), permutations=10, seed=0)
    assert result.charges == {"solo": 42.5} and result.exact


def test_exact_shapley_refuses_more_than_twice_max_exact_players_without_evaluating() -> None:
    counting = Counting(lambda s: float(len(s)))
    costs = CoalitionCosts(counting)
    with pytest.raises(ValueError, match="limited to 24 players"):
        shapley_exact(names(2 * MAX_EXACT_PLAYERS + 1), costs)
    assert counting.calls == []


def test_players_must_be_distinct() -> None:
    costs = CoalitionCosts(lambda s: float(len(s)))
    with pytest.raises(ValueError, match="distinct"):
        shapley_exact(["a", "b", "a"], costs)
    with pytest.raises(ValueError, match="distinct"):
        shapley_sampled(["a", "a"], costs, 4, seed=0)
    with pytest.raises(ValueError, match="distinct"):
        core_check(["a", "a"], costs, {"a": 1.0})


# Memoisation


def test_every_coalition_is_evaluated_once_and_counted() -> None:
    players, cost = mixed_game(6)
    counting = Counting(cost)
    costs = CoalitionCosts(counting)
    exact = shapley_exact(players, costs)
    shapley_exact(players, costs)
    shapley_sampled(players, costs, 50, seed=0)
    core_check(players, costs, exact.charges)
    assert len(counting.calls) == 2**6 - 1  # never the empty coalition
    assert len(set(counting.calls)) == len(counting.calls)
    assert costs.evaluated == len(counting.calls)
    assert dict(costs.items()) == {s: cost(s) for s in counting.calls}


def test_pre_seeded_costs_are_never_recomputed() -> None:
    players, cost = mixed_game(5)
    grand = frozenset(players)
    known = {frozenset({p}): cost(frozenset({p})) for p in players}
    known[grand] = 1000.0  # the main solve's figure wins over recomputing
    counting = Counting(cost)
    costs = CoalitionCosts(counting, known)
    result = shapley_exact(players, costs)
    assert grand not in counting.calls
    assert not any(len(s) == 1 for s in counting.calls)
    assert costs.evaluated == len(counting.calls) == 2**5 - 1 - 6
    assert sum(result.charges.values()) == pytest.approx(1000.0)
    assert len(dict(costs.items())) == 2**5 - 1


def test_coalition_costs_refuse_non_finite_costs_and_a_costly_empty_coalition() -> None:
    with pytest.raises(ValueError, match="finite"):
        CoalitionCosts(lambda s: math.inf)(frozenset({"a"}))
    with pytest.raises(ValueError, match="empty coalition"):
        CoalitionCosts(lambda s: 1.0, {frozenset(): 3.0})


# Core check


def test_core_check_finds_the_blocking_pair_of_a_game_with_an_empty_core() -> None:
    # Any pair buys for what a single player pays; all three cost twice that.
    def cost(s: frozenset[str]) -> float:
        return 200.0 if len(s) == 3 else 100.0

    players = ["a", "b", "c"]
    costs = CoalitionCosts(cost)
    charges = shapley_exact(players, costs).charges  # 66.67 each
    result = core_check(players, costs, charges)
    assert result.coalition == frozenset({"a", "b"})
    assert result.excess == pytest.approx(200 / 3 * 2 - 100)
    assert result.exhaustive and result.checked == 6


def test_core_check_finds_no_blocking_coalition_for_shapley_charges_in_a_concave_game() -> None:
    demands = {p: 1.0 + (i * 5) % 7 for i, p in enumerate(names(8))}
    costs = CoalitionCosts(volume_game(demands))
    charges = shapley_exact(list(demands), costs).charges
    result = core_check(list(demands), costs, charges)
    assert result.coalition == frozenset() and result.excess == 0.0
    assert result.exhaustive and result.checked == 2**8 - 2


def test_core_check_beyond_exhaustive_max_finds_a_planted_blocking_coalition() -> None:
    players = names(16)
    planted = frozenset({"f03", "f07", "f11", "f14"})

    def cost(s: frozenset[str]) -> float:
        inside, outside = len(s & planted), len(s - planted)
        return 10.0 * len(s) - max(0.0, 5.0 * inside**2 - 15.0 * outside)

    grand = frozenset(players)
    known = {frozenset({p}): cost(frozenset({p})) for p in players} | {grand: cost(grand)}
    costs = CoalitionCosts(cost, known)
    charges = {p: cost(grand) / len(players) for p in players}  # 10 each
    result = core_check(players, costs, charges)
    assert not result.exhaustive
    assert result.coalition == planted and result.excess == pytest.approx(80.0)
    assert result.checked < 500 and costs.evaluated < 500  # of 2**16 - 2


def test_core_check_past_its_deadline_compares_only_cached_coalitions() -> None:
    players, cost = mixed_game(6)
    known = {frozenset(s): cost(frozenset(s)) for s in itertools.combinations(players, 2)}
    costs = CoalitionCosts(cost, known)
    charges = {p: 1e6 for p in players}  # every coalition blocks
    result = core_check(players, costs, charges, deadline=time.perf_counter() - 1.0)
    assert not result.exhaustive
    assert result.checked == len(known) and costs.evaluated == 0
    assert len(result.coalition) == 2 and result.excess > 0


def test_core_check_ignores_excesses_below_the_tolerance() -> None:
    def cost(s: frozenset[str]) -> float:
        return 100.0 * len(s) - (0.3 if s == {"a", "b"} else 0.0)

    costs = CoalitionCosts(cost)
    charges = {"a": 100.0, "b": 100.0, "c": 100.0}
    assert core_check(list(charges), costs, charges).excess == 0.0
    strict = core_check(list(charges), costs, charges, tolerance=0.1)
    assert strict.coalition == frozenset({"a", "b"}) and strict.excess == pytest.approx(0.3)


def test_core_check_refuses_a_player_without_a_charge() -> None:
    with pytest.raises(ValueError, match="no charge for 'b'"):
        core_check(["a", "b"], CoalitionCosts(lambda s: 1.0), {"a": 1.0})


# Whole cents and proportional splits


@pytest.mark.parametrize(
    ("charges", "total"),
    [
        ({"a": 200 / 3, "b": 200 / 3, "c": 200 / 3}, 200),
        ({"a": 0.4, "b": 0.4, "c": 0.2}, 1),
        ({"a": 12.5, "b": -3.25, "c": 0.75}, 10),
        ({"a": -0.5, "b": -0.5}, -1),
        ({"a": 1234.999999999, "b": 0.000000001}, 1235),
    ],
)
def test_integer_split_sums_exactly_to_the_total(charges: dict[str, float], total: int) -> None:
    cents = integer_split(charges, total)
    assert sum(cents.values()) == total
    assert list(cents) == list(charges)
    assert all(abs(cents[p] - charges[p]) < 1 for p in charges)


def test_integer_split_rounds_negative_charges_by_largest_remainder() -> None:
    # Floors -4, -3, 2 sum to -5; the missing cents go to remainders .5, then .25 (a < c).
    assert integer_split({"a": -3.75, "b": -2.5, "c": 2.25}, -4) == {"a": -4, "b": -2, "c": 2}
    assert integer_split({"a": -3.75, "b": -2.5, "c": 2.25}, -3) == {"a": -3, "b": -2, "c": 2}


def test_integer_split_breaks_ties_by_player_id() -> None:
    assert integer_split({"c": 100 / 3, "a": 100 / 3, "b": 100 / 3}, 100) == {
        "c": 33,
        "a": 34,
        "b": 33,
    }
    # Float noise in equal charges must not outrank the player id.
    assert 0.7 + 0.1 < 0.8
    assert integer_split({"y": 0.8, "x": 0.7 + 0.1, "z": 0.4}, 1) == {
        "y": 0,
        "x": 1,
        "z": 0,
    }


def test_integer_split_spreads_a_mismatched_total_evenly_in_whole_cents() -> None:
    assert integer_split({"a": 1.0, "b": 2.0}, 9) == {"a": 4, "b": 5}


def test_proportional_splits_by_stand_alone_cost() -> None:
    assert proportional({"a": 100.0, "b": 300.0}, 200.0) == pytest.approx({"a": 50, "b": 150})


def test_proportional_splits_equally_when_every_weight_is_zero() -> None:
    assert proportional({"a": 0.0, "b": 0.0, "c": 0.0}, 90.0) == {"a": 30.0, "b": 30.0, "c": 30.0}
    assert proportional({}, 0.0) == {}


def test_proportional_refuses_negative_weights() -> None:
    with pytest.raises(ValueError, match="weight of 'b'"):
        proportional({"a": 1.0, "b": -1.0}, 10.0)
