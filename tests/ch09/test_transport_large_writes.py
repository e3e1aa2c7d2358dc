"""A large write to a peer that reads slowly, or not at all, is kept, not copied.

A server that sends the same large ``bytes`` object to many clients (the proxy of
chapter 13 sends its one cached poem to all of them) must not pay for a copy per
client of the part each socket did not take. The transport keeps a reference to an
immutable ``bytes`` object and an offset into it. A mutable buffer (a ``bytearray``)
is copied, since its owner may change it after ``write`` returns.
"""

import socket
import tracemalloc

from coro.reactor import tcp
from coro.reactor.protocol import Factory, Protocol
from coro.reactor.transport import Transport
from tests.reactor_fixtures import run_until

POEM = bytes(range(256)) * (4 * 4096)  # 4 MiB, no two neighbouring KiB alike
CLIENTS = 10
SMALL_BUFFER = 4096  # bytes; the kernel doubles it and keeps its own share


class Sender(Protocol):
    """Writes ``payload`` once, as soon as it is connected, and keeps its transport."""

    def __init__(self, payload, senders):
        self.payload = payload
        senders.append(self)

    def connection_made(self, transport):
        super().connection_made(transport)
        self.transport.write(self.payload)


def slow_listener(reactor, payload, senders):
    """A listener whose connections each write ``payload``, with small send buffers
    (accepted sockets inherit SO_SNDBUF from the listening one), so that most of it
    stays in each transport."""
    factory = Factory()
    factory.build_protocol = lambda address: Sender(payload, senders)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER)
    sock.bind(("127.0.0.1", 0))
    sock.listen(CLIENTS)
    return tcp.Listener(reactor, sock, factory)


def never_reading_client(address):
    """A client that takes nothing: its receive buffer is set small before it connects."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
    sock.connect(address)
    return sock


def read_everything(reactor, clients, expected):
    """Read every client to the end while the reactor runs; return what each got."""
    received = {sock: bytearray() for sock in clients}

    def reader(sock):
        def on_readable():
            data = sock.recv(1 << 20)
            received[sock] += data
            if not data:
                reactor.remove_reader(sock)
        return on_readable

    for sock in clients:
        sock.setblocking(False)
        reactor.add_reader(sock, reader(sock))
    run_until(reactor, lambda: all(len(data) >= expected for data in received.values()))
    for sock in clients:
        reactor.remove_reader(sock)
    return [bytes(data) for data in received.values()]


def test_a_large_bytes_write_is_kept_by_reference_and_every_byte_arrives(reactor):
    senders = []
    listener = slow_listener(reactor, POEM, senders)
    clients = []
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(CLIENTS):
            clients.append(never_reading_client(listener.address))
        run_until(reactor, lambda: len(senders) == CLIENTS)
        held, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        waiting = [sender.transport.buffer_size for sender in senders]
        assert all(size > len(POEM) // 2 for size in waiting), waiting
        # Each transport holds most of the poem, yet together they allocated less than
        # one copy of it: they all point into the one object.
        assert held - before < len(POEM) // 4, (held - before, waiting)
        assert read_everything(reactor, clients, len(POEM)) == [POEM] * CLIENTS
        assert all(sender.transport.buffer_size == 0 for sender in senders)
    finally:
        tracemalloc.stop()
        for sock in clients:
            sock.close()
        for sender in senders:
            sender.transport.abort_connection()
        listener.close()
        reactor.run_once(0)


def test_a_bytearray_is_copied_so_its_owner_may_change_it(reactor):
    senders = []
    payload = bytearray(POEM)
    listener = slow_listener(reactor, payload, senders)
    client = never_reading_client(listener.address)
    try:
        run_until(reactor, lambda: senders)
        assert senders[0].transport.buffer_size > len(POEM) // 2
        payload[:] = b"changed after write() returned"
        [got] = read_everything(reactor, [client], len(POEM))
        assert got == POEM
    finally:
        client.close()
        senders[0].transport.abort_connection()
        listener.close()
        reactor.run_once(0)


def test_many_small_writes_are_sent_together_once_buffered(fake_reactor):
    # Small writes behind a full socket join one buffer, so that one send takes many
    # of them, as before large writes were kept by reference.
    left, right = socket.socketpair()
    sends = []
    transport = Transport(fake_reactor, _CountingSocket(left, sends), Protocol())
    transport.start()
    transport.write(b"x" * (1 << 22))  # fills the socket; the rest waits
    for _ in range(100):
        transport.write(b"a line of a poem\n")
    right.setblocking(False)
    got = bytearray()

    def drain():
        try:
            got.extend(right.recv(1 << 20))
        except BlockingIOError:
            pass
        return transport.buffer_size == 0 and len(got) == (1 << 22) + 1700

    run_until(fake_reactor, drain)
    assert got == b"x" * (1 << 22) + b"a line of a poem\n" * 100
    assert len(sends) < 100  # not one send per small write
    transport.abort_connection()
    fake_reactor.run_once(0)
    right.close()


class _CountingSocket:
    """A real socket whose sends are counted."""

    def __init__(self, real, sends):
        self._real, self._sends = real, sends

    def send(self, data):
        self._sends.append(len(data))
        return self._real.send(data)

    def __getattr__(self, name):
        return getattr(self._real, name)
