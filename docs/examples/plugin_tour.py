"""Chapter 17's tour of the pytest plugin: four tests, two of which fail on purpose.

It sits with the book's pages, not its tests, so the suite never collects it; the
chapter runs it by name: ``python -m pytest docs/examples/plugin_tour.py``.
"""

import pytest

from coro.deferred.deferred import Deferred
from coro.kernel.traps import sleep


def test_a_deferred_is_waited_for(reactor):
    d = Deferred()
    reactor.call_later(0.01, d.callback, "fired")
    return d  # the plugin runs the reactor until it fires


async def test_ten_minutes_on_the_kernel_take_no_time(kernel, clock):
    await sleep(600)  # the kernel's clock is the fake one: it jumps
    assert clock.now() == 600


def test_a_timer_left_behind(reactor):
    reactor.call_later(60, print, "too late")


@pytest.mark.coro_timeout(0.5)
def test_a_deferred_that_never_fires(reactor):
    return Deferred()
