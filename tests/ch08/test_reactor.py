"""The reactor's rules, each told as a trace of events."""

import errno
import math
import signal
import socket
import threading

import pytest
from hypothesis import given, settings, strategies as st

from coro.io import multiplexer
from coro.io.clock import FakeClock, MonotonicClock
from coro.io.self_pipe import SelfPipe
from coro.reactor.loop import Reactor


def test_the_reactor_waits_in_the_multiplexer_it_was_given():
    for name in multiplexer.BACKENDS:
        given = multiplexer.create(name)
        with Reactor(given) as reactor:
            left, right = socket.socketpair()
            with left, right:
                reactor.add_reader(left, print)
                assert left.fileno() in given  # beside the reactor's own wake-up socket
                assert len(given) == 2
                reactor.remove_reader(left)


def test_call_soon_runs_in_order_and_later_calls_wait_for_the_next_tick(fake_reactor):
    trace = []

    def first():
        trace.append("first")
        fake_reactor.call_soon(trace.append, "scheduled by first")

    fake_reactor.call_soon(first)
    fake_reactor.call_soon(trace.append, "second")
    fake_reactor.run_once(0)
    assert trace == ["first", "second"]
    fake_reactor.run_once(0)
    assert trace == ["first", "second", "scheduled by first"]


def test_timers_fire_by_deadline_and_equal_deadlines_in_the_order_set(fake_reactor, clock):
    trace = []
    fake_reactor.call_later(2, trace.append, "b at 2")
    for name in "xyz":
        fake_reactor.call_later(1, trace.append, f"{name} at 1")
    fake_reactor.call_at(0.5, trace.append, "a at 0.5")
    clock.advance(0.9)
    fake_reactor.run_once(0)
    assert trace == ["a at 0.5"]
    clock.advance(5)
    fake_reactor.run_once(0)
    assert trace == ["a at 0.5", "x at 1", "y at 1", "z at 1", "b at 2"]


def test_a_timer_cancelled_by_another_due_in_the_same_tick_never_runs(fake_reactor, clock):
    trace = []
    handles = {}

    def canceller():
        trace.append("canceller")
        handles["victim"].cancel()

    fake_reactor.call_later(1, canceller)
    handles["victim"] = fake_reactor.call_later(1, trace.append, "victim")
    clock.advance(1)
    fake_reactor.run_once(0)
    fake_reactor.run_once(0)
    assert trace == ["canceller"]
    assert handles["victim"].cancelled


def test_cancelled_timers_do_not_pile_up(fake_reactor, clock):
    for _ in range(10_000):
        fake_reactor.call_later(60, print).cancel()
    assert fake_reactor.pending_timers() == 0
    assert fake_reactor._timers.held() < 1_000  # the heap was pruned on the way
    fake_reactor.call_later(1, print).cancel()
    clock.advance(100)
    fake_reactor.run_once(0)
    left = fake_reactor.call_later(1, print)
    assert fake_reactor.pending_timers() == 1
    left.cancel()


def test_a_self_rescheduling_zero_delay_timer_does_not_starve_io(reactor):
    trace = []
    left, right = socket.socketpair()

    def spin():
        trace.append("timer")
        if "readable" not in trace:
            reactor.call_later(0, spin)

    def readable():
        trace.append("readable")
        reactor.remove_reader(left)
        reactor.stop()

    with left, right:
        reactor.call_later(0, spin)
        reactor.add_reader(left, readable)
        right.send(b"!")
        reactor.run()
    assert "readable" in trace
    assert trace.count("timer") <= 2


def test_a_reader_that_closes_another_ready_descriptor_causes_no_error(reactor):
    trace = []
    pairs = [socket.socketpair() for _ in range(2)]
    (a, a_peer), (b, b_peer) = pairs

    def close_both(name):
        trace.append(name)
        for sock in (a, b):
            if reactor.remove_reader(sock):
                sock.close()
        reactor.call_soon(reactor.stop)

    reactor.add_reader(a, close_both, "a")
    reactor.add_reader(b, close_both, "b")
    a_peer.send(b"x")
    b_peer.send(b"x")
    reactor.run()
    assert len(trace) == 1  # whichever ran first closed the other, which never ran
    for sock in (a, b, a_peer, b_peer):
        sock.close()


def test_a_failing_callback_is_reported_with_its_traceback_and_the_loop_goes_on(
        fake_reactor, errors):
    trace = []

    def broken():
        raise ZeroDivisionError("boom")

    fake_reactor.call_soon(broken)
    fake_reactor.call_soon(trace.append, "still running")
    fake_reactor.run_once(0)
    assert trace == ["still running"]
    [(exc, context)] = errors.take()
    assert isinstance(exc, ZeroDivisionError)
    assert exc.__traceback__ is not None
    assert "broken" in context


def test_the_default_report_prints_the_traceback(capsys):
    def broken():
        raise ValueError("a bad thing")

    with Reactor(clock=FakeClock()) as reactor:
        reactor.call_soon(broken)
        reactor.run_once(0)
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "ValueError: a bad thing" in err
    assert "broken" in err


def test_another_thread_wakes_a_sleeping_reactor(reactor):
    trace = []

    def from_the_thread():
        trace.append("thread")
        reactor.stop()

    thread = threading.Thread(target=reactor.call_soon_threadsafe, args=(from_the_thread,))
    reactor.call_when_running(thread.start)
    reactor.run()  # nothing else to do: without the wake-up it would sleep for ever
    thread.join()
    assert trace == ["thread"]


def test_a_closed_reactor_refuses_work_from_other_threads(clock):
    reactor = Reactor(clock=clock)
    reactor.close()
    with pytest.raises(RuntimeError, match="closed"):
        reactor.call_soon_threadsafe(print)
    reactor._wake_up()  # what a thread that raced with close() does: no error


def test_a_signal_stops_the_loop_and_the_handlers_are_put_back(reactor):
    before = signal.getsignal(signal.SIGINT)
    trace = []
    reactor.call_soon(signal.raise_signal, signal.SIGINT)
    later = reactor.call_later(30, trace.append, "never")
    reactor.run()
    assert reactor.stopped_by is signal.SIGINT
    assert trace == []
    later.cancel()
    assert signal.getsignal(signal.SIGINT) is before


def test_a_ctrl_c_before_the_handlers_are_in_leaves_a_reactor_that_closes(clock, monkeypatch):
    # SIGINT can land at any bytecode of run(), before its own handler is installed; it is
    # then Python's KeyboardInterrupt, and the program's "with Reactor()" must still close.
    reactor = Reactor(clock=clock)
    events = []

    def interrupted(on_signal):
        events.append("installing")
        raise KeyboardInterrupt

    monkeypatch.setattr(reactor._self_pipe, "catch_stop_signals", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with reactor:
            reactor.run()
    assert events == ["installing"] and reactor._closed  # not "running": close() worked


def test_a_ctrl_c_the_moment_the_handlers_are_in_stops_the_run_and_is_kept(
        fake_reactor, monkeypatch):
    # The handler may run at the very next bytecode after it is installed: what it notes
    # must survive the rest of run()'s start, or the program takes it for a normal end.
    install = fake_reactor._install_signal_handlers

    def install_then_ctrl_c():
        restore = install()
        fake_reactor._on_stop_signal(signal.SIGINT)
        return restore

    monkeypatch.setattr(fake_reactor, "_install_signal_handlers", install_then_ctrl_c)
    fake_reactor.run()
    assert fake_reactor.stopped_by is signal.SIGINT


def test_a_ctrl_c_half_way_through_installing_puts_back_what_was_changed(monkeypatch):
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    pipe = SelfPipe()
    try:
        monkeypatch.setattr(signal, "set_wakeup_fd", interrupted)
        with pytest.raises(KeyboardInterrupt):
            pipe.catch_stop_signals(lambda signum: None)
    finally:
        pipe.close()
    assert {signum: signal.getsignal(signum) for signum in before} == before


def test_a_running_reactor_refuses_to_run_again(fake_reactor, errors):
    fake_reactor.call_soon(fake_reactor.run)
    fake_reactor.call_soon(fake_reactor.stop)
    fake_reactor.run()
    [(exc, _)] = errors.take()
    assert isinstance(exc, RuntimeError)
    assert "already running" in str(exc)


def test_stop_lets_the_current_tick_finish(fake_reactor):
    trace = []
    fake_reactor.call_soon(fake_reactor.stop)
    fake_reactor.call_soon(trace.append, "same tick")
    fake_reactor.call_later(0, trace.append, "timer")
    fake_reactor.run()
    assert trace == ["same tick", "timer"]


def test_stop_before_run_makes_the_next_run_return_after_one_tick(fake_reactor):
    trace = []

    def watchdog(tick):
        # Without the early stop() this run would never end: stop it after a while,
        # and say so.
        if tick == 100:
            trace.append("watchdog")
            fake_reactor.stop()
        else:
            fake_reactor.call_soon(watchdog, tick + 1)

    fake_reactor.call_soon(trace.append, "ready")
    fake_reactor.stop()
    fake_reactor.call_when_running(trace.append, "running")
    fake_reactor.call_when_running(watchdog, 0)
    fake_reactor.run()
    assert trace == ["ready", "running"]
    # The stop was used up: the next run goes on until it is stopped again.
    trace.clear()
    fake_reactor.call_soon(fake_reactor.call_soon, fake_reactor.stop)
    fake_reactor.call_soon(fake_reactor.call_soon, trace.append, "second tick")
    fake_reactor.run()
    assert trace == ["second tick"]


def test_one_reader_per_descriptor(fake_reactor):
    left, right = socket.socketpair()
    with left, right:
        fake_reactor.add_reader(left, print)
        with pytest.raises(ValueError, match="already has a reader"):
            fake_reactor.add_reader(left, print)
        fake_reactor.add_writer(left, print)  # the other direction is free
        assert fake_reactor.remove_writer(left)
        assert fake_reactor.remove_reader(left)
        assert not fake_reactor.remove_reader(left)


def test_closing_closes_what_the_reactor_owns(clock):
    closed = []
    reactor = Reactor(clock=clock)
    reactor.own("resource", lambda: closed.append("resource"))
    reactor.close()
    assert closed == ["resource"]
    with pytest.raises(RuntimeError, match="closed"):
        reactor.run()


def test_an_error_while_closing_is_reported_and_closing_goes_on(clock, errors):
    trace = []
    reactor = Reactor(clock=clock, report_error=errors.report)
    left, right = socket.socketpair()

    def close_pair():
        left.close()
        right.close()
        reactor.call_soon(trace.append, "told")  # as a transport's connection_lost is

    def broken():
        raise OSError(errno.EBADF, "cannot close this")

    reactor.own("the pair", close_pair)
    reactor.own("the broken one", broken)  # closed first: the last owned goes first
    reactor.close()
    [(exc, context)] = errors.take()
    assert isinstance(exc, OSError) and "cannot close this" in str(exc)
    assert "closing 'the broken one'" in context and "broken" in context
    assert left.fileno() == right.fileno() == -1
    assert trace == ["told"]
    with pytest.raises(RuntimeError, match="closed"):
        reactor.call_soon_threadsafe(print)


@pytest.mark.parametrize("where", ["closing a resource", "a callback run while closing"])
def test_ctrl_c_while_closing_propagates_once_the_rest_is_closed(clock, where):
    reactor = Reactor(clock=clock)
    left, right = socket.socketpair()

    def interrupt():
        raise KeyboardInterrupt

    reactor.own(left, left.close)
    reactor.own(right, right.close)
    if where == "closing a resource":
        reactor.own("interrupted", interrupt)  # closed first: the last owned goes first
    else:
        reactor.call_soon(interrupt)
    with pytest.raises(KeyboardInterrupt):
        reactor.close()
    assert left.fileno() == right.fileno() == -1
    # The autouse fixture checks that the self-pipe and the multiplexer are closed too.
    with pytest.raises(RuntimeError, match="closed"):
        reactor.call_soon_threadsafe(print)


def test_a_running_reactor_cannot_be_closed(fake_reactor, errors):
    fake_reactor.call_soon(fake_reactor.close)
    fake_reactor.call_soon(fake_reactor.stop)
    fake_reactor.run()
    [(exc, _)] = errors.take()
    assert "running" in str(exc)


def test_a_delay_that_is_not_a_number_is_refused(fake_reactor):
    with pytest.raises(ValueError, match="delay"):
        fake_reactor.call_later(math.nan, print)


def test_the_clocks_share_an_interface():
    for clock in (MonotonicClock(), FakeClock()):
        assert isinstance(clock.now(), float)
    clock = FakeClock(10.0)
    clock.advance(2.5)
    assert clock.now() == 12.5
    with pytest.raises(ValueError):
        clock.advance(-1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.booleans()), min_size=70, max_size=300),
       st.integers(0, 5))
def test_timers_fire_in_deadline_then_sequence_order_in_bursts_too(timers, first_step):
    clock = FakeClock()
    fired = []
    with Reactor(clock=clock) as reactor:
        for number, (delay, cancelled) in enumerate(timers):
            timer = reactor.call_later(delay, fired.append, number)
            if cancelled:
                timer.cancel()
        expected = [n for n, (delay, cancelled) in sorted(
            enumerate(timers), key=lambda item: (item[1][0], item[0])) if not cancelled]
        clock.advance(first_step)  # some timers are due, perhaps all of them
        reactor.run_once(0)
        assert fired == [n for n in expected if timers[n][0] <= first_step]
        clock.advance(10)
        reactor.run_once(0)
        assert fired == expected
        assert reactor.pending_timers() == 0
