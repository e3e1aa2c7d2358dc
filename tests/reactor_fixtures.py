"""The reactor tests' own fixture: the plugin's ``reactor``, on every backend.

The plugin (:mod:`coro.testing.plugin`) gives a test one reactor, on this system's best
backend. The book's tests run each reactor test on select, poll and epoll alike, and
with the signal handlers a program's reactor has.
"""

import pytest

from coro.io import multiplexer
from coro.reactor.loop import Reactor
from coro.testing.plugin import assert_nothing_left_on


@pytest.fixture(params=list(multiplexer.BACKENDS))
def reactor(request, errors):
    """A reactor with a real clock on each backend, closed after the test."""
    with Reactor(multiplexer.create(request.param), report_error=errors.report) as reactor:
        yield reactor
        assert_nothing_left_on(reactor)


def run_until(reactor, condition, *, limit=20.0):
    """Run ticks until ``condition()`` holds. ``limit`` seconds is only a watchdog
    against a hanging test, never a way to wait for something."""
    deadline = reactor.time() + limit
    while not condition():
        if reactor.time() > deadline:
            raise AssertionError(f"not true after {limit}s: {condition.__name__}")
        reactor.run_once(timeout=0.5)
