"""The caching poetry proxy: one upstream download however many clients ask, a poem
kept once fetched, a failure passed on as a reset and never kept, and a download
nobody waits for any more cancelled.

"Fetched once" is proved by counting: the upstream here is a listener the test
drives itself, which accepts every connection the proxy makes (however many) and
sends, resets or watches each one when the test says so. Its sockets are served in
the test's own thread between two ticks of the reactor, so nothing runs at the same
time as anything else and nothing sleeps.
"""

import contextlib
import signal
import socket
import subprocess
import sys
import threading

import pytest

from coro.deferred.deferred import CancelledError, Deferred, succeed
from coro.deferred_client import get_poetry
from coro.reactor.loop import Reactor
from coro.reactor.memory_transport import MemoryTransport
from poetry_server import proxy, spawn
from tests.reactor_fixtures import run_until
from tests.support import (LOOPBACK, ScriptedServer, assert_one_line_usage_error, catalogue_bytes,
                           read_all, reset, run_module)

MODULE = "poetry_server.proxy"
PROG = f"python -m {MODULE}"


class CountingUpstream:
    """A listener on loopback standing for the upstream poetry server.

    :meth:`accept` takes every connection waiting to be accepted and returns how many
    there have been, so a second upstream connection cannot go unnoticed.
    """

    def __init__(self):
        self.listener = socket.create_server((LOOPBACK, 0))
        self.listener.setblocking(False)
        self.address = self.listener.getsockname()
        self.connections = []

    def accept(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except BlockingIOError:
                return len(self.connections)
            self.connections.append(sock)

    def send_poem(self, n, poem):
        """Send ``poem`` on connection ``n`` and close it: the poem is over."""
        self.connections[n].sendall(poem)
        self.connections[n].close()

    def closed_by_the_proxy(self, n):
        """Whether the proxy has closed connection ``n`` (cleanly or not)."""
        try:
            return self.connections[n].recv(1, socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except ConnectionResetError:
            return True

    def stop_listening(self):
        self.listener.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.listener.close()
        for sock in self.connections:
            sock.close()


@pytest.fixture
def upstream():
    with CountingUpstream() as server:
        yield server


@pytest.fixture
def start_proxy(reactor):
    """Start a proxy of an upstream on the test's reactor; returns its listener."""
    def start(upstream_address):
        return proxy.serve(reactor, socket.create_server((LOOPBACK, 0)), upstream_address,
                           idle_timeout=10.0)

    return start


def download(reactor, listener):
    """A client of the proxy: chapter 11's get_poetry. Returns (Deferred, outcome list)."""
    d = get_poetry(reactor, *listener.address)
    outcome = []
    d.add_callbacks(lambda poem: outcome.append(("poem", poem)),
                    lambda failure: outcome.append(("failure", failure.type)))
    return d, outcome


def settle(reactor):
    """Run until every connection has ended and every timer is gone."""
    run_until(reactor, lambda: not reactor.pending_timers())
    reactor.run_once(0)


def test_clients_that_come_while_the_poem_is_fetched_share_one_download(
        reactor, upstream, start_proxy, capsys):
    poem = catalogue_bytes("mariner")
    listener = start_proxy(upstream.address)
    cache = listener.factory.cache
    clients = [download(reactor, listener)[1] for _ in range(3)]
    run_until(reactor, lambda: upstream.accept() == 1 and len(cache.waiters) == 3)
    upstream.send_poem(0, poem)
    run_until(reactor, lambda: all(clients))
    assert clients == [[("poem", poem)]] * 3
    settle(reactor)
    assert upstream.accept() == 1
    host, port = upstream.address
    assert capsys.readouterr().err.splitlines() == [
        f"fetching the poem from {host}:{port}",
        f"cached {len(poem)} bytes from {host}:{port}",
    ]


def test_once_fetched_the_poem_comes_from_the_cache(reactor, upstream, start_proxy):
    poem = catalogue_bytes("jingyesi")
    listener = start_proxy(upstream.address)
    _, first = download(reactor, listener)
    run_until(reactor, lambda: upstream.accept() == 1)
    upstream.send_poem(0, poem)
    run_until(reactor, lambda: first)
    upstream.stop_listening()  # from now on, fetching again would fail
    later = [download(reactor, listener)[1] for _ in range(2)]
    run_until(reactor, lambda: all(later))
    assert [first, *later] == [[("poem", poem)]] * 3
    assert len(upstream.connections) == 1
    settle(reactor)


def test_a_failed_download_resets_every_waiting_client_and_is_not_kept(
        reactor, upstream, start_proxy, capsys):
    # A clean close would hand each client a short poem that looks whole; a reset is
    # the one end a slow poetry client takes for a failure.
    listener = start_proxy(upstream.address)
    cache = listener.factory.cache
    clients = [download(reactor, listener)[1] for _ in range(2)]
    run_until(reactor, lambda: upstream.accept() == 1 and len(cache.waiters) == 2)
    upstream.connections[0].sendall(catalogue_bytes("raven")[:500])
    reset(upstream.connections[0])
    run_until(reactor, lambda: all(clients))
    assert clients == [[("failure", ConnectionResetError)]] * 2
    _, retry = download(reactor, listener)
    run_until(reactor, lambda: upstream.accept() == 2)
    upstream.send_poem(1, catalogue_bytes("raven"))
    run_until(reactor, lambda: retry)
    assert retry == [("poem", catalogue_bytes("raven"))]
    settle(reactor)
    host, port = upstream.address
    assert f"fetching the poem failed: connection reset by {host}:{port}" \
        in capsys.readouterr().err.splitlines()


def test_an_upstream_that_refuses_resets_the_client(reactor, upstream, start_proxy, capsys):
    upstream.stop_listening()
    listener = start_proxy(upstream.address)
    _, client = download(reactor, listener)
    run_until(reactor, lambda: client)
    assert client == [("failure", ConnectionResetError)]
    settle(reactor)
    host, port = upstream.address
    assert f"fetching the poem failed: connection refused by {host}:{port}" \
        in capsys.readouterr().err.splitlines()


def test_the_download_goes_on_while_one_client_still_waits(reactor, upstream, start_proxy):
    poem = catalogue_bytes("tyger")
    listener = start_proxy(upstream.address)
    cache = listener.factory.cache
    leaving, left = download(reactor, listener)
    _, staying = download(reactor, listener)
    run_until(reactor, lambda: upstream.accept() == 1 and len(cache.waiters) == 2)
    leaving.cancel()  # the client closes its connection
    run_until(reactor, lambda: len(cache.waiters) == 1)
    assert not upstream.closed_by_the_proxy(0)
    upstream.send_poem(0, poem)
    run_until(reactor, lambda: staying)
    assert (left, staying) == ([("failure", CancelledError)], [("poem", poem)])
    settle(reactor)


def test_the_last_client_to_hang_up_cancels_the_download(
        reactor, upstream, start_proxy, capsys):
    listener = start_proxy(upstream.address)
    cache = listener.factory.cache
    first, _ = download(reactor, listener)
    second, _ = download(reactor, listener)
    run_until(reactor, lambda: upstream.accept() == 1 and len(cache.waiters) == 2)
    first.cancel()
    run_until(reactor, lambda: len(cache.waiters) == 1)
    assert not upstream.closed_by_the_proxy(0)
    second.cancel()
    run_until(reactor, lambda: upstream.closed_by_the_proxy(0))
    assert cache.fetching is None and cache.poem is None
    # Nothing was kept: the next client starts a new download.
    _, third = download(reactor, listener)
    run_until(reactor, lambda: upstream.accept() == 2)
    upstream.send_poem(1, b"A poem, at last.\n")
    run_until(reactor, lambda: third)
    assert third == [("poem", b"A poem, at last.\n")]
    settle(reactor)
    host, port = upstream.address
    assert f"every client hung up: stopped fetching from {host}:{port}" \
        in capsys.readouterr().err.splitlines()


def test_200_clients_get_every_byte_from_one_download(reactor, upstream, start_proxy):
    poem = catalogue_bytes("mariner")
    listener = start_proxy(upstream.address)
    cache = listener.factory.cache
    clients = [download(reactor, listener)[1] for _ in range(200)]
    run_until(reactor, lambda: upstream.accept() == 1 and len(cache.waiters) == 200)
    upstream.send_poem(0, poem)
    run_until(reactor, lambda: all(clients))
    assert all(outcome == [("poem", poem)] for outcome in clients)
    settle(reactor)
    assert upstream.accept() == 1


# The cache alone: Deferreds, no sockets.

class Fetches(list):
    """A fetch function for a PoemCache: each call makes a Deferred the test fires."""

    def __call__(self):
        d = Deferred(canceller=lambda d: self.cancelled.append(d))
        self.append(d)
        return d

    def __init__(self):
        super().__init__()
        self.cancelled = []


def outcome_of(d):
    seen = []
    d.add_callbacks(lambda poem: seen.append(poem),
                    lambda failure: seen.append(failure.type))
    return seen


def test_the_cache_gives_each_caller_its_own_deferred_fed_by_one_fetch():
    fetches = Fetches()
    cache = proxy.PoemCache(fetches)
    first, second = cache.get(), cache.get()
    assert first is not second and len(fetches) == 1
    seen = [outcome_of(first), outcome_of(second)]
    fetches[0].callback(b"poem")
    assert seen == [[b"poem"], [b"poem"]]
    assert cache.get().result == b"poem" and len(fetches) == 1


def test_the_cache_passes_a_failure_to_every_caller_and_forgets_it():
    fetches = Fetches()
    cache = proxy.PoemCache(fetches)
    seen = [outcome_of(cache.get()), outcome_of(cache.get())]
    fetches[0].errback(ConnectionRefusedError())
    assert seen == [[ConnectionRefusedError]] * 2
    assert fetches[0].result is None  # handled: passed on to the callers
    cache.get().add_errback(lambda failure: None)
    assert len(fetches) == 2


def test_cancelling_one_caller_leaves_the_others_and_the_last_cancels_the_fetch():
    fetches = Fetches()
    cache = proxy.PoemCache(fetches)
    first, second = cache.get(), cache.get()
    seen = [outcome_of(first), outcome_of(second)]
    first.cancel()
    assert seen == [[CancelledError], []] and fetches.cancelled == []
    second.cancel()
    assert seen == [[CancelledError], [CancelledError]]
    assert fetches.cancelled == [fetches[0]] and cache.fetching is None


def test_a_fetch_that_raises_is_a_failure_like_any_other():
    def broken_fetch():
        raise OSError("no route")

    cache = proxy.PoemCache(broken_fetch)
    assert outcome_of(cache.get()) == [OSError]


def test_a_cancelled_caller_that_had_its_poem_changes_nothing():
    cache = proxy.PoemCache(lambda: succeed(b"poem"))
    d = cache.get()
    d.cancel()
    assert d.result == b"poem" and cache.poem == b"poem"


def test_a_stray_failure_with_nobody_waiting_is_not_swallowed(unhandled_failures):
    # Only a cancel can end a fetch that nobody waits for; anything else is a bug,
    # and it stays on the fetch's Deferred to be reported.
    fetches = Fetches()
    cache = proxy.PoemCache(fetches)
    cache.get()
    cache.waiters.clear()  # as if the caller had gone without cancelling
    fetches[0].errback(KeyError("bug"))
    del cache, fetches
    [reported] = unhandled_failures.take()
    assert reported.check(KeyError)


# One connection on a memory transport and a fake clock: the stall timer.

@pytest.fixture
def served(clock, capsys):
    with Reactor(clock=clock) as reactor:
        fetches = Fetches()
        factory = proxy.PoemProxyFactory(reactor, ("127.0.0.1", 9), idle_timeout=30.0)
        factory.cache = proxy.PoemCache(fetches)
        protocol = factory.build_protocol(("127.0.0.1", 5555))
        transport = MemoryTransport(protocol)
        transport.start()
        yield reactor, fetches, transport
        assert reactor.pending_timers() == 0


def tick(reactor, clock, seconds):
    clock.advance(seconds)
    reactor.run_once(0)


def test_a_client_that_takes_nothing_is_dropped_after_the_idle_timeout(served, clock, capsys):
    reactor, fetches, transport = served
    transport.protocol.pause_producing()  # what the transport does when its buffer is full
    tick(reactor, clock, 29.0)
    transport.protocol.resume_producing()  # the client read
    tick(reactor, clock, 29.0)
    assert transport.lost_reason is None
    transport.protocol.pause_producing()
    tick(reactor, clock, 30.0)
    assert isinstance(transport.lost_reason, ConnectionAbortedError)
    assert fetches.cancelled == [fetches[0]]  # it was the only client waiting
    assert capsys.readouterr().err.splitlines()[-1] == \
        "client 127.0.0.1:5555 took nothing for 30s; dropped"


def test_the_poem_is_sent_at_once_and_the_connection_closed(served):
    reactor, fetches, transport = served
    fetches[0].callback(b"The whole poem.\n")
    assert transport.value() == b"The whole poem.\n"
    assert transport.eof_written and transport.disconnected


# The command line.

@contextlib.contextmanager
def proxy_process(*args):
    """Run ``python -m poetry_server.proxy args...``; yield (its first line, process)."""
    child = subprocess.Popen([sys.executable, "-m", MODULE, *map(str, args)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             stdin=subprocess.DEVNULL)
    with child:
        try:
            yield child.stdout.readline().rstrip("\n"), child
        finally:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
            child.wait(timeout=10)


def test_the_command_line_proxies_a_slow_poetry_server():
    with spawn("tyger", delay=0.01, num_bytes=100) as [(host, port)]:
        with proxy_process(port) as (line, child):
            assert line.startswith(f"Proxying {host}:{port} on 127.0.0.1:")
            address = ("127.0.0.1", int(line.rsplit(":", 1)[1]))
            poems, _ = read_all([address] * 3)  # three raw clients, as nc would be
            later, _ = read_all([address])
            child.send_signal(signal.SIGINT)
            _, err = child.communicate(timeout=10)
    assert list(poems.values()) + list(later.values()) == [catalogue_bytes("tyger")] * 4
    assert child.returncode == 0
    assert err.splitlines()[0] == f"fetching the poem from {host}:{port}"
    assert "Traceback" not in err


def test_help():
    result = run_module(MODULE, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: {PROG} ")
    assert "--idle-timeout" in result.stdout


def test_usage_errors():
    with socket.create_server((LOOPBACK, 0)) as taken:
        busy = taken.getsockname()[1]
        for args, message in [
            ([], "the following arguments are required: [HOST:]PORT"),
            (["poems"], "not a port (1-65535) or HOST:PORT: 'poems'"),
            (["10001", "10002"], "unrecognized arguments: 10002"),
            (["--port", "70000", "10001"], "--port: must be from 0 to 65535, not '70000'"),
            (["--idle-timeout", "0", "10001"], "--idle-timeout: must be a number of seconds"),
            (["--port", busy, "10001"], f"port {busy} on 127.0.0.1 is already in use"),
        ]:
            result = run_module(MODULE, *args)
            assert_one_line_usage_error(result, PROG)
            assert message in result.stderr, (args, result.stderr)


def test_ctrl_c_while_clients_wait_closes_everything_and_exits_cleanly():
    accepted = threading.Event()
    upstream_saw = []

    def wait_for_the_proxy_to_close(socks):
        [sock] = socks
        accepted.set()
        upstream_saw.append(sock.recv(1))

    with ScriptedServer(wait_for_the_proxy_to_close) as upstream, \
            proxy_process(upstream.address[1]) as (line, child):
        port = int(line.rsplit(":", 1)[1])
        with socket.create_connection((LOOPBACK, port), timeout=10) as client:
            assert accepted.wait(timeout=10)
            child.send_signal(signal.SIGINT)
            _, err = child.communicate(timeout=10)
            try:
                client_saw = client.recv(1)
            except ConnectionResetError:
                client_saw = "reset"
    assert child.returncode == 0
    assert "Traceback" not in err
    assert upstream_saw == [b""] and client_saw in (b"", "reset")
