"""Clocks: where the reactor gets the time.

Timers need a clock that never goes backwards, so the reactor reads
:func:`time.monotonic`, not the time of day, which an administrator or NTP may set
back. The clock is passed in, never read from a global: a test gives the reactor a
:class:`FakeClock` and moves time itself, so a test of a 60-second timeout takes no
time at all (Twisted's ``task.Clock`` and trio's ``MockClock`` do the same).
"""

import math
import time


class MonotonicClock:
    """Real time, in seconds, from an arbitrary starting point."""

    def now(self):
        """The current time in seconds."""
        return time.monotonic()


class FakeClock:
    """A clock that moves only when told to.

    Its time never goes backwards: :meth:`advance` refuses a negative step.
    """

    def __init__(self, start=0.0):
        self._now = float(start)

    def now(self):
        """The current (fake) time in seconds."""
        return self._now

    def advance(self, seconds):
        """Move time forward by ``seconds``."""
        if not seconds >= 0 or math.isinf(seconds):
            raise ValueError(f"a clock can only move forward, by a finite step, not {seconds!r}")
        self._now += seconds
