"""Time as the code that waits on it reads it: the system's, or one a test moves by hand.

Rate limits, throttles and presence expiries depend on time passing. They take a `Clock`
so that their tests can move time forward instead of sleeping.
"""

from __future__ import annotations

import time
from typing import Protocol

from chatserver.domain.models import now_ms


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, never going back: for intervals."""

    def now_ms(self) -> int:
        """Wall-clock milliseconds since the epoch: for times other nodes compare."""


class SystemClock:
    """The machine's clocks."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now_ms(self) -> int:
        return now_ms()


SYSTEM_CLOCK = SystemClock()


class ManualClock:
    """Stands still until `advance` is called; both readings move together."""

    def __init__(self, start_ms: int = 1_767_225_600_000) -> None:
        self._start_ms = start_ms
        self._elapsed = 0.0

    def monotonic(self) -> float:
        return 1000.0 + self._elapsed

    def now_ms(self) -> int:
        return self._start_ms + round(self._elapsed * 1000)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go back")
        self._elapsed += seconds
