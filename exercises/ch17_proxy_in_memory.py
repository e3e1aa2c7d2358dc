"""Exercise 17.1: chapter 13's caching proxy under faults, with no socket.

The proxy is a server to its clients and a client to its upstream. Chapter 13 tested it
on loopback, with an upstream that the test served between two ticks. Here every
connection is a pair of in-memory transports (:func:`coro.testing.transports.connect`):
chapter 9's poetry server sends the framed poem upstream, 100 bytes a second on a fake
clock, and each client is chapter 11's poetry client. The test decides, between two
ticks, in what pieces the bytes arrive and which connection the network resets. The
proxy runs unchanged: only its one call to the network, ``get_framed_poem``, is
replaced, by one that connects in memory.

    python -m pytest exercises/ch17_proxy_in_memory.py
"""

import pytest

from coro.deferred_client import PoetryClientFactory
from coro.io.clock import FakeClock
from coro.netstring import encode
from coro.reactor.loop import Reactor
from coro.testing.transports import connect
from coro.trace import Trace
from poetry_server import load_poem, proxy
from poetry_server.framed import FramedPoemFactory
from poetry_server.protocol_server import PoetryServerFactory

POEM = load_poem("tyger").data
FRAMED = encode(POEM)  # what the upstream sends: b"803:...," in all 808 bytes
UPSTREAM, PROXY = ("127.0.0.1", 10000), ("127.0.0.1", 10001)
TIMEOUT = 60.0  # every idle timeout: the proxy's, its upstream's, its clients'


class Network:
    """The proxy, its upstream and its clients, in memory, on one reactor.

    Each :meth:`tick` moves the fake clock on, runs the timers that are due, then pumps
    every connection in the order it was made: the upstream connection is made while
    the first client connects, before that client's own, so what the upstream sends
    in a tick reaches the proxy, and what the proxy sends then reaches its clients.
    """

    def __init__(self, reactor, *, chunk_size=None):
        self.reactor, self.chunk_size = reactor, chunk_size
        self.upstream = PoetryServerFactory(reactor, FRAMED, num_bytes=100, delay=1.0,
                                            idle_timeout=TIMEOUT)
        self.proxy = proxy.PoemProxyFactory(reactor, UPSTREAM, idle_timeout=TIMEOUT)
        self.fetches = []  # the proxy's upstream connections, one per download
        self.clients = []  # the clients' connections to the proxy
        self.connections = []  # all of them, in the order they were made

    def get_framed_poem(self, reactor, host, port, *, timeout, max_bytes):
        """``poetry_server.framed.get_framed_poem``, connected to the upstream in memory."""
        factory = FramedPoemFactory(reactor, (host, port), timeout=timeout,
                                    max_bytes=max_bytes)
        self.fetches.append(self.connect(factory.build_protocol((host, port)),
                                         self.upstream.build_protocol(PROXY)))
        return factory.deferred

    def client(self):
        """Connect a new client to the proxy; returns the list its outcome will be put
        in: the poem, or the type of the failure."""
        number = len(self.clients) + 1
        factory = PoetryClientFactory(self.reactor, number, timeout=TIMEOUT, trace=Trace())
        outcome = []
        factory.deferred.add_callbacks(outcome.append,
                                       lambda failure: outcome.append(failure.type))
        address = ("127.0.0.1", 50000 + number)
        self.clients.append(self.connect(factory.build_protocol(PROXY),
                                         self.proxy.build_protocol(address)))
        return outcome

    def connect(self, client, server):
        connection = connect(client, server, chunk_size=self.chunk_size)
        self.connections.append(connection)
        return connection

    def tick(self, seconds=1.0):
        self.reactor.clock.advance(seconds)
        self.reactor.run_once(0)
        for connection in self.connections:
            connection.pump()

    def run_until(self, condition, *, limit=100):
        """Tick until ``condition()`` holds, and fail after ``limit`` ticks."""
        for _ in range(limit):
            if condition():
                return
            self.tick()
        assert condition(), f"still waiting after {limit} ticks"


@pytest.fixture
def chunk_size():
    """The most bytes a protocol receives at once: as much as there is, unless a test is
    parametrized with its own."""
    return None


@pytest.fixture
def network(monkeypatch, chunk_size):
    """A :class:`Network` on a fake clock, whose proxy fetches through it."""
    with Reactor(clock=FakeClock()) as reactor:
        network = Network(reactor, chunk_size=chunk_size)
        monkeypatch.setattr(proxy, "get_framed_poem", network.get_framed_poem)
        yield network
        assert reactor.pending_timers() == 0, "a timer was left set"
        assert all(c.client.disconnected and c.server.disconnected
                   for c in network.connections), "a connection was left open"


def proxy_said(capsys):
    """The proxy's lines on stderr (the upstream server's are left out)."""
    return [line for line in capsys.readouterr().err.splitlines()
            if not line.startswith("client 127.0.0.1:10001 ")]


@pytest.mark.parametrize("chunk_size", [1, 7, None])
def test_every_client_gets_every_byte_however_the_network_cuts_them(network, capsys):
    # Three clients come while the poem is on its way, a fourth once it is cached.
    clients = [network.client()]
    for _ in range(2):
        network.tick()
        clients.append(network.client())
    network.run_until(lambda: all(clients))
    clients.append(network.client())
    network.tick(0)
    assert clients == [[POEM]] * 4
    assert len(network.fetches) == 1
    assert proxy_said(capsys) == ["fetching the poem from 127.0.0.1:10000",
                                  f"cached {len(POEM)} bytes from 127.0.0.1:10000"]


def test_a_client_reset_in_the_middle_of_the_download_costs_that_client_only(
        network, capsys):
    clients = [network.client() for _ in range(3)]
    for _ in range(3):
        network.tick()  # 400 of the poem's 808 bytes have come
    network.clients[1].reset()  # the network resets the second client's connection
    network.tick(0)
    assert clients == [[], [ConnectionResetError], []]
    assert len(network.proxy.cache.waiters) == 2
    assert not network.fetches[0].client.disconnected  # the download goes on
    network.run_until(lambda: clients[0] and clients[2])
    assert clients == [[POEM], [ConnectionResetError], [POEM]]
    assert network.proxy.cache.poem == POEM and len(network.fetches) == 1
    assert proxy_said(capsys) == ["fetching the poem from 127.0.0.1:10000",
                                  "client 127.0.0.1:50002 hung up before the poem came",
                                  f"cached {len(POEM)} bytes from 127.0.0.1:10000"]


@pytest.mark.parametrize("seconds", [0, 4, 7],
                         ids=["before-any-byte", "half-way", "all-but-the-last-8-bytes"])
def test_an_upstream_reset_fails_every_waiting_client_and_nothing_is_kept(
        network, capsys, seconds):
    clients = [network.client() for _ in range(2)]
    for _ in range(seconds):
        network.tick()  # after n ticks, (n + 1) * 100 bytes have come, or none at all
    network.fetches[0].reset()
    network.tick(0)
    # A reset is the one end a slow poetry client takes for a failure: a clean close
    # would give it a poem cut short that looks whole.
    assert clients == [[ConnectionResetError]] * 2
    assert network.proxy.cache.poem is None
    later = network.client()  # the next client starts a new download
    network.run_until(lambda: later)
    assert later == [POEM] and len(network.fetches) == 2
    assert proxy_said(capsys) == [
        "fetching the poem from 127.0.0.1:10000",
        "fetching the poem failed: connection reset by 127.0.0.1:10000",
        "fetching the poem from 127.0.0.1:10000",
        f"cached {len(POEM)} bytes from 127.0.0.1:10000"]
