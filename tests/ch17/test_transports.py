"""A connected pair of in-memory transports: the book's protocols talk with no socket.

Each test joins two protocols with :func:`coro.testing.transports.connect` and moves
their bytes with ``pump()``; time, where it matters, is a FakeClock the test advances.
"""

import errno
import inspect
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coro.io.clock import FakeClock
from coro.netstring import encode
from coro.protocol_client import PoetryClientFactory
from coro.reactor.memory_transport import MemoryTransport
from coro.reactor.loop import Reactor
from coro.reactor.protocol import ConnectionDone, Protocol
from coro.reactor.transport import Transport
from coro.testing.transports import Direction, PairedTransport, connect
from coro.trace import Event, Trace
from coro.transform_client import TransformClientFactory
from poetry_server.protocol_server import PoetryServerFactory
from poetry_server.transform import reverse
from poetry_server.transform_server import TransformServerFactory
from tests.support import catalogue_bytes


class Recorder(Protocol):
    """Records what happens to it in ``trace`` as ``(name, event, detail)``; what it
    does on being made, on data and on an end of file is passed in."""

    def __init__(self, trace, name, *, on_made=None, on_data=None, on_eof=None):
        self.trace, self.name = trace, name
        self.on_made, self.on_data, self.on_eof = on_made, on_data, on_eof
        self.received = bytearray()

    def connection_made(self, transport):
        super().connection_made(transport)
        self.trace.append((self.name, "made", None))
        if self.on_made:
            self.on_made(transport)

    def data_received(self, data):
        self.trace.append((self.name, "data", bytes(data)))
        self.received += data
        if self.on_data:
            self.on_data(self.transport, data)

    def eof_received(self):
        self.trace.append((self.name, "eof", None))
        return self.on_eof(self.transport) if self.on_eof else False

    def connection_lost(self, reason):
        self.trace.append((self.name, "lost", type(reason)))


def without_data(trace):
    return [event for event in trace if event[1] != "data"]


# -- the book's protocols, end to end -----------------------------------------

def download(reactor, clock, poem, *, chunk_size):
    """The poetry server of chapter 9 sends ``poem`` 10 bytes a second to chapter 9's
    client; returns the client's outcome and the pieces it received, as ``(time, size)``."""
    outcomes, trace = [], Trace(clock.now)
    server = PoetryServerFactory(reactor, poem, num_bytes=10, delay=1.0, idle_timeout=30.0)
    client = PoetryClientFactory(reactor, 1, timeout=5.0, trace=trace,
                                 done=lambda task, **outcome: outcomes.append(outcome))
    pipe = connect(client.build_protocol(("127.0.0.1", 10000)),
                   server.build_protocol(("127.0.0.1", 50000)), chunk_size=chunk_size)
    while not outcomes:
        pipe.pump()
        clock.advance(1.0)
        reactor.run_once(0)
    assert pipe.client.disconnected and pipe.server.disconnected
    return outcomes, [(r.time, r.nbytes) for r in trace.records if r.event is Event.RECEIVED]


def test_the_poetry_client_downloads_from_the_poetry_server(fake_reactor, clock):
    poem = catalogue_bytes("ozymandias")
    outcomes, pieces = download(fake_reactor, clock, poem, chunk_size=None)
    assert outcomes == [{"poem": poem}]
    # One piece a second, as the server wrote them: the pump adds no delay of its own.
    assert pieces == [(float(n), len(poem[n * 10:n * 10 + 10]))
                      for n in range((len(poem) + 9) // 10)]


@pytest.mark.parametrize("chunk_size", [1, 3, 64])
def test_any_chunking_gives_the_same_poem(fake_reactor, clock, chunk_size):
    poem = catalogue_bytes("ozymandias")
    outcomes, pieces = download(fake_reactor, clock, poem, chunk_size=chunk_size)
    assert outcomes == [{"poem": poem}]
    assert max(size for _, size in pieces) == min(chunk_size, 10)
    assert sum(size for _, size in pieces) == len(poem)


def exchange(reactor, name, poem, **options):
    """Chapter 12's transform client asks chapter 12's server, in one pump; returns what
    its Deferred fired with, the server's factory and the bytes moved."""
    outcome = []
    client = TransformClientFactory(reactor, name + b"." + poem, timeout=10.0)
    client.deferred.add_both(outcome.append)
    server = TransformServerFactory(reactor)
    pipe = connect(client.build_protocol(("127.0.0.1", 10000)),
                   server.build_protocol(("127.0.0.1", 50000)), **options)
    moved = pipe.pump()
    assert pipe.pump() == 0  # the first pump moved everything there was
    assert pipe.client.disconnected and pipe.server.disconnected
    return outcome, server, moved


@pytest.mark.parametrize("chunk_size", [None, 1, 2, 5, 1000])
def test_the_transform_client_and_server_of_chapter_12_in_one_pump(fake_reactor, chunk_size):
    poem = "Da oben wunderbar,\nIhr goldenes Geschmeide blitzt,\n".encode()
    outcome, server, moved = exchange(fake_reactor, b"upper", poem, chunk_size=chunk_size)
    assert outcome == [poem.decode().upper().encode()]
    assert moved == len(encode(b"upper." + poem)) + len(encode(b"ok." + outcome[0]))
    assert server.connections == 0  # the server's connection ended too


@settings(deadline=None)  # no wall-clock limit: a loaded machine is not a failure
@given(poem=st.text(max_size=100), chunk_size=st.integers(1, 40))
def test_any_poem_in_any_chunking_comes_back_transformed(poem, chunk_size):
    with Reactor(clock=FakeClock()) as reactor:
        outcome, _, _ = exchange(reactor, b"reverse", poem.encode(), chunk_size=chunk_size)
        assert reactor.pending_timers() == 0
    assert outcome == [reverse(poem.encode())]


# -- ends of file, in the order TCP gives them ---------------------------------

def test_a_close_comes_after_the_data_and_each_side_hears_it_once():
    trace = []
    client = Recorder(trace, "client", on_made=lambda t: (t.write(b"hello"),
                                                          t.lose_connection()))
    pipe = connect(client, Recorder(trace, "server"))
    assert trace == [("server", "made", None), ("client", "made", None)]
    pipe.pump()
    # The client's side ends once its bytes are gone (as a socket's does once the kernel
    # has them), before the server has read the end of file.
    assert trace[2:] == [("server", "data", b"hello"), ("client", "lost", ConnectionDone),
                         ("server", "eof", None), ("server", "lost", ConnectionDone)]
    assert pipe.pump() == 0 and len(trace) == 6


def test_a_half_close_lets_the_other_side_answer():
    trace = []

    def answer(transport):  # eof_received: the whole request is in
        transport.write(bytes(server.received).upper())
        transport.lose_connection()
        return True

    client = Recorder(trace, "client", on_made=lambda t: (t.write(b"abc"), t.write(b"def"),
                                                          t.write_eof()))
    server = Recorder(trace, "server", on_eof=answer)
    pipe = connect(client, server, chunk_size=4)
    with pytest.raises(RuntimeError, match=r"write\(\) after write_eof\(\)"):
        pipe.client.write(b"more")
    pipe.pump()
    assert trace[2:] == [
        ("server", "data", b"abcd"), ("server", "data", b"ef"), ("server", "eof", None),
        ("client", "data", b"ABCD"), ("client", "data", b"EF"),
        ("server", "lost", ConnectionDone),  # its bytes are gone: its side is closed
        ("client", "eof", None), ("client", "lost", ConnectionDone)]


def test_a_write_after_lose_connection_raises_before_and_after_the_bytes_are_gone():
    trace = []
    pipe = connect(Recorder(trace, "client"), Recorder(trace, "server"))
    pipe.client.write(b"last words")
    pipe.client.lose_connection()
    with pytest.raises(RuntimeError, match=r"write\(\) after lose_connection\(\)"):
        pipe.client.write(b"more")
    with pytest.raises(TypeError, match="bytes, not str"):
        pipe.client.write("text")
    pipe.pump()
    with pytest.raises(RuntimeError, match=r"write\(\) after lose_connection\(\)"):
        pipe.client.write(b"more")  # the connection is gone now: still a mistake
    pipe.client.lose_connection()
    pipe.client.abort_connection()
    assert pipe.pump() == 0
    assert [event for event in trace if event[1] == "lost"] \
        == [("client", "lost", ConnectionDone), ("server", "lost", ConnectionDone)]


# -- faults: resets, stalls, a reader that stops reading ------------------------

def test_a_reset_mid_poem_is_reported_by_both_sides(fake_reactor, clock, capsys):
    outcomes = []
    poem = catalogue_bytes("ozymandias")
    server = PoetryServerFactory(fake_reactor, poem, num_bytes=10, delay=1.0,
                                 idle_timeout=30.0)
    client = PoetryClientFactory(fake_reactor, 1, timeout=5.0, trace=Trace(clock.now),
                                 done=lambda task, **outcome: outcomes.append(outcome))
    pipe = connect(client.build_protocol(("127.0.0.1", 10000)),
                   server.build_protocol(("127.0.0.1", 50000)))
    for _ in range(3):
        pipe.pump()
        clock.advance(1.0)
        fake_reactor.run_once(0)  # the server writes its next chunk
    assert pipe.server.buffer_size == 10  # written, not delivered yet
    pipe.reset()
    assert pipe.pump() == 0  # the undelivered chunk is dropped
    [outcome] = outcomes
    assert isinstance(outcome["error"], ConnectionResetError)
    assert capsys.readouterr().err == "client 127.0.0.1:50000 hung up before the end of the poem\n"
    assert pipe.client.protocol.poem.getvalue() == poem[:30]


def test_a_reset_by_one_side_ends_both_with_connection_reset():
    trace = []
    pipe = connect(Recorder(trace, "client"), Recorder(trace, "server"))
    pipe.server.write(b"never read")
    pipe.client.write(b"never read either")
    pipe.server.reset_connection()
    assert pipe.pump() == 0
    assert trace[2:] == [("server", "lost", ConnectionResetError),
                         ("client", "lost", ConnectionResetError)]


def test_bytes_sent_to_a_closed_side_reset_the_sender():
    trace = []
    pipe = connect(Recorder(trace, "client"), Recorder(trace, "server"))
    pipe.server.abort_connection()
    pipe.client.write(b"too late")  # the client has not heard yet
    pipe.pump()
    assert trace[2:] == [("server", "lost", ConnectionAbortedError),
                         ("client", "lost", ConnectionResetError)]


def test_a_paused_direction_holds_everything_until_it_resumes():
    trace = []
    client = Recorder(trace, "client",
                      on_made=lambda t: (t.write(b"ping"), t.write_eof()))
    server = Recorder(trace, "server", on_data=lambda t, data: t.write(b"pong"),
                      on_eof=lambda t: True)
    pipe = connect(client, server)
    pipe.pause(Direction.SERVER_TO_CLIENT)
    pipe.pause("client->server")  # a direction may be named by its value
    assert pipe.pump() == 0
    pipe.resume(Direction.CLIENT_TO_SERVER)
    assert pipe.pump() == 4  # the ping and the end of file; the pong waits
    assert pipe.server.buffer_size == 4
    pipe.server.lose_connection()
    assert pipe.pump() == 0 and not pipe.server.disconnected  # the close waits too
    pipe.resume(Direction.SERVER_TO_CLIENT)
    assert pipe.pump() == 4
    assert without_data(trace)[2:] == [("server", "eof", None),
                                       ("server", "lost", ConnectionDone),
                                       ("client", "eof", None),
                                       ("client", "lost", ConnectionDone)]
    with pytest.raises(ValueError, match="sideways"):
        pipe.pause("sideways")


class Firehose(Protocol):
    """The transport's registered producer: writes 100 KiB at once, and closes the
    connection as soon as it may write again."""

    def __init__(self, trace):
        self.trace = trace

    def connection_made(self, transport):
        super().connection_made(transport)
        transport.register_producer(self)
        self.transport.write(b"x" * 100_000)

    def pause_producing(self):
        self.trace.append(("firehose", "pause", self.transport.buffer_size))

    def resume_producing(self):
        self.trace.append(("firehose", "resume", self.transport.buffer_size))
        self.transport.lose_connection()

    def stop_producing(self):
        self.trace.append(("firehose", "stop", None))


def test_a_reader_that_pauses_backs_up_the_writer_and_pauses_its_producer():
    trace = []
    # The reader pauses in connection_made, before anything can arrive.
    reader = Recorder(trace, "reader", on_made=lambda t: t.pause_producing())
    pipe = connect(reader, Firehose(trace), chunk_size=30_000)
    assert trace[0] == ("firehose", "pause", 100_000)  # above the high-water mark
    assert pipe.pump() == 0  # the reader does not read: nothing moves
    pipe.client.resume_producing()
    assert pipe.pump() == 100_000
    assert [(name, event, detail if event != "data" else len(detail))
            for name, event, detail in trace[2:]] == [
        ("reader", "data", 30_000), ("reader", "data", 30_000),
        ("firehose", "resume", 10_000),  # below the low-water mark
        ("reader", "data", 30_000), ("reader", "data", 10_000),
        ("firehose", "stop", None), ("reader", "eof", None), ("reader", "lost", ConnectionDone)]


# -- time: latency on a fake clock --------------------------------------------

def test_bytes_arrive_after_the_latency_and_a_reply_after_twice_that(clock):
    trace = []

    def log(name):
        return lambda t, data: trace.append((name, data, clock.now()))

    client = Recorder([], "client", on_made=lambda t: t.write(b"ping"), on_data=log("client"))
    server = Recorder([], "server",
                      on_data=lambda t, data: (log("server")(t, data), t.write(b"pong")))
    pipe = connect(client, server, clock=clock, latency=0.25)
    clock.advance(0.2)
    assert pipe.pump() == 0 and pipe.client.buffer_size == 4  # on its way
    clock.advance(0.05)
    assert pipe.pump() == 4 and pipe.server.buffer_size == 4  # the answer is on its way
    clock.advance(0.25)
    assert pipe.pump() == 4 and pipe.server.buffer_size == 0
    assert trace == [("server", b"ping", 0.25), ("client", b"pong", 0.5)]
    pipe.client.lose_connection()
    pipe.pump()
    assert not pipe.server.disconnected  # the end of file is on its way
    clock.advance(0.25)
    pipe.pump()
    assert pipe.server.disconnected


def test_the_arguments_are_checked(clock):
    for options, message in [({"chunk_size": 0}, "chunk_size must be"),
                             ({"latency": -1.0, "clock": clock}, "latency must be"),
                             ({"latency": float("inf"), "clock": clock}, "latency must be"),
                             ({"latency": 1.0}, "needs a clock")]:
        with pytest.raises(ValueError, match=message):
            connect(Protocol(), Protocol(), **options)


# -- errors -------------------------------------------------------------------

class Faulty(Protocol):
    def data_received(self, data):
        raise ZeroDivisionError("on purpose")


def test_a_protocol_that_raises_is_reported_and_its_connection_dropped(errors):
    trace = []
    client = Recorder(trace, "client", on_made=lambda t: t.write(b"boom"))
    pipe = connect(client, Faulty(), report_error=errors.report)
    pipe.pump()
    [(exc, context)] = errors.take()
    assert isinstance(exc, ZeroDivisionError) and context == "Faulty.data_received"
    assert pipe.server.disconnected and trace[1:] == [("client", "eof", None),
                                                      ("client", "lost", ConnectionDone)]


def test_with_no_reporter_the_error_comes_out_of_the_pump():
    client = Recorder([], "client", on_made=lambda t: t.write(b"boom"))
    pipe = connect(client, Faulty())
    with pytest.raises(ZeroDivisionError, match="on purpose"):
        pipe.pump()
    assert pipe.server.disconnected
    pipe.pump()  # the rest of the story goes on
    assert pipe.client.disconnected


# -- the same interface as the real transport ---------------------------------

def _public_methods(cls):
    return {name: inspect.signature(member) for name, member in vars(cls).items()
            if callable(member) and not name.startswith("_")}


@pytest.mark.parametrize("fake", [PairedTransport, MemoryTransport])
def test_the_in_memory_transports_have_the_real_public_methods(fake):
    fake_methods = _public_methods(fake)
    for name, signature in _public_methods(Transport).items():
        assert name in fake_methods, f"{fake.__name__} lacks {name}()"
        assert fake_methods[name] == signature, f"{fake.__name__}.{name}{fake_methods[name]}"


def test_a_paired_transport_has_the_real_attributes(fake_reactor):
    left, right = socket.socketpair()
    real = Transport(fake_reactor, left, Protocol())
    pipe = connect(Protocol(), Protocol(), client_address=("10.0.0.1", 4000))
    fake = pipe.client
    for name in ("buffer_size", "disconnected", "protocol", "high_water", "low_water"):
        assert type(getattr(fake, name)) is type(getattr(real, name)), name
    assert (fake.get_host(), fake.get_peer()) == (("10.0.0.1", 4000), ("127.0.0.1", 10000))
    assert pipe.server.get_peer() == ("10.0.0.1", 4000)
    fake.abort_connection()
    real.abort_connection()
    for transport in (fake, real):
        with pytest.raises(OSError) as caught:
            transport.get_peer()
        assert caught.value.errno == errno.ENOTCONN
    fake_reactor.run_once(0)
    pipe.pump()
    right.close()
