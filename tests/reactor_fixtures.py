"""Fixtures for the reactor tests of chapters 8 and 9: reactors whose errors are checked."""

import pytest

from coro.io import multiplexer
from coro.io.clock import FakeClock
from coro.reactor.loop import Reactor


class Errors(list):
    """The errors a reactor reported, as ``(exception, context)`` pairs."""

    def report(self, exc, context):
        self.append((exc, context))

    def take(self):
        taken = list(self)
        self.clear()
        return taken


@pytest.fixture
def errors():
    """The reactor's reported errors; a test that leaves any unclaimed fails."""
    found = Errors()
    yield found
    assert not found, f"errors reported that the test did not expect: {found}"


@pytest.fixture(params=list(multiplexer.BACKENDS))
def reactor(request, errors):
    """A reactor with a real clock on each backend, closed after the test."""
    with Reactor(multiplexer.create(request.param), report_error=errors.report) as reactor:
        yield reactor
        assert reactor.pending_timers() == 0, "a timer was left pending"


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def fake_reactor(clock, errors):
    """A reactor whose time only moves when the test says so."""
    with Reactor(clock=clock, report_error=errors.report) as reactor:
        yield reactor
        assert reactor.pending_timers() == 0, "a timer was left pending"


def run_until(reactor, condition, *, limit=20.0):
    """Run ticks until ``condition()`` holds. ``limit`` seconds is only a watchdog
    against a hanging test, never a way to wait for something."""
    deadline = reactor.time() + limit
    while not condition():
        if reactor.time() > deadline:
            raise AssertionError(f"not true after {limit}s: {condition.__name__}")
        reactor.run_once(timeout=0.5)
