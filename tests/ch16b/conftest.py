"""Chapter 16b's fixtures: a kernel on a fake clock whose reported errors are checked,
and a log of what the tasks did, and when."""

import pytest

from coro.kernel.loop import Kernel


@pytest.fixture
def kernel(clock, errors):
    """A kernel on the ``clock`` fixture's FakeClock: its sleeps and timeouts take no time.

    An error it reports (a failed task nobody joined) fails the test unless claimed.
    """
    with Kernel(clock=clock, report_error=errors.report) as kernel:
        yield kernel
        assert kernel.pending_timers() == 0, "a timer was left pending"


@pytest.fixture
def log(clock):
    """``log(*what)`` records ``(clock time, *what)``; ``log.trace`` is the list so far."""
    trace = []

    def record(*what):
        trace.append((clock.now(), *what))

    record.trace = trace
    return record
