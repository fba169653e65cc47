"""The live progress line of a local solve, so a long solve shows it is getting
somewhere."""

from __future__ import annotations

import threading
import time

from rich.live import Live
from rich.text import Text

from matcher.cli.output import err, money
from matcher.domain.params import Progress


class LiveProgress:
    """A live line (incumbent, bound, gap, elapsed) shown once a solve passes 1 s."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and err.is_terminal
        self.latest: Progress | None = None
        self.start = time.perf_counter()
        self.live: Live | None = None
        self.lock = threading.Lock()
        self.timer = threading.Timer(1.0, self._show)

    def __enter__(self) -> LiveProgress:
        if self.enabled:
            self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.cancel()
        with self.lock:
            if self.live is not None:
                self.live.stop()
                self.live = None

    def _show(self) -> None:
        with self.lock:
            self.live = Live(self._render(), console=err, refresh_per_second=4, transient=True)
            self.live.start()
            self.live.get_renderable = self._render  # type: ignore[method-assign]

    def _render(self) -> Text:
        elapsed = time.perf_counter() - self.start
        p = self.latest
        if p is None:
            return Text(f"solving... {elapsed:5.1f}s  (no incumbent yet)")
        gap = f"{100 * p.gap:.2f}%" if p.gap is not None else "-"
        bound = money(p.best_bound) if p.best_bound is not None else "-"
        obj = money(p.objective) if p.objective is not None else "-"
        return Text(
            f"solving [{p.solver}] {elapsed:5.1f}s  incumbent {obj}  bound {bound}  gap {gap}"
        )

    def __call__(self, progress: Progress) -> None:
        self.latest = progress
