"""The callback client: every check every client passes, and get_poetry calls exactly
one of its callback and errback, exactly once, however the download ends."""

import socket

import pytest

from coro import callback_client
from coro.deferred.failure import Failure
from coro.io.clock import FakeClock
from coro.reactor import tcp
from coro.reactor.loop import Reactor
from coro.reactor.memory_transport import MemoryTransport
from coro.reactor.protocol import ClientFactory
from coro.reactor.tcp import ConnectorState
from coro.trace import Event, Trace
from poetry_server import spawn
from tests.client_checks import (
    ConcurrentClientChecks, check_a_run_whose_done_raises_is_reported_and_still_ends,
)
from tests.reactor_fixtures import run_until
from tests.support import ScriptedServer, catalogue_bytes, refused_address, reset

class TestCallbackClient(ConcurrentClientChecks):
    stage = callback_client
    module = "coro.callback_client"


# -- exactly one of callback and errback, exactly once, on every path ------------------

class Calls(list):
    """The calls made to a callback and an errback, in order, as (name, poem or type)."""

    def callback(self, poem):
        self.append(("callback", poem))

    def errback(self, failure):
        assert isinstance(failure, Failure), failure
        self.append(("errback", failure.type))


def run_to_the_end(reactor, calls):
    """Run until a call is made and nothing is left to happen, so a second would show."""
    run_until(reactor, lambda: calls and not reactor.pending_timers())
    reactor.run_once(0)


def turn(fake_reactor, condition, *, ticks=40):
    """Run ticks of a reactor on a fake clock until ``condition()``; its time stands
    still, so the watchdog counts ticks (each polls for at most half a second)."""
    for _ in range(ticks):
        if condition():
            return
        fake_reactor.run_once(timeout=0.5)
    raise AssertionError(f"not true after {ticks} ticks: {condition.__name__}")


def test_a_poem_calls_the_callback_once(reactor):
    calls = Calls()
    with spawn("tyger", delay=0, num_bytes=50) as [(host, port)]:
        callback_client.get_poetry(reactor, host, port, calls.callback, calls.errback)
        run_to_the_end(reactor, calls)
    assert calls == [("callback", catalogue_bytes("tyger"))]


def test_a_refused_connection_calls_the_errback_once_and_never_from_inside_the_call(
        reactor):
    calls = Calls()
    with refused_address() as (host, port):
        callback_client.get_poetry(reactor, host, port, calls.callback, calls.errback)
        assert calls == []  # the caller's code after get_poetry runs first, always
        run_to_the_end(reactor, calls)
    assert calls == [("errback", ConnectionRefusedError)]


def _send_then_reset(socks):
    [sock] = socks
    sock.sendall(catalogue_bytes("raven")[:500])
    reset(sock)


def test_a_reset_mid_poem_calls_the_errback_once(reactor):
    calls = Calls()
    with ScriptedServer(_send_then_reset) as server:
        callback_client.get_poetry(reactor, *server.address, calls.callback, calls.errback)
        run_to_the_end(reactor, calls)
    assert calls == [("errback", ConnectionResetError)]


def _never_send(socks):
    [sock] = socks
    sock.recv(1)  # returns when the client gives up and closes


def test_a_server_that_sends_nothing_calls_the_errback_once_on_a_fake_clock(fake_reactor,
                                                                         clock):
    calls, trace = Calls(), Trace()
    with ScriptedServer(_never_send) as silent:
        callback_client.get_poetry(fake_reactor, *silent.address, calls.callback,
                                   calls.errback, timeout=10, trace=trace)
        turn(fake_reactor, lambda: any(r.event is Event.CONNECTED for r in trace.records))
        clock.advance(9.9)
        fake_reactor.run_once(0)
        assert calls == []
        clock.advance(0.1)
        turn(fake_reactor, lambda: calls)
        fake_reactor.run_once(0)
    assert calls == [("errback", TimeoutError)]


def test_no_connection_in_time_calls_the_errback_once_on_a_fake_clock(fake_reactor, clock):
    # Linux drops a connection request to a listener whose queue of connections waiting
    # to be accepted is full (backlog 0 holds one), so this connect stays in progress.
    calls = Calls()
    with socket.create_server(("127.0.0.1", 0), backlog=0) as full, \
            socket.create_connection(full.getsockname()):
        callback_client.get_poetry(fake_reactor, *full.getsockname(), calls.callback,
                                   calls.errback, timeout=5)
        fake_reactor.run_once(0)
        clock.advance(4.9)
        fake_reactor.run_once(0)
        assert calls == []
        clock.advance(0.1)
        fake_reactor.run_once(0)
        fake_reactor.run_once(0)
    assert calls == [("errback", TimeoutError)]


# -- the caller's own errors are the caller's --------------------------------------

def test_a_callback_that_raises_is_reported_and_the_errback_is_not_called(reactor, errors):
    calls = Calls()
    bug = ValueError("a bug in the caller's callback")

    def broken_callback(poem):
        calls.append(("callback", len(poem)))
        raise bug

    with spawn("tyger", "science", delay=0, num_bytes=50) as [first, second]:
        callback_client.get_poetry(reactor, *first, broken_callback, calls.errback)
        callback_client.get_poetry(reactor, *second, calls.callback, calls.errback, task=2)
        run_until(reactor, lambda: len(calls) == 2 and not reactor.pending_timers())
        reactor.run_once(0)
    assert sorted(calls, key=str) == sorted([("callback", len(catalogue_bytes("tyger"))),
                                             ("callback", catalogue_bytes("science"))],
                                            key=str)
    [(exc, context)] = errors.take()
    assert exc is bug
    assert "connection_lost" in context
    assert "in broken_callback" in Failure(exc).get_traceback()


def test_an_errback_that_raises_is_reported_and_the_callback_is_not_called(reactor, errors):
    calls = Calls()
    bug = KeyError("a bug in the caller's errback")

    def broken_errback(failure):
        calls.append(("errback", failure.type))
        raise bug

    with refused_address() as (host, port):
        callback_client.get_poetry(reactor, host, port, calls.callback, broken_errback)
        run_to_the_end(reactor, calls)
    assert calls == [("errback", ConnectionRefusedError)]
    assert [exc for exc, _ in errors.take()] == [bug]


def test_a_run_whose_done_raises_is_reported_and_still_ends(capsys):
    check_a_run_whose_done_raises_is_reported_and_still_ends(callback_client, capsys)


# -- the factory on a memory transport, with no socket at all ----------------------

def make_download(clock, calls, callback=None):
    """A factory's protocol on a memory transport; returns the reactor, factory and
    transport."""
    reactor = Reactor(clock=clock)
    factory = callback_client.PoetryClientFactory(
        reactor, 1, callback or calls.callback, calls.errback, timeout=10, trace=Trace())
    transport = MemoryTransport(factory.build_protocol(("127.0.0.1", 10000)))
    transport.start()
    return reactor, factory, transport


def test_on_a_memory_transport_a_clean_close_calls_back_with_the_poem():
    calls = Calls()
    reactor, factory, transport = make_download(FakeClock(), calls)
    with reactor:
        transport.receive(b"Tyger Tyger, ")
        transport.receive(b"burning bright")
        assert calls == []
        transport.receive_eof()
        assert calls == [("callback", b"Tyger Tyger, burning bright")]
        assert factory.outcome_handlers is None  # let go of as they were called


def test_on_a_memory_transport_a_reset_calls_the_errback_with_that_error():
    calls, failures = Calls(), []
    reactor, factory, transport = make_download(FakeClock(), calls)
    factory.outcome_handlers = (calls.callback, failures.append)
    error = ConnectionResetError(104, "Connection reset by peer")
    with reactor:
        transport.receive(b"half a poem")
        transport.fail(error)
    [failure] = failures
    assert failure.value is error and calls == []


def test_on_a_memory_transport_silence_times_out_on_a_fake_clock():
    clock, calls = FakeClock(), Calls()
    reactor, factory, transport = make_download(clock, calls)
    with reactor:
        clock.advance(10)
        reactor.run_once(0)
        assert calls == [("errback", TimeoutError)]


def test_a_second_end_of_the_same_download_is_an_error_and_calls_nothing():
    calls = Calls()
    reactor, factory, transport = make_download(FakeClock(), calls)
    with reactor:
        transport.receive(b"a poem")
        transport.receive_eof()
        with pytest.raises(RuntimeError, match="task 1: the download ended twice"):
            factory.poem_failed(ConnectionResetError())
        with pytest.raises(RuntimeError, match="ended twice"):
            factory.client_connection_failed(None, ConnectionRefusedError())
    assert calls == [("callback", b"a poem")]


# -- the two classic mistakes, shown by factories that make them ---------------------

class CarelessFactory(callback_client.PoetryClientFactory):
    """Treats an error raised by the callback as a failed download."""

    def poem_finished(self, poem):
        callback, errback = self.outcome_handlers
        try:
            callback(poem)
        except Exception:  # the mistake: any error at all counts as a failed download
            errback(Failure())


def test_the_careless_factory_calls_both_when_the_callback_raises():
    calls = Calls()

    def broken_callback(poem):
        calls.callback(poem)
        raise ValueError("a bug in the caller's callback")

    reactor = Reactor(clock=FakeClock())
    factory = CarelessFactory(reactor, 1, broken_callback, calls.errback, timeout=10,
                              trace=Trace())
    transport = MemoryTransport(factory.build_protocol(("127.0.0.1", 10000)))
    with reactor:
        transport.start()
        transport.receive(b"a whole poem")
        transport.receive_eof()
    assert calls == [("callback", b"a whole poem"), ("errback", ValueError)]


def test_our_factory_lets_the_callbacks_error_go_up_and_calls_only_the_callback():
    calls = Calls()

    def broken_callback(poem):
        calls.callback(poem)
        raise ValueError("a bug in the caller's callback")

    reactor, factory, transport = make_download(FakeClock(), calls, broken_callback)
    with reactor:
        transport.receive(b"a whole poem")
        with pytest.raises(ValueError, match="a bug in the caller's callback"):
            transport.receive_eof()  # a real transport hands it to the reactor's report
    assert calls == [("callback", b"a whole poem")]


class ForgetfulFactory(callback_client.PoetryClientFactory):
    """Forgets the path where there is no connection at all."""

    client_connection_failed = ClientFactory.client_connection_failed  # does nothing


def test_the_forgetful_factory_calls_neither_when_the_connection_is_refused(
        fake_reactor):
    calls = Calls()
    factory = ForgetfulFactory(fake_reactor, 1, calls.callback, calls.errback,
                               timeout=10, trace=Trace())
    with refused_address() as (host, port):
        connector = tcp.connect(fake_reactor, host, port, factory, timeout=10)
        turn(fake_reactor, lambda: connector.state is ConnectorState.FAILED)
    # The download is over and the reactor has nothing left to do for it, yet neither
    # function was called: a program waiting for one of them waits for ever.
    assert calls == [] and fake_reactor.pending_timers() == 0


# -- two steps: callbacks inside callbacks -------------------------------------------

def get_title(reactor, host, port, callback, errback):
    """Download a poem, then take its first line: a second step that may fail."""
    def got_poem(poem):
        try:
            title = poem.splitlines()[0].decode()
        except (IndexError, UnicodeDecodeError) as exc:
            errback(Failure(exc))
        else:
            callback(title)  # outside the try, for the same reason as in the factory

    callback_client.get_poetry(reactor, host, port, got_poem, errback)


def _send_nothing_and_close(socks):
    [sock] = socks
    sock.shutdown(socket.SHUT_WR)
    sock.recv(1)


def test_a_second_step_nests_inside_the_first_ones_callback(reactor):
    titles = Calls()
    with spawn("tyger", delay=0, num_bytes=50) as [poem], \
            ScriptedServer(_send_nothing_and_close) as empty, \
            refused_address() as refused:
        for address in (poem, empty.address, refused):
            get_title(reactor, *address, titles.callback, titles.errback)
        run_until(reactor, lambda: len(titles) == 3 and not reactor.pending_timers())
        reactor.run_once(0)
    first_line = catalogue_bytes("tyger").splitlines()[0].decode()
    assert sorted(titles, key=str) == sorted([
        ("callback", first_line), ("errback", IndexError),
        ("errback", ConnectionRefusedError)], key=str)
