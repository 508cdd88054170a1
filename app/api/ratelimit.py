"""Per-key rate limits: requests and summed query cost per minute, in this process.

Fixed one-minute windows keep the state to two counters a key. With N processes or
replicas a key gets up to N times the limit; docs/deploy.md says how to size it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_SECONDS = 60.0


@dataclass
class _Window:
    started: float
    requests: int = 0
    cost: int = 0


class RateLimiter:
    def __init__(
        self,
        limits: dict[str, tuple[int, int]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self.clock = clock
        self._windows: dict[int, _Window] = {}

    def admit(self, key_id: int, role: str, cost: int) -> float | None:
        """Counts one request of `cost`; returns seconds to wait when over a limit.
        A role without limits in the settings is not limited."""
        if role not in self.limits:
            return None
        max_requests, max_cost = self.limits[role]
        now = self.clock()
        window = self._windows.get(key_id)
        if window is None or now - window.started >= WINDOW_SECONDS:
            window = self._windows[key_id] = _Window(started=now)
        if window.requests + 1 > max_requests or window.cost + cost > max_cost:
            return max(1.0, math.ceil(WINDOW_SECONDS - (now - window.started)))
        window.requests += 1
        window.cost += cost
        return None
