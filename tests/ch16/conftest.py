"""Chapter 16's fixture: a kernel on a fake clock whose reported errors are checked."""

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
