"""Fair splits of a cooperative purchasing game, independent of any solver.

The game is a cost function over coalitions of factory ids: ``cost(S)`` is what ``S``
pays buying together. Each evaluation solves a MILP, so everything here goes through one
:class:`CoalitionCosts` cache that evaluates a coalition at most once and can be seeded
with costs the caller already knows (the grand coalition from the main solve, the
singletons from the stand-alone solves). See ``docs/purchasing.md``, "Savings and their
split", for how the purchasing stage uses these functions.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

CostFn = Callable[[frozenset[str]], float]

MAX_EXACT_PLAYERS = 12
"""Exact Shapley and exhaustive core checks up to this many players (4096 coalitions)."""

LOCAL_SEARCH_STARTS = 5
"""The non-exhaustive core check climbs from this many of the most unhappy coalitions."""

_Z95 = 1.96
_EMPTY: frozenset[str] = frozenset()


class CoalitionCosts:
    """Memoised coalition costs: cost(S) evaluated at most once per S.

    The empty coalition costs 0 by definition and is never passed to ``cost``.
    """

    def __init__(self, cost: CostFn, known: Mapping[frozenset[str], float] | None = None) -> None:
        self._cost = cost
        self._values: dict[frozenset[str], float] = {}
        self._evaluated = 0
        for coalition, value in (known or {}).items():
            if not coalition:
                if value != 0:
                    raise ValueError(f"the empty coalition costs 0, not {value}")
                continue
            self._values[frozenset(coalition)] = _finite(coalition, value)

    def __call__(self, coalition: frozenset[str]) -> float:
        if not coalition:
            return 0.0
        value = self._values.get(coalition)
        if value is None:
            value = _finite(coalition, float(self._cost(coalition)))
            self._values[coalition] = value
            self._evaluated += 1
        return value

    def __contains__(self, coalition: object) -> bool:
        """Whether the cost is known without evaluating (the empty coalition always is)."""
        return coalition == _EMPTY or coalition in self._values

    @property
    def evaluated(self) -> int:
        """Distinct coalitions computed by ``cost``; pre-seeded ones are not counted."""
        return self._evaluated

    def items(self) -> Iterator[tuple[frozenset[str], float]]:
        """Every known nonempty coalition cost, seeded or computed, in insertion order."""
        return iter(list(self._values.items()))


@dataclass(frozen=True)
class ShapleyResult:
    """Shapley charges of a cost game, exact or estimated."""

    charges: dict[str, float]  # Shapley value of the cost game, per player
    ci95: dict[str, float] | None  # sampled: 95 % half-width per player; None when exact
    exact: bool
    permutations: int  # permutations used (0 when exact)


@dataclass(frozen=True)
class CoreCheckResult:
    """The most unhappy coalition found against a split."""

    coalition: frozenset[str]  # empty when no coalition has a positive excess
    excess: float  # sum of its charges - its cost; > 0 blocks; 0.0 when none positive
    checked: int  # distinct coalitions compared
    exhaustive: bool


def shapley_exact(players: Sequence[str], costs: CoalitionCosts) -> ShapleyResult:
    """Exact Shapley value over all ``2**n`` coalitions.

    Subsets are bitmasks (bit ``i`` is ``players[i]``) so the weighted sums run in numpy;
    the ``2**n - 1`` cost evaluations dominate anyway.

    Parameters
    ----------
    players
        Distinct player ids.
    costs
        The game; every coalition is evaluated once (or read from the cache).

    Returns
    -------
    ShapleyResult
        ``exact=True``, ``ci95=None``, ``permutations=0``.

    Raises
    ------
    ValueError
        Duplicate players, or more than ``2 * MAX_EXACT_PLAYERS`` of them (the
        enumeration would not finish).
    """
    n = _check_players(players)
    limit = 2 * MAX_EXACT_PLAYERS
    if n > limit:
        raise ValueError(f"exact Shapley is limited to {limit} players, got {n}")
    if n == 0:
        return ShapleyResult({}, None, True, 0)
    subsets = _subsets(players)
    values = np.fromiter((costs(s) for s in subsets), dtype=np.float64, count=len(subsets))
    sizes = _popcounts(n)
    # |S|! (n - |S| - 1)! / n! == 1 / (n * C(n - 1, |S|))
    weight = np.array([1.0 / (n * math.comb(n - 1, s)) for s in range(n)])
    masks = np.arange(len(subsets), dtype=np.int64)
    charges: dict[str, float] = {}
    for i, player in enumerate(players):
        bit = 1 << i
        without = masks[(masks & bit) == 0]
        gains = values[without | bit] - values[without]
        charges[player] = float(np.dot(weight[sizes[without]], gains))
    return ShapleyResult(charges, None, True, 0)


def shapley_sampled(
    players: Sequence[str],
    costs: CoalitionCosts,
    permutations: int,
    seed: int,
    *,
    deadline: float | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ShapleyResult:
    """Monte-Carlo Shapley value over seeded random permutations, each with its reverse.

    A reversed permutation's marginals are negatively correlated with the original's,
    which cuts the variance; so each pair is averaged first and the pairs are the
    independent draws behind ``ci95``. Every permutation's marginals telescope to
    ``cost(N)``, so the average is efficient; the last float rounding is shifted away.

    Parameters
    ----------
    players
        Distinct player ids.
    costs
        The game; prefixes of the permutations are evaluated (once each).
    permutations
        Permutations to use, rounded up to an even number (whole antithetic pairs).
    seed
        Seed of ``numpy.random.default_rng``; the same seed gives the same result.
    deadline
        A ``time.perf_counter()`` value: no new pair starts after it. One pair always runs.
    should_stop
        Checked before each pair after the first, like ``deadline``.

    Returns
    -------
    ShapleyResult
        ``exact=False``, the permutations actually used, and per player the 95 %
        half-width ``1.96 * std error`` (``inf`` after a single pair: no variance).

    Raises
    ------
    ValueError
        Duplicate players or ``permutations < 1``.
    """
    n = _check_players(players)
    if permutations < 1:
        raise ValueError(f"permutations must be at least 1, got {permutations}")
    if n == 0:
        return ShapleyResult({}, {}, False, 0)
    rng = np.random.default_rng(seed)
    pair_means: list[npt.NDArray[np.float64]] = []
    for _ in range((permutations + 1) // 2):
        if pair_means and (
            (deadline is not None and time.perf_counter() >= deadline)
            or (should_stop is not None and should_stop())
        ):
            break
        order = rng.permutation(n)
        forward = _marginals(players, order, costs)
        backward = _marginals(players, order[::-1], costs)
        pair_means.append((forward + backward) / 2.0)
    draws = np.array(pair_means)
    pairs = len(pair_means)
    estimate = draws.mean(axis=0)
    residual = costs(frozenset(players)) - math.fsum(estimate)
    estimate += residual / n
    if pairs > 1:
        half_width = _Z95 * draws.std(axis=0, ddof=1) / math.sqrt(pairs)
    else:
        half_width = np.full(n, math.inf)
    charges = {p: float(estimate[i]) for i, p in enumerate(players)}
    ci95 = {p: float(half_width[i]) for i, p in enumerate(players)}
    return ShapleyResult(charges, ci95, False, 2 * pairs)


def shapley(
    players: Sequence[str],
    costs: CoalitionCosts,
    *,
    permutations: int,
    seed: int,
    exact_max: int = MAX_EXACT_PLAYERS,
    deadline: float | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ShapleyResult:
    """Shapley value: exact up to ``exact_max`` players, sampled above.

    The exact path evaluates every coalition and ignores ``deadline`` and
    ``should_stop``: a partial enumeration is no estimate at all.

    Parameters
    ----------
    players, costs
        As for :func:`shapley_exact`.
    permutations, seed, deadline, should_stop
        As for :func:`shapley_sampled`, used above ``exact_max`` players.
    exact_max
        Largest player count computed exactly.

    Returns
    -------
    ShapleyResult
        Exact or sampled; a single player is charged its own cost.
    """
    if len(players) <= exact_max:
        return shapley_exact(players, costs)
    return shapley_sampled(
        players, costs, permutations, seed, deadline=deadline, should_stop=should_stop
    )


def proportional(weights: Mapping[str, float], total: float) -> dict[str, float]:
    """Split ``total`` in proportion to ``weights`` (the stand-alone costs).

    Parameters
    ----------
    weights
        Nonnegative weight per player.
    total
        Amount to split.

    Returns
    -------
    dict[str, float]
        Share per player, summing to ``total``; equal shares when every weight is 0.

    Raises
    ------
    ValueError
        A negative or non-finite weight, or a nonzero total and no players.
    """
    for player, w in weights.items():
        if not math.isfinite(w) or w < 0:
            raise ValueError(f"weight of {player!r} must be finite and >= 0, got {w}")
    if not weights:
        if total != 0:
            raise ValueError(f"no players to split {total} among")
        return {}
    mass = math.fsum(weights.values())
    if mass == 0:
        return {p: total / len(weights) for p in weights}
    return {p: total * w / mass for p, w in weights.items()}


def core_check(
    players: Sequence[str],
    costs: CoalitionCosts,
    charges: Mapping[str, float],
    *,
    exhaustive_max: int = MAX_EXACT_PLAYERS,
    deadline: float | None = None,
    tolerance: float = 0.5,
) -> CoreCheckResult:
    """Find the proper coalition that would gain most by leaving the split.

    The excess of ``S`` is ``sum of its charges - cost(S)``; ``S`` blocks when it is
    positive. Up to ``exhaustive_max`` players every proper nonempty coalition is
    compared, cached ones first. Above, the cached ones are compared and a local search
    (add or remove one player while the excess grows) climbs from the
    ``LOCAL_SEARCH_STARTS`` worst. Past ``deadline`` only cached costs are used, and an
    enumeration cut short is reported as not exhaustive.

    Parameters
    ----------
    players
        Distinct player ids, the grand coalition.
    costs
        The game.
    charges
        Charge per player (extra keys are ignored).
    exhaustive_max
        Largest player count enumerated completely.
    deadline
        A ``time.perf_counter()`` value after which no new cost is evaluated.
    tolerance
        Excesses below it (half a cent by default) count as 0.

    Returns
    -------
    CoreCheckResult
        The most unhappy coalition and its excess, or an empty coalition and 0.0.

    Raises
    ------
    ValueError
        Duplicate players or a player without a charge.
    """
    n = _check_players(players)
    missing = [p for p in players if p not in charges]
    if missing:
        raise ValueError(f"no charge for {', '.join(map(repr, missing))}")
    search = _CoreSearch(players, costs, charges, deadline)
    if n <= exhaustive_max:
        exhaustive = search.enumerate()
    else:
        search.climb()
        exhaustive = False
    best, excess = search.best()
    if excess < tolerance:
        return CoreCheckResult(_EMPTY, 0.0, len(search.excess), exhaustive)
    return CoreCheckResult(best, excess, len(search.excess), exhaustive)


def integer_split(charges: Mapping[str, float], total: int) -> dict[str, int]:
    """Whole cents summing exactly to ``total``, by largest remainder.

    Each player gets ``floor(charge)``; the cents still missing go to the largest
    fractional parts (rounded to 1e-9 so float noise does not break ties), ties to the
    smaller player id. Should the charges not sum to ``total``, the difference is first
    spread evenly in whole cents; negative charges work the same way.

    Parameters
    ----------
    charges
        Charge per player, in cents.
    total
        Whole cents to hand out.

    Returns
    -------
    dict[str, int]
        Cents per player, in the order of ``charges``.

    Raises
    ------
    ValueError
        A non-finite charge, or a nonzero total and no players.
    """
    for player, c in charges.items():
        if not math.isfinite(c):
            raise ValueError(f"charge of {player!r} must be finite, got {c}")
    if not charges:
        if total != 0:
            raise ValueError(f"no players to split {total} among")
        return {}
    cents = {p: math.floor(c) for p, c in charges.items()}
    each, extra = divmod(total - sum(cents.values()), len(cents))
    ranked = sorted(charges, key=lambda p: (-round(charges[p] - cents[p], 9), p))
    lucky = set(ranked[:extra])
    return {p: cents[p] + each + int(p in lucky) for p in charges}


class _CoreSearch:
    """Excesses compared so far, and the two ways of looking for more."""

    def __init__(
        self,
        players: Sequence[str],
        costs: CoalitionCosts,
        charges: Mapping[str, float],
        deadline: float | None,
    ) -> None:
        self.players = players
        self.grand = frozenset(players)
        self.costs = costs
        self.charges = charges
        self.deadline = deadline
        self.excess: dict[frozenset[str], float] = {}

    def get(self, coalition: frozenset[str]) -> float | None:
        """Excess of a coalition; None when its cost is unknown and time is up."""
        known = self.excess.get(coalition)
        if known is not None:
            return known
        if coalition not in self.costs and self._late():
            return None
        value = math.fsum(self.charges[p] for p in coalition) - self.costs(coalition)
        self.excess[coalition] = value
        return value

    def enumerate(self) -> bool:
        """Every proper nonempty coalition, cached first; False when cut short."""
        proper = _subsets(self.players)[1:-1]
        complete = True
        for coalition in sorted(proper, key=lambda s: s not in self.costs):  # stable
            if self.get(coalition) is None:
                complete = False
        return complete

    def climb(self) -> None:
        """Cached coalitions, then steepest ascent from the worst few."""
        for coalition, _ in self.costs.items():
            if coalition < self.grand:
                self.get(coalition)
        starts = sorted(self.excess, key=self._rank)[:LOCAL_SEARCH_STARTS]
        if not starts:
            starts = [frozenset({p}) for p in self.players if self.get(frozenset({p})) is not None]
        for start in starts:
            current, value = start, self.excess[start]
            while True:
                step, step_value = None, value
                for neighbour in self._neighbours(current):
                    v = self.get(neighbour)
                    if v is not None and v > step_value:
                        step, step_value = neighbour, v
                if step is None:
                    break
                current, value = step, step_value

    def best(self) -> tuple[frozenset[str], float]:
        if not self.excess:
            return _EMPTY, 0.0
        coalition = min(self.excess, key=self._rank)
        return coalition, self.excess[coalition]

    def _neighbours(self, coalition: frozenset[str]) -> Iterator[frozenset[str]]:
        for p in self.players:
            neighbour = coalition - {p} if p in coalition else coalition | {p}
            if neighbour and neighbour != self.grand:
                yield neighbour

    def _rank(self, coalition: frozenset[str]) -> tuple[float, int, list[str]]:
        """Most unhappy first; ties to the smaller, then alphabetically first coalition."""
        return -self.excess[coalition], len(coalition), sorted(coalition)

    def _late(self) -> bool:
        return self.deadline is not None and time.perf_counter() >= self.deadline


def _check_players(players: Sequence[str]) -> int:
    if len(set(players)) != len(players):
        raise ValueError(f"players must be distinct, got {list(players)}")
    return len(players)


def _finite(coalition: frozenset[str], value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"cost of {sorted(coalition)} must be finite, got {value}")
    return value


def _subsets(players: Sequence[str]) -> list[frozenset[str]]:
    """All subsets, indexed by bitmask: bit ``i`` of the index is ``players[i]``."""
    subsets: list[frozenset[str]] = [_EMPTY]
    for p in players:
        subsets += [s | {p} for s in subsets]
    return subsets


def _popcounts(n: int) -> npt.NDArray[np.int64]:
    """Subset sizes, indexed like :func:`_subsets`."""
    sizes = np.zeros(1, dtype=np.int64)
    for _ in range(n):
        sizes = np.concatenate([sizes, sizes + 1])
    return sizes


def _marginals(
    players: Sequence[str], order: npt.NDArray[np.int64], costs: CoalitionCosts
) -> npt.NDArray[np.float64]:
    """Each player's marginal cost joining the players before it in ``order``."""
    gains = np.empty(len(players), dtype=np.float64)
    prefix = _EMPTY
    before = 0.0
    for i in order:
        prefix = prefix | {players[i]}
        after = costs(prefix)
        gains[i] = after - before
        before = after
    return gains
