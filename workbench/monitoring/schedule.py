"""The schedule of ``monitor watch``: ticks at fixed UTC multiples of a period.

As procrastinate's ``periodic.py``: the scheduler takes the time as an argument (tests never
sleep), a tick is named by its timestamp so a repeated tick is harmless (``monitor_checks``
has a unique (model, tick)), and after downtime only the newest missed tick runs (a maximum
catch-up of one), since each check judges every new window anyway.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..errors import InputError

__all__ = ["Schedule", "parse_period", "run_schedule"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_period(text: str) -> timedelta:
    """``30s``, ``10m``, ``1h``, ``1d`` (or a number of seconds) as a timedelta."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text or "")
    if not match or float(match.group(1)) <= 0:
        raise InputError(f"not a period: {text!r}", hint="e.g. 30s, 10m, 1h, 1d")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2) or "s"])


@dataclass(frozen=True)
class Schedule:
    """Ticks at every multiple of ``period`` since the epoch (UTC)."""

    period: timedelta

    def tick_at(self, now: datetime) -> datetime:
        """The newest tick at or before ``now``."""
        if now.tzinfo is None:
            raise InputError("the schedule needs a timezone-aware time")
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        step = self.period.total_seconds()
        count = int((now - epoch).total_seconds() // step)
        return epoch + timedelta(seconds=count * step)

    def next_after(self, now: datetime) -> datetime:
        """The first tick after ``now``."""
        return self.tick_at(now) + self.period

    @staticmethod
    def key(tick: datetime) -> str:
        """A tick's name, unique per tick (the idempotency key)."""
        return tick.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_schedule(
    schedule: Schedule,
    work: Callable[[str], object],
    *,
    clock: Callable[[], datetime],
    wait: Callable[[float], bool],
    max_ticks: int | None = None,
) -> int:
    """Run ``work(tick_key)`` at once and then at every tick until ``wait`` returns True
    (asked to stop) or ``max_ticks`` ran; returns the ticks run.

    ``wait(seconds)`` sleeps up to ``seconds`` and says whether to stop (like ``Event.wait``);
    tests pass a fake clock and a ``wait`` that advances it.
    """
    ran = 0
    last: str | None = None
    while max_ticks is None or ran < max_ticks:
        now = clock()
        key = Schedule.key(schedule.tick_at(now))
        if key != last:
            work(key)
            last = key
            ran += 1
            if max_ticks is not None and ran >= max_ticks:
                break
        delay = (schedule.next_after(clock()) - clock()).total_seconds()
        if wait(max(delay, 0.0)):
            break
    return ran
