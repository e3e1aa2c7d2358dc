"""Chapter 9's exercises: an echo server in capitals, a server that counts bytes, and the
echo server bounded against a client that never reads. Protocols on the memory transport;
the servers on real sockets."""

import signal
import socket
import subprocess
import sys

import pytest

from coro.reactor import tcp
from coro.reactor.memory_transport import MemoryTransport
from coro.reactor.protocol import ConnectionDone, Factory
from coro.reactor.transport import Transport
from exercises.ch09_bounded_echo import BoundedUpperEcho
from exercises.ch09_byte_count import ByteCounterFactory
from exercises.ch09_upper_echo import UpperEcho
from tests.reactor_fixtures import run_until
from tests.startup_checks import check_server_ends_cleanly, each_signal


class Kept(Factory):
    """A factory that keeps the protocols it builds, for the test to look at."""

    def __init__(self, protocol):
        super().__init__(protocol)
        self.built = []

    def build_protocol(self, address):
        protocol = super().build_protocol(address)
        self.built.append(protocol)
        return protocol


def exchange(reactor, address, data):
    """Send ``data``, half-close, and return every byte that comes back, running the
    reactor meanwhile (the server is on it)."""
    with socket.create_connection(address, timeout=10) as client:
        client.sendall(data)
        client.shutdown(socket.SHUT_WR)
        client.setblocking(False)
        received = bytearray()
        ended = False

        def the_server_has_closed():
            nonlocal ended
            try:
                while chunk := client.recv(65536):
                    received.extend(chunk)
                ended = True
            except BlockingIOError:
                pass
            return ended

        run_until(reactor, the_server_has_closed)
    return bytes(received)


def run_server(module):
    """Start ``python -m module``; return the process and its port."""
    server = subprocess.Popen([sys.executable, "-m", module], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    return server, int(server.stdout.readline().rsplit(":", 1)[1])


def ask(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(data)
        client.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := client.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def stop(server):
    server.send_signal(signal.SIGINT)
    try:
        status = server.wait(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()  # a hang guard only
        err = server.stderr.read()
        server.stdout.close()
        server.stderr.close()
    return status, err


# Exercise 1: echo in capitals.

def test_the_echo_protocol_answers_each_chunk_in_capitals():
    transport = MemoryTransport(UpperEcho())
    transport.start()
    transport.receive(b"Tyger Tyger, ")
    transport.receive("burning bright — 燃烧\n".encode())
    assert transport.value() == "TYGER TYGER, BURNING BRIGHT — 燃烧\n".encode()
    transport.receive_eof()  # the client is done: close, the answer sent
    assert isinstance(transport.lost_reason, ConnectionDone)


def test_the_echo_server_on_the_reactor(reactor):
    listener = tcp.listen(reactor, Factory(UpperEcho))
    assert exchange(reactor, listener.address, b"tyger tyger\n" * 1000) == b"TYGER TYGER\n" * 1000


def test_the_echo_server_on_the_command_line():
    server, port = run_server("exercises.ch09_upper_echo")
    with server:
        answers = [ask(port, b"tyger"), ask(port, b"lorelei\n")]
        assert stop(server) == (0, "")
    assert answers == [b"TYGER", b"LORELEI\n"]


@each_signal
def test_a_signal_the_moment_the_echo_server_is_up_stops_it_cleanly(signum):
    check_server_ends_cleanly(signum, "exercises.ch09_upper_echo",
                              first_line=r"Echoing in capitals on 127\.0\.0\.1:\d+\n")


# Exercise 2: bytes counted per client, and for every client.

def test_each_client_hears_its_count_and_everyones():
    factory = ByteCounterFactory()
    said = []
    for pieces in ([b"abc", b"de"], [b"fghijkl"], []):
        transport = MemoryTransport(factory.build_protocol(("127.0.0.1", 40000)))
        transport.start()
        for piece in pieces:
            transport.receive(piece)
        assert transport.value() == b""  # nothing until the client is done
        transport.receive_eof()
        assert isinstance(transport.lost_reason, ConnectionDone)
        said.append(transport.value())
    assert said == [b"5 bytes from you; 5 bytes from 1 client so far\n",
                    b"7 bytes from you; 12 bytes from 2 clients so far\n",
                    b"0 bytes from you; 12 bytes from 3 clients so far\n"]


def test_the_byte_counter_on_the_command_line():
    server, port = run_server("exercises.ch09_byte_count")
    with server:
        answers = [ask(port, b"x" * 100_000), ask(port, b"tyger\n")]
        assert stop(server) == (0, "")
    assert answers == [b"100000 bytes from you; 100000 bytes from 1 client so far\n",
                       b"6 bytes from you; 100006 bytes from 2 clients so far\n"]


# Exercise 3: a client that sends and never reads.

def test_the_bounded_echo_makes_its_transport_the_producer_of_its_writes():
    transport = MemoryTransport(BoundedUpperEcho())
    transport.start()
    assert transport.producer is transport
    transport.producer.pause_producing()  # what the buffer above its high-water mark does
    assert not transport.reading
    transport.producer.resume_producing()
    assert transport.reading


@pytest.fixture
def small_buffered_listener():
    """A listening socket whose connections have small system buffers, so that what a
    client does not read piles up in the server's transport, not in the system."""
    sock = socket.socket()
    for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):  # accepted sockets inherit them
        sock.setsockopt(socket.SOL_SOCKET, option, 4096)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_the_bounded_echo_stops_reading_a_client_that_never_reads(reactor,
                                                                   small_buffered_listener):
    factory = Kept(BoundedUpperEcho)
    listener = tcp.Listener(reactor, small_buffered_listener, factory)
    most = Transport.high_water + Transport.read_size  # one read past the mark, at most
    data = memoryview(b"never read " * 100_000)
    sent = 0
    with socket.socket() as client:
        for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
            client.setsockopt(socket.SOL_SOCKET, option, 4096)
        client.connect(listener.address)
        client.setblocking(False)
        run_until(reactor, lambda: factory.built)
        transport = factory.built[0].transport
        # Send a megabyte without reading. Exercise 1's server would read all of it, and
        # hold the echo in its out-buffer; this one stops reading, and the client is
        # stuck long before the end: twenty turns of the loop in a row leave it no room.
        # (The server runs in those turns, in this thread: were it reading, there
        # would be room.)
        turns_without_room = 0
        while sent < 1_000_000 and turns_without_room < 20:
            try:
                sent += client.send(data[sent:sent + 65536])
                turns_without_room = 0
            except BlockingIOError:
                turns_without_room += 1
            reactor.run_once(0.01)
            assert transport.buffer_size <= most
        assert sent < 1_000_000
        # Now read: the server reads again, and every byte comes back in capitals.
        received = bytearray()

        def every_byte_came_back():
            try:
                while len(received) < sent and (data := client.recv(65536)):
                    received.extend(data)
            except BlockingIOError:
                pass
            assert transport.buffer_size <= most
            return len(received) == sent

        run_until(reactor, every_byte_came_back)
    assert received == bytes(data[:sent]).upper()
    run_until(reactor, lambda: transport.disconnected)  # the client closed: so does it


def test_the_bounded_echo_on_the_command_line():
    server, port = run_server("exercises.ch09_bounded_echo")
    with server:
        answer = ask(port, b"tyger tyger\n" * 100_000)
        assert stop(server) == (0, "")
    assert answer == b"TYGER TYGER\n" * 100_000

