"""Log lines that stay few when the same thing goes wrong many times.

A dependency that is down fails every request that needs it, and an attacker can make
the same error happen thousands of times a second. One line per occurrence would fill
the disk and bury the first, useful line; these helpers write the first occurrence in
full and then a count.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

MAX_KINDS = 1000
"""Kinds tracked at once by one `Repeats`; past that, new kinds are only counted."""
SUMMARY = "%s (and %d more like it in the last %g s)"


def one_line(error: BaseException | str) -> str:
    """An exception as one short line: its type and the first line of its message."""
    if isinstance(error, str):
        return error
    text = str(error).strip().splitlines()
    name = type(error).__name__
    return f"{name}: {text[0][:200]}" if text else name


class Outage:
    """One dependency's availability, told in two lines: when it went away, and when it
    came back after how long and how many operations failed meanwhile."""

    __slots__ = ("_failures", "_log", "_since", "_what")

    def __init__(self, what: str, logger: logging.Logger) -> None:
        self._what = what
        self._log = logger
        self._since: float | None = None
        self._failures = 0

    @property
    def down(self) -> bool:
        return self._since is not None

    def failed(self, error: BaseException | str) -> None:
        """An operation failed; only the first failure of an outage is logged."""
        self._failures += 1
        if self._since is None:
            self._since = time.monotonic()
            self._log.warning("%s unavailable: %s", self._what, one_line(error))

    def succeeded(self) -> None:
        """An operation worked: ends the outage, if there was one (cheap otherwise)."""
        if self._since is None:
            return
        lasted = time.monotonic() - self._since
        self._log.warning(
            "%s available again after %.1f s (%d operations failed meanwhile)",
            self._what,
            lasted,
            self._failures,
        )
        self._since = None
        self._failures = 0


@dataclass(slots=True)
class _Seen:
    level: int
    message: str
    count: int = 0


class Repeats:
    """Logs the first event of a kind in full (traceback included), then, once per
    `window` seconds, one line saying how many more of that kind there were."""

    def __init__(self, logger: logging.Logger, window: float = 60.0) -> None:
        self._log = logger
        self._window = window
        self._seen: dict[Hashable, _Seen] = {}
        self._untracked = 0

    def log(
        self,
        kind: Hashable,
        level: int,
        message: str,
        *args: Any,
        exc_info: BaseException | None = None,
    ) -> None:
        if self.first(kind, level, message % args if args else message):
            self._log.log(level, message, *args, exc_info=exc_info)

    def first(self, kind: Hashable, level: int, text: str) -> bool:
        """True for the first event of a kind in a window (to be logged by the caller);
        False for the others, which are counted instead."""
        seen = self._seen.get(kind)
        if seen is not None:
            seen.count += 1
            return False
        if len(self._seen) >= MAX_KINDS:
            self._untracked += 1
            return False
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop to summarise on: every event gets its line
            return True
        self._seen[kind] = _Seen(level, text)
        loop.call_later(self._window, self._summarise, kind)
        return True

    def _summarise(self, kind: Hashable) -> None:
        seen = self._seen.pop(kind, None)
        if seen is not None and seen.count:
            self._log.log(seen.level, SUMMARY, seen.message, seen.count, self._window)
        if not self._seen and self._untracked:
            self._log.warning("%d more events of other kinds were not logged", self._untracked)
            self._untracked = 0


CLIENT_FAULTS = frozenset({"Invalid UTF-8 sequence received from client."})
"""uvicorn messages it logs with a traceback although a client caused them (the socket is
closed with 1007 as RFC 6455 requires; nothing on the server went wrong)."""


class RepeatFilter(logging.Filter):
    """`Repeats` for a logger whose calls are not ours (uvicorn's): warnings and errors
    pass once per kind (message and exception type) and window, then are counted.

    uvicorn logs each malformed request, and each text frame that is not UTF-8 with a
    traceback; without this, a client sending them in a loop fills the disk.
    """

    def __init__(self, logger: logging.Logger, window: float = 60.0) -> None:
        super().__init__()
        self._repeats = Repeats(logger, window)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg in CLIENT_FAULTS:
            # The client's fault, not ours: one warning line, no traceback.
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        if record.levelno < logging.WARNING or record.msg is SUMMARY:
            return True
        kind = (record.msg, record.exc_info[0] if record.exc_info else None)
        return self._repeats.first(kind, record.levelno, record.getMessage())
