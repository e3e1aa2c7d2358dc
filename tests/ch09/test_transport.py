"""Transports: the bytes arrive whole and in order, and every connection ends once."""

import collections
import contextlib
import errno
import inspect
import socket

import pytest

from coro.io import multiplexer
from coro.io.clock import FakeClock, MonotonicClock
from coro.reactor import tcp
from coro.reactor.loop import Reactor
from coro.reactor.memory_transport import MemoryTransport
from coro.reactor.protocol import ClientFactory, ConnectionDone, Factory, Protocol
from coro.reactor.transport import Transport
from tests.reactor_fixtures import run_until
from tests.support import descriptors_past_fd_setsize, out_of_descriptors, refused_address


class Recorder(Protocol):
    """Records what happens to it in ``trace`` as ``(name, event)``."""

    def __init__(self, trace, name, *, on_made=None, keep_open=False):
        self.trace, self.name = trace, name
        self.on_made, self.keep_open = on_made, keep_open
        self.received = bytearray()
        self.reason = None

    def connection_made(self, transport):
        super().connection_made(transport)
        self.trace.append((self.name, "made"))
        if self.on_made:
            self.on_made(self)

    def data_received(self, data):
        self.received += data

    def eof_received(self):
        self.trace.append((self.name, "eof"))
        return self.keep_open

    def connection_lost(self, reason):
        self.reason = reason
        self.trace.append((self.name, "lost"))


class RecorderFactory(ClientFactory):
    """Builds ``kind`` protocols named name1, name2, ...; keeps them and the failures."""

    def __init__(self, trace, name, kind=None, **options):
        super().__init__()
        self.trace, self.name, self.options = trace, name, options
        self.kind = kind or Recorder
        self.protocols = []
        self.failures = []

    def build_protocol(self, address):
        protocol = self.kind(self.trace, f"{self.name}{len(self.protocols) + 1}", **self.options)
        self.protocols.append(protocol)
        return protocol

    def client_connection_failed(self, connector, reason):
        self.failures.append(reason)


def lost(*protocols):
    def all_lost():
        return all(p.reason is not None for p in protocols)
    return all_lost


def test_a_half_closed_exchange_in_order(reactor):
    trace = []

    def reply_then_close(protocol):
        protocol.transport.write(b"bye: " + bytes(protocol.received))
        protocol.transport.lose_connection()

    class Server(Recorder):
        def eof_received(self):
            super().eof_received()
            reply_then_close(self)
            return True

    servers = Factory(Server, trace, "server")
    listener = tcp.listen(reactor, servers)
    clients = RecorderFactory(trace, "client", on_made=lambda p: (
        p.transport.write(b"hello"), p.transport.write_eof()))
    tcp.connect(reactor, *listener.address, clients)
    run_until(reactor, lambda: len(trace) == 6)
    [client] = clients.protocols
    assert client.received == b"bye: hello"
    assert isinstance(client.reason, ConnectionDone)
    assert [e for e in trace if e[0] == "client1"] == [
        ("client1", "made"), ("client1", "eof"), ("client1", "lost")]
    assert [e for e in trace if e[0] == "server"] == [
        ("server", "made"), ("server", "eof"), ("server", "lost")]
    listener.close()


def test_lose_connection_sends_everything_first(reactor):
    poem = bytes(range(256)) * 8192  # 2 MiB: far more than the socket takes at once
    trace = []
    servers = RecorderFactory(trace, "server", on_made=lambda p: (
        p.transport.write(poem), p.transport.lose_connection()))
    listener = tcp.listen(reactor, servers)
    clients = RecorderFactory(trace, "client")
    tcp.connect(reactor, *listener.address, clients)
    run_until(reactor, lambda: clients.protocols and lost(*clients.protocols, *servers.protocols)())
    assert clients.protocols[0].received == poem
    assert isinstance(clients.protocols[0].reason, ConnectionDone)
    assert isinstance(servers.protocols[0].reason, ConnectionDone)
    listener.close()


class ScriptedSocket:
    """A socket whose ``send`` follows a script: a number is the most it takes,
    ``"EAGAIN"`` raises BlockingIOError, ``"EINTR"`` InterruptedError, ``"reset"``
    ConnectionResetError.
    Past the script, it takes everything. Readiness comes from a real socket."""

    def __init__(self, real, script):
        self._real = real
        self.script = collections.deque(script)
        self.sent = bytearray()
        self.sends = 0

    def fileno(self):
        return self._real.fileno()

    def setblocking(self, flag):
        self._real.setblocking(flag)

    def send(self, data):
        self.sends += 1
        step = self.script.popleft() if self.script else len(data)
        if step == "EAGAIN":
            raise BlockingIOError(11, "Resource temporarily unavailable")
        if step == "EINTR":
            raise InterruptedError(4, "Interrupted system call")
        if step == "reset":
            raise ConnectionResetError(104, "Connection reset by peer")
        taken = bytes(data[:step])
        self.sent += taken
        return len(taken)

    def recv(self, size):
        return self._real.recv(size)

    def shutdown(self, how):
        self._real.shutdown(how)

    def close(self):
        self._real.close()


def test_partial_sends_and_eagain_deliver_the_same_stream(fake_reactor):
    left, right = socket.socketpair()
    script = ["EINTR", 3, "EAGAIN", 5, "EAGAIN", "EINTR", 1, 1, 700, "EAGAIN", 2]
    fake = ScriptedSocket(left, script)
    trace = []
    protocol = Recorder(trace, "p")
    transport = Transport(fake_reactor, fake, protocol)
    transport.start()
    pieces = [b"The Tyger ", b"burning bright" * 100, b"", bytearray(b" in the forests"),
              memoryview(b" of the night")]
    for piece in pieces:
        transport.write(piece)
    run_until(fake_reactor, lambda: transport.buffer_size == 0)
    assert fake.sent == b"".join(pieces)
    assert not fake.script
    transport.lose_connection()
    run_until(fake_reactor, lost(protocol))
    assert trace == [("p", "made"), ("p", "lost")]
    assert isinstance(protocol.reason, ConnectionDone)
    right.close()


def test_a_reset_during_a_large_write_is_one_lost_connection(fake_reactor):
    left, right = socket.socketpair()
    fake = ScriptedSocket(left, [1000, "EAGAIN", 2000, "reset"])
    trace = []
    protocol = Recorder(trace, "p")
    transport = Transport(fake_reactor, fake, protocol)
    transport.start()
    transport.write(b"x" * 1_000_000)
    run_until(fake_reactor, lost(protocol))
    transport.write(b"after the end")  # ignored: the protocol has been told
    transport.lose_connection()
    transport.abort_connection()
    fake_reactor.run_once(0)
    assert trace == [("p", "made"), ("p", "lost")]
    assert isinstance(protocol.reason, ConnectionResetError)
    assert len(fake.sent) == 3000
    right.close()


def test_a_peer_resetting_mid_write_on_real_sockets(reactor):
    trace = []
    peers = []
    servers = RecorderFactory(trace, "server", on_made=lambda p: p.transport.write(b"y" * 8_000_000))
    listener = tcp.listen(reactor, servers)
    peer = socket.create_connection(listener.address)
    peers.append(peer)
    run_until(reactor, lambda: servers.protocols and servers.protocols[0].transport.buffer_size)
    peer.recv(1000)
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    peer.close()
    run_until(reactor, lost(*servers.protocols))
    assert trace == [("server1", "made"), ("server1", "lost")]
    assert isinstance(servers.protocols[0].reason, (ConnectionResetError, BrokenPipeError))
    listener.close()


class Flood(Protocol):
    """Writes 16 KiB chunks as fast as it is allowed to, as a producer."""

    chunk = b"z" * 16384

    def __init__(self, trace, reactor):
        self.trace = trace
        self.reactor = reactor
        self.paused = False
        self.written = 0
        self.largest_buffer = 0

    def connection_made(self, transport):
        super().connection_made(transport)
        transport.register_producer(self)
        self.reactor.call_soon(self.produce)

    def produce(self):
        if self.paused or self.transport.disconnected:
            return
        self.transport.write(self.chunk)
        self.written += len(self.chunk)
        self.largest_buffer = max(self.largest_buffer, self.transport.buffer_size)
        self.reactor.call_soon(self.produce)

    def pause_producing(self):
        self.paused = True
        self.trace.append("pause")

    def resume_producing(self):
        self.paused = False
        self.trace.append("resume")
        self.reactor.call_soon(self.produce)

    def stop_producing(self):
        self.trace.append("stop")


def test_a_peer_that_never_reads_pauses_the_producer(reactor):
    trace = []
    floods = []

    def build(address):
        flood = Flood(trace, reactor)
        floods.append(flood)
        return flood

    factory = Factory()
    factory.build_protocol = build
    listener = tcp.listen(reactor, factory)
    peer = socket.create_connection(listener.address)
    try:
        run_until(reactor, lambda: "pause" in trace)
        [flood] = floods
        limit = Transport.high_water + len(Flood.chunk)
        for _ in range(20):  # the flood stays paused: memory stays flat
            reactor.run_once(0)
        assert flood.largest_buffer <= limit
        assert trace == ["pause"]
        # The peer starts reading: the buffer drains and the producer is resumed.
        peer.setblocking(False)
        received = 0

        def drain():
            nonlocal received
            try:
                received += len(peer.recv(1 << 20))
            except BlockingIOError:
                pass

        reactor.add_reader(peer, drain)
        run_until(reactor, lambda: "resume" in trace)
        assert flood.largest_buffer <= limit
        flood.transport.lose_connection()
        run_until(reactor, lambda: "stop" in trace)
        reactor.remove_reader(peer)
    finally:
        peer.close()
        listener.close()


class Resumable:
    """A producer that records what it hears, and writes as soon as it is resumed."""

    def __init__(self, trace, transport):
        self.trace, self.transport = trace, transport

    def pause_producing(self):
        self.trace.append("pause")

    def resume_producing(self):
        self.trace.append("resume")
        self.transport.write(b"more")  # raises once the connection is ending

    def stop_producing(self):
        self.trace.append("stop")


@pytest.mark.parametrize("ending, expected", [
    ("lose_connection", [("p", "made"), "pause", "stop", ("p", "lost")]),
    ("write_eof", [("p", "made"), "pause", ("p", "eof"), "stop", ("p", "lost")]),
])
def test_a_producer_paused_when_the_connection_ends_is_never_resumed(fake_reactor, ending,
                                                                      expected):
    left, right = socket.socketpair()
    size = Transport.high_water + 1000
    # Nothing at first, so everything is buffered (above the high-water mark); then
    # all but ten bytes, well below the low-water mark; then the last ten.
    fake = ScriptedSocket(left, ["EAGAIN", size - 10, 10])
    trace = []
    protocol = Recorder(trace, "p")
    transport = Transport(fake_reactor, fake, protocol)
    transport.start()
    transport.register_producer(Resumable(trace, transport))
    transport.write(b"x" * size)
    getattr(transport, ending)()
    run_until(fake_reactor, lambda: transport.buffer_size == 0)
    right.close()  # the peer hangs up, which also ends a half-closed connection
    run_until(fake_reactor, lost(protocol))
    assert fake.sent == b"x" * size
    assert trace == expected
    assert isinstance(protocol.reason, ConnectionDone)


def test_a_thousand_connections_leave_no_descriptor_open(reactor):
    trace = []
    servers = RecorderFactory(trace, "server", on_made=lambda p: p.transport.lose_connection())
    listener = tcp.listen(reactor, servers)
    clients = RecorderFactory(trace, "client")
    for round_ in range(1000):
        tcp.connect(reactor, *listener.address, clients)
        run_until(reactor, lambda: len(clients.protocols) > round_
                  and lost(clients.protocols[-1])())
    run_until(reactor, lost(*servers.protocols))
    assert len(servers.protocols) == len(clients.protocols) == 1000
    assert trace.count(("client1000", "lost")) == 1
    listener.close()


def test_a_refused_connection_is_told_to_the_factory(reactor):
    trace = []
    clients = RecorderFactory(trace, "client")
    with refused_address() as address:
        tcp.connect(reactor, *address, clients)
        run_until(reactor, lambda: clients.failures)
    assert isinstance(clients.failures[0], ConnectionRefusedError)
    assert clients.protocols == []


class NoProtocolFactory(RecorderFactory):
    """A factory whose first ``refusals`` protocols are ``outcome``: raised if it is
    an exception, returned otherwise (None)."""

    def __init__(self, trace, name, outcome, *, refusals=1, **options):
        super().__init__(trace, name, **options)
        self.outcome, self.refusals = outcome, refusals

    def build_protocol(self, address):
        if self.refusals:
            self.refusals -= 1
            self.trace.append((self.name, "no protocol"))
            if isinstance(self.outcome, Exception):
                raise self.outcome
            return self.outcome
        return super().build_protocol(address)


@pytest.mark.parametrize("outcome", [ValueError("no protocol today"), None],
                         ids=["raises", "returns None"])
def test_a_connector_without_a_protocol_fails_once_and_closes_its_socket(reactor, errors,
                                                                          outcome):
    trace = []
    clients = NoProtocolFactory(trace, "client", outcome)
    with socket.create_server(("127.0.0.1", 0)) as server:
        host, port = server.getsockname()[:2]
        connector = tcp.connect(reactor, host, port, clients)
        run_until(reactor, lambda: clients.failures)
        peer, _ = server.accept()
        with peer:
            peer.settimeout(20)  # a watchdog only: the client has closed already
            assert peer.recv(10) == b""
    connector.cancel()  # too late: the attempt has ended, and is not told twice
    reactor.run_once(0)
    assert trace == [("client", "no protocol")]
    [reason] = clients.failures
    assert connector.state is tcp.ConnectorState.FAILED
    [(exc, context)] = errors.take()
    assert exc is reason
    assert "NoProtocolFactory.build_protocol" in context
    assert f"to 127.0.0.1:{port}" in context
    if outcome is None:
        assert isinstance(reason, ConnectionAbortedError)
        assert "returned None" in str(reason)
    else:
        assert reason is outcome


@pytest.mark.parametrize("outcome", [ValueError("no protocol today"), None],
                         ids=["raises", "returns None"])
def test_a_listener_without_a_protocol_closes_that_connection_and_serves_the_next(
        reactor, errors, outcome):
    trace = []
    servers = NoProtocolFactory(trace, "server", outcome,
                                on_made=lambda p: p.transport.lose_connection())
    listener = tcp.listen(reactor, servers)
    with socket.create_connection(listener.address) as refused, \
            socket.create_connection(listener.address) as served:
        run_until(reactor, lambda: servers.protocols and lost(*servers.protocols)())
        for client in (refused, served):
            client.settimeout(20)  # a watchdog only: both are closed already
            assert client.recv(10) == b""
        refused_port = refused.getsockname()[1]
    assert trace == [("server", "no protocol"), ("server1", "made"), ("server1", "lost")]
    [(exc, context)] = errors.take()
    assert "NoProtocolFactory.build_protocol" in context
    assert f"from 127.0.0.1:{refused_port}" in context
    if outcome is None:
        assert isinstance(exc, ConnectionAbortedError)
        assert "returned None" in str(exc)
    else:
        assert exc is outcome
    listener.close()


def test_a_protocol_that_raises_loses_its_connection_only(reactor, errors):
    trace = []

    class Broken(Recorder):
        def data_received(self, data):
            if data.startswith(b"bad"):
                raise ValueError("cannot parse this")
            self.transport.write(data)

    servers = RecorderFactory(trace, "s", Broken)
    built = servers.protocols
    listener = tcp.listen(reactor, servers)
    clients = RecorderFactory(trace, "c")
    tcp.connect(reactor, *listener.address, clients)
    tcp.connect(reactor, *listener.address, clients)
    run_until(reactor, lambda: len(built) == 2 and len(clients.protocols) == 2)
    good, bad = clients.protocols
    bad.transport.write(b"bad input")
    good.transport.write(b"good input")
    run_until(reactor, lambda: bytes(good.received) == b"good input" and lost(bad)())
    [(exc, context)] = errors.take()
    assert isinstance(exc, ValueError) and "data_received" in context
    assert [type(p.reason) for p in built if p.reason] == [ValueError]
    good.transport.lose_connection()
    run_until(reactor, lost(*built))
    listener.close()


def test_abort_drops_the_buffer_and_closing_the_reactor_ends_every_connection(errors):
    trace = []
    reactor = Reactor(report_error=errors.report)
    servers = RecorderFactory(trace, "server")
    listener = tcp.listen(reactor, servers)
    clients = RecorderFactory(trace, "client")
    tcp.connect(reactor, *listener.address, clients)
    tcp.connect(reactor, *listener.address, clients)
    run_until(reactor, lambda: len(servers.protocols) == 2 and len(clients.protocols) == 2)
    aborted = servers.protocols[0]
    aborted.transport.write(b"q" * 8_000_000)
    aborted.transport.abort_connection()
    assert aborted.transport.buffer_size == 0
    reactor.close()  # the other connections, and the listener, are closed with it
    assert isinstance(aborted.reason, ConnectionAbortedError)
    assert all(p.reason is not None for p in servers.protocols + clients.protocols)
    assert sorted(trace).count(("client1", "lost")) == 1


def test_reset_connection_ends_with_a_reset_that_the_peer_sees_as_an_error(reactor):
    protocol = Recorder([], "p")
    with socket.create_server(("127.0.0.1", 0)) as listener, \
            socket.create_connection(listener.getsockname()) as right:
        left, _ = listener.accept()
        transport = Transport(reactor, left, protocol)
        transport.start()
        transport.write(b"half a po")
        transport.reset_connection()
        transport.reset_connection()  # once ended, it stays ended
        run_until(reactor, lambda: protocol.reason is not None)
        assert isinstance(protocol.reason, ConnectionResetError)
        with pytest.raises(ConnectionResetError):
            while right.recv(100):
                pass


def test_writes_must_be_bytes_and_come_before_the_close(fake_reactor):
    left, right = socket.socketpair()
    protocol = Recorder([], "p")
    transport = Transport(fake_reactor, left, protocol)
    transport.start()
    with pytest.raises(TypeError, match="bytes, not str"):
        transport.write("a poem")
    transport.write(b"x" * 10_000_000)  # stays buffered: nobody reads
    transport.lose_connection()
    with pytest.raises(RuntimeError, match="after lose_connection"):
        transport.write(b"more")
    transport.abort_connection()
    run_until(fake_reactor, lost(protocol))
    right.close()


def _public_methods(cls):
    return {name: inspect.signature(member) for name, member in vars(cls).items()
            if callable(member) and not name.startswith("_")}


@pytest.mark.parametrize("fake, real", [(MemoryTransport, Transport),
                                        (FakeClock, MonotonicClock)])
def test_the_fakes_have_the_real_public_methods(fake, real):
    fake_methods = _public_methods(fake)
    for name, signature in _public_methods(real).items():
        assert name in fake_methods, f"{fake.__name__} lacks {name}()"
        assert fake_methods[name] == signature, f"{fake.__name__}.{name}{fake_methods[name]}"


def test_the_memory_transport_has_the_real_attributes(fake_reactor):
    left, right = socket.socketpair()
    real = Transport(fake_reactor, left, Protocol())
    fake = MemoryTransport(Protocol())
    for name in ("buffer_size", "disconnected", "protocol"):
        assert type(getattr(fake, name)) is type(getattr(real, name)), name
    real.abort_connection()
    fake_reactor.run_once(0)
    right.close()


def test_a_protocol_runs_on_the_memory_transport():
    trace = []
    protocol = Recorder(trace, "p", on_made=lambda p: p.transport.write(b"hello"))
    transport = MemoryTransport(protocol)
    transport.start()
    transport.receive(b"abc")
    transport.receive_eof()
    assert transport.value() == b"hello"
    assert protocol.received == b"abc"
    assert trace == [("p", "made"), ("p", "eof"), ("p", "lost")]
    assert isinstance(protocol.reason, ConnectionDone)


def test_a_connection_select_cannot_watch_is_closed_with_the_reason(errors):
    trace = []
    with Reactor(multiplexer.create("select"), report_error=errors.report) as reactor:
        servers = RecorderFactory(trace, "server")
        listener = tcp.listen(reactor, servers)  # a low descriptor: select can watch it
        with contextlib.ExitStack() as stack:
            stack.enter_context(descriptors_past_fd_setsize())
            client = stack.enter_context(socket.create_connection(listener.address))
            run_until(reactor, lambda: servers.protocols and lost(*servers.protocols)())
            assert client.recv(10) == b""  # closed, not left hanging
        [server] = servers.protocols
        assert isinstance(server.reason, multiplexer.TooManyDescriptors)
        assert "FD_SETSIZE (1024)" in str(server.reason)
        listener.close()


def test_out_of_descriptors_the_listener_backs_off_then_accepts_again(fake_reactor, clock,
                                                                       errors):
    trace = []
    servers = RecorderFactory(trace, "server", on_made=lambda p: p.transport.lose_connection())
    listener = tcp.listen(fake_reactor, servers)
    with socket.create_connection(listener.address) as client:
        with out_of_descriptors():
            fake_reactor.run_once(0)  # accept() fails with EMFILE
            fake_reactor.run_once(0)  # ...and is not retried at once: no busy loop
            [(exc, context)] = errors.take()
            assert exc.errno == errno.EMFILE
            assert f"retrying in {tcp.ACCEPT_BACKOFF}s" in context
        assert servers.protocols == []
        clock.advance(tcp.ACCEPT_BACKOFF)
        run_until(fake_reactor, lambda: servers.protocols and lost(*servers.protocols)())
        assert client.recv(10) == b""  # accepted after all, and served
    listener.close()


def test_a_write_after_lose_connection_is_refused_even_once_the_connection_is_gone(
        fake_reactor):
    # Whether the socket took everything at once (and the connection closed at once)
    # must not decide whether the mistake is seen: it is refused either way.
    left, right = socket.socketpair()
    protocol = Recorder([], "p")
    transport = Transport(fake_reactor, left, protocol)
    transport.start()
    transport.write(b"x" * 10)  # the socket takes it all: nothing waits
    transport.lose_connection()
    with pytest.raises(RuntimeError, match="after lose_connection"):
        transport.write(b"more")
    run_until(fake_reactor, lost(protocol))
    right.close()


class PausesAtOnce(Protocol):
    """Pauses reading in connection_made, and records what it reads."""

    def __init__(self):
        self.received = []

    def connection_made(self, transport):
        super().connection_made(transport)
        transport.pause_producing()

    def data_received(self, data):
        self.received.append(data)


def test_a_protocol_that_pauses_in_connection_made_is_not_read_from(fake_reactor):
    left, right = socket.socketpair()
    protocol = PausesAtOnce()
    transport = Transport(fake_reactor, left, protocol)
    transport.start()
    right.send(b"hello")
    fake_reactor.run_once(0)
    fake_reactor.run_once(0)
    assert protocol.received == []  # paused: start() must not undo it
    transport.resume_producing()
    run_until(fake_reactor, lambda: protocol.received)
    assert protocol.received == [b"hello"]
    transport.abort_connection()
    right.close()
