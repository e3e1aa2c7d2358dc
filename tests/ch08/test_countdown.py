"""Countdowns: event handlers called by timers, interleaved in time order."""

import io

from coro.countdown import Countdown
from tests.support import run_module


def test_two_countdowns_interleave_by_deadline(fake_reactor, clock):
    out = io.StringIO()
    finished = []
    for name, start, interval in (("a", 3, 1.0), ("b", 2, 2.0)):
        countdown = Countdown(fake_reactor, name, start, interval, on_done=finished.append,
                              out=out)
        fake_reactor.call_soon(countdown.tick)
    while len(finished) < 2:
        fake_reactor.run_once(0)
        clock.advance(0.5)
    assert out.getvalue().splitlines() == [
        " 0.0s  a: 3...",
        " 0.0s  b: 2...",
        " 1.0s  a: 2...",
        " 2.0s  b: 1...",  # set at 0.0, before a's timer for 2.0 was set at 1.0
        " 2.0s  a: 1...",
        " 3.0s  a: liftoff!",
        " 4.0s  b: liftoff!",
    ]
    assert [c.name for c in finished] == ["a", "b"]
    assert fake_reactor.pending_timers() == 0


def test_the_command_counts_down_and_stops_the_reactor():
    # Countdown 2 sets its liftoff's timer only once its "1..." has run, which is due
    # two ticks after countdown 1's liftoff: countdown 2 lifts off last however late
    # the process runs. (With liftoffs due at the same moment, a late process could
    # take either first: the order of timers by deadline is the fake clock's test.)
    result = run_module("coro.countdown", "--interval", "0.01", "1", "3")
    assert result.returncode == 0, result.stderr
    said = [line.split("  ", 1)[1] for line in result.stdout.splitlines()]
    assert sorted(said) == sorted(["countdown 1: 1...", "countdown 1: liftoff!",
                                   "countdown 2: 3...", "countdown 2: 2...",
                                   "countdown 2: 1...", "countdown 2: liftoff!"])
    assert said[-1] == "countdown 2: liftoff!"
