"""Autojump: the unchanged reactor runs minutes of timers in no time, and still waits
for real when there is nothing to jump to."""

import doctest
import inspect
import socket

import pytest

import coro.testing.clock
from coro.io import multiplexer
from coro.io.multiplexer import READ, Multiplexer
from coro.reactor.loop import Reactor
from coro.testing.clock import AutojumpMultiplexer, autojump


class Recording:
    """A multiplexer that records the timeout of each poll, then polls the real one."""

    def __init__(self, real):
        self.real, self.timeouts = real, []
        self.name = real.name

    def poll(self, timeout=None):
        self.timeouts.append(timeout)
        return self.real.poll(timeout)

    def __getattr__(self, name):
        return getattr(self.real, name)

    def __len__(self):
        return len(self.real)

    def __contains__(self, fd):
        return fd in self.real


@pytest.fixture
def reactor(clock, errors):
    """A reactor whose clock jumps to its next timer (in this file, in place of chapter
    8's fixture, whose reactors wait in real time)."""
    with Reactor(autojump(clock), clock=clock, report_error=errors.report) as reactor:
        yield reactor
        assert reactor.pending_timers() == 0, "a timer was left pending"


def test_a_chain_of_timers_over_ten_minutes_runs_in_order(reactor, clock):
    trace = []

    def step(n):
        trace.append((n, clock.now()))
        if n < 3:
            reactor.call_later(150, step, n + 1)
        else:
            reactor.stop()

    reactor.call_later(150, step, 0)
    reactor.call_later(300, lambda: trace.append(("midway", clock.now())))
    reactor.call_later(0.25, lambda: trace.append(("early", clock.now())))
    reactor.run()
    # "midway" and step 1 are both due at 300: the one set first fires first.
    assert trace == [("early", 0.25), (0, 150.0), ("midway", 300.0), (1, 300.0),
                     (2, 450.0), (3, 600.0)]
    assert clock.now() == 600.0


def test_a_timer_that_is_cancelled_is_not_jumped_to(reactor, clock):
    trace = []
    never = reactor.call_later(50, trace.append, "never")
    reactor.call_later(10, never.cancel)
    reactor.call_later(100, reactor.stop)
    reactor.run()
    assert trace == [] and clock.now() == 100.0


def test_a_socket_written_by_a_timer_is_read_before_the_next_jump(reactor, clock):
    trace = []
    left, right = socket.socketpair()
    with left, right:
        def read():
            trace.append(("read", right.recv(100), clock.now()))

        def write(data):
            trace.append(("write", data, clock.now()))
            left.send(data)

        reactor.add_reader(right, read)
        reactor.call_later(10, write, b"first")
        reactor.call_later(20, write, b"second")
        reactor.call_later(30, reactor.stop)
        reactor.run()
        reactor.remove_reader(right)
    # Each read comes at the time of its write: the clock does not jump past bytes that
    # are there to be read.
    assert trace == [("write", b"first", 10.0), ("read", b"first", 10.0),
                     ("write", b"second", 20.0), ("read", b"second", 20.0)]


def test_with_no_timer_the_poll_is_a_real_one_and_time_stands_still(clock, errors):
    left, right = socket.socketpair()
    recording = Recording(multiplexer.create())
    trace = []
    with left, right, Reactor(autojump(clock, recording), clock=clock,
                              report_error=errors.report) as reactor:
        def read():
            trace.append((right.recv(100), clock.now()))
            reactor.remove_reader(right)
            reactor.stop()

        left.send(b"already here")
        reactor.add_reader(right, read)
        reactor.run()
        assert recording.timeouts == [None]  # one real wait: there is nothing to jump to
    assert trace == [(b"already here", 0.0)]
    assert clock.now() == 0.0


def test_what_is_ready_comes_back_and_the_clock_stays(clock):
    left, right = socket.socketpair()
    with left, right, autojump(clock, multiplexer.create("poll")) as mux:
        mux.register(right, READ)
        assert right in mux and len(mux) == 1
        assert mux.poll(5.0) == [] and clock.now() == 5.0  # nothing ready: a jump
        left.send(b"x")
        assert mux.poll(5.0) == [(right.fileno(), READ)] and clock.now() == 5.0
        assert mux.poll(0) == [(right.fileno(), READ)] and clock.now() == 5.0
        mux.unregister(right)
        assert mux.poll(2.5) == [] and clock.now() == 7.5  # nothing watched: still a jump
        with pytest.raises(ValueError, match="nothing to wait for"):
            mux.poll(None)  # and no timer: the wrapped multiplexer says what is wrong
        assert "poll" in mux.name and "7.5" in repr(mux)


def test_the_wrapper_has_the_public_methods_of_a_multiplexer():
    def public(cls):  # its own and its bases' (WrappedMultiplexer's) methods
        return {name: inspect.signature(member)
                for name, member in inspect.getmembers(cls, inspect.isfunction)
                if not name.startswith("_")}

    mine = public(AutojumpMultiplexer)
    for name, signature in public(Multiplexer).items():
        assert mine.get(name) == signature, name
    for name in ("__len__", "__contains__", "__enter__", "__exit__"):
        assert getattr(AutojumpMultiplexer, name) is not getattr(object, name, None), name


def test_the_fake_clock_is_the_one_of_the_io_layer():
    from coro.io.clock import FakeClock

    assert coro.testing.clock.FakeClock is FakeClock


def test_the_example_in_the_docstring_runs():
    failures, tried = doctest.testmod(coro.testing.clock)
    assert tried and not failures
