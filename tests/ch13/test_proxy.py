"""The caching poetry proxy: one upstream download however many clients ask, a poem
kept once fetched, a failure passed on as a reset and never kept, a download that
goes on when every client has hung up, and an upstream poem that must be framed.

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
from coro.netstring import encode
from coro.reactor.loop import Reactor
from coro.reactor.memory_transport import MemoryTransport
from coro.reactor.protocol import ConnectionDone
from poetry_server import framed, proxy
from poetry_server.client_limit import ClientLimit
from tests.reactor_fixtures import run_until
from coro.cli import parse_address
from tests.support import (LOOPBACK, ScriptedServer, assert_one_line_usage_error, catalogue_bytes,
                           needs_ipv6, read_all, reset, run_module, run_module_many)

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
        """Send ``poem`` framed on connection ``n`` and close it: the poem is over."""
        self.send(n, encode(poem))

    def send(self, n, data):
        """Send ``data`` as it is on connection ``n``, and close it."""
        self.connections[n].sendall(data)
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
    def start(upstream_address, **limits):
        return proxy.serve(reactor, socket.create_server((LOOPBACK, 0)), upstream_address,
                           idle_timeout=10.0, **limits)

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


def test_at_its_client_limit_the_proxy_stops_accepting_until_a_client_leaves(
        reactor, upstream, start_proxy, capsys):
    poem = catalogue_bytes("tyger")
    limit = ClientLimit(2)
    listener = start_proxy(upstream.address, limit=limit)
    cache = listener.factory.cache
    clients = [download(reactor, listener)[1] for _ in range(3)]
    run_until(reactor, lambda: upstream.accept() == 1 and len(cache.waiters) == 2)
    for _ in range(5):
        reactor.run_once(0)
    assert limit.count == 2 and len(cache.waiters) == 2  # the third waits in the queue
    upstream.send_poem(0, poem)
    run_until(reactor, lambda: all(clients))
    assert clients == [[("poem", poem)]] * 3  # the third, once a place was free
    settle(reactor)
    assert limit.count == 0 and upstream.accept() == 1
    capsys.readouterr()


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
    upstream.connections[0].sendall(encode(catalogue_bytes("raven"))[:500])
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


def test_a_download_every_client_gave_up_on_goes_on_and_fills_the_cache(
        reactor, upstream, start_proxy, capsys):
    poem = catalogue_bytes("tyger")
    listener = start_proxy(upstream.address)
    cache = listener.factory.cache
    first, _ = download(reactor, listener)
    second, _ = download(reactor, listener)
    run_until(reactor, lambda: upstream.accept() == 1 and len(cache.waiters) == 2)
    first.cancel()
    second.cancel()  # every client has hung up
    run_until(reactor, lambda: not cache.waiters)
    assert not upstream.closed_by_the_proxy(0)
    upstream.send_poem(0, poem)
    run_until(reactor, lambda: cache.poem is not None)
    upstream.stop_listening()  # from now on, fetching again would fail
    _, third = download(reactor, listener)
    run_until(reactor, lambda: third)
    assert third == [("poem", poem)]
    assert len(upstream.connections) == 1
    settle(reactor)
    host, port = upstream.address
    assert capsys.readouterr().err.splitlines()[-1] == \
        f"cached {len(poem)} bytes from {host}:{port}"


@pytest.mark.parametrize("sent, why", [
    (encode(b"A poem.\n")[:6], "the poem was cut short: {where} closed the connection after 6 "
                               "bytes of it, before the end its length announced"),
    (b"", "{where} closed the connection without sending a poem"),
    (b"A poem.\n", "{where} sent no framed poem (expected a digit at the start of a "
                   "netstring, got b'A'): the upstream must be a slow poetry server run "
                   "with --framed"),
    (b"1001:", "refused what {where} sent: netstring length 1001... is over the limit of "
               "1000 bytes"),
    (b"8:A poem.\n;", "refused what {where} sent: expected ',' after 8 bytes of payload, "
                      "got b';'"),
    (encode(b"A poem.\n") + b"8:", "refused what {where} sent: more after the poem"),
], ids=["cut-short", "nothing", "not-framed", "over-the-limit", "no-comma", "more-after"])
def test_a_poem_that_cannot_be_shown_whole_resets_the_client_and_is_not_kept(
        reactor, upstream, start_proxy, capsys, sent, why):
    listener = start_proxy(upstream.address, max_poem_bytes=1000)
    _, client = download(reactor, listener)
    run_until(reactor, lambda: upstream.accept() == 1)
    upstream.send(0, sent)  # and close, in good order
    run_until(reactor, lambda: client)
    assert client == [("failure", ConnectionResetError)]
    assert listener.factory.cache.poem is None
    host, port = upstream.address
    assert capsys.readouterr().err.splitlines()[-1] == \
        f"fetching the poem failed: {why.format(where=f'{host}:{port}')}"
    # Nothing was kept: the next client starts a new download, which succeeds.
    _, retry = download(reactor, listener)
    run_until(reactor, lambda: upstream.accept() == 2)
    upstream.send_poem(1, b"A whole poem.\n")
    run_until(reactor, lambda: retry)
    assert retry == [("poem", b"A whole poem.\n")]
    settle(reactor)


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


def test_cancelling_every_caller_leaves_the_fetch_running_and_its_poem_is_kept():
    fetches = Fetches()
    cache = proxy.PoemCache(fetches)
    first, second = cache.get(), cache.get()
    seen = [outcome_of(first), outcome_of(second)]
    first.cancel()
    second.cancel()
    assert seen == [[CancelledError], [CancelledError]]
    assert fetches.cancelled == [] and cache.fetching is fetches[0]
    fetches[0].callback(b"poem")
    assert cache.get().result == b"poem" and len(fetches) == 1


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


def test_a_failure_nobody_waits_for_any_more_leaves_nothing_behind():
    # The fetch says why it failed (the proxy's says it on stderr); the cache has
    # nobody to pass it on to, keeps nothing, and the next caller fetches again.
    fetches = Fetches()
    cache = proxy.PoemCache(fetches)
    waiter = cache.get()
    seen = outcome_of(waiter)
    waiter.cancel()
    fetches[0].errback(ConnectionResetError())
    assert seen == [CancelledError]
    assert fetches[0].result is None
    assert cache.fetching is None and cache.poem is None
    cache.get()
    assert len(fetches) == 2


# One connection on a memory transport and a fake clock: the stall timer.

class SlowClientTransport(MemoryTransport):
    """A memory transport whose buffer is full after every write, as a slow client's
    is: it pauses its producer until the test says the client has taken some."""

    def write(self, data):
        super().write(data)
        self.producer.pause_producing()


def one_client(reactor, transport_class=MemoryTransport):
    """A proxy's connection on a memory transport; returns (its fetches, the transport)."""
    fetches = Fetches()
    factory = proxy.PoemProxyFactory(reactor, ("127.0.0.1", 9), idle_timeout=30.0)
    factory.cache = proxy.PoemCache(fetches)
    transport = transport_class(factory.build_protocol(("127.0.0.1", 5555)))
    transport.start()
    return fetches, transport


@pytest.fixture
def served(clock, capsys):
    with Reactor(clock=clock) as reactor:
        yield reactor, *one_client(reactor)
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
    assert fetches.cancelled == []  # the fetch goes on, for the next client
    assert capsys.readouterr().err.splitlines()[-1] == \
        "client 127.0.0.1:5555 took nothing for 30s; dropped"


def test_the_poem_is_sent_at_once_and_the_connection_closed(served):
    reactor, fetches, transport = served
    fetches[0].callback(b"The whole poem.\n")
    assert transport.value() == b"The whole poem.\n"
    assert transport.eof_written and transport.disconnected


def test_a_client_that_reads_slowly_but_steadily_is_never_dropped(clock, capsys):
    # The poem goes out a piece at a time; every resume means the client took some,
    # so a client that takes a piece every 29s outlasts a 30s idle timeout.
    poem = bytes(range(256)) * (proxy.PIECE * 3 // 256 + 1)  # four pieces
    with Reactor(clock=clock) as reactor:
        fetches, transport = one_client(reactor, SlowClientTransport)
        fetches[0].callback(poem)
        for _ in range(3):
            assert not transport.disconnected
            tick(reactor, clock, 29.0)
            transport.protocol.resume_producing()
        assert transport.value() == poem and transport.disconnected
        assert isinstance(transport.lost_reason, ConnectionDone)
        assert reactor.pending_timers() == 0
    assert capsys.readouterr().err == ""


# The upstream download alone, on a memory transport and a fake clock.

def framed_fetch(reactor, max_bytes=1000):
    """An upstream download's protocol on a memory transport; returns (its outcome
    list, the transport)."""
    factory = framed.FramedPoemFactory(reactor, ("127.0.0.1", 9), timeout=30.0,
                                      max_bytes=max_bytes)
    transport = MemoryTransport(factory.build_protocol(("127.0.0.1", 9)))
    transport.start()
    return outcome_of(factory.deferred), transport


def test_a_framed_poem_is_whole_at_its_comma_however_it_is_cut(fake_reactor):
    poem = catalogue_bytes("jingyesi")  # three bytes a character
    seen, transport = framed_fetch(fake_reactor)
    framed = encode(poem)
    for byte in framed[:-1]:
        transport.receive(bytes([byte]))
    assert seen == [] and not transport.disconnected
    transport.receive(b",")
    assert seen == [poem] and isinstance(transport.lost_reason, ConnectionDone)


def test_an_upstream_that_goes_quiet_is_given_up_after_the_idle_timeout(fake_reactor, clock):
    seen, transport = framed_fetch(fake_reactor)
    transport.receive(b"20:The Tyger")
    tick(fake_reactor, clock, 29.0)
    transport.receive(b", Tyger")  # it sent something: the timer starts again
    tick(fake_reactor, clock, 29.0)
    assert seen == []
    tick(fake_reactor, clock, 1.0)
    assert seen == [TimeoutError]
    assert isinstance(transport.lost_reason, ConnectionAbortedError)


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


@contextlib.contextmanager
def framed_server(poem, *, delay=0.01, num_bytes=100, iface=LOOPBACK):
    """Run ``python -m poetry_server --framed`` serving ``poem``; yield its address."""
    child = subprocess.Popen([sys.executable, "-m", "poetry_server", "--framed", "--port", "0",
                              "--iface", iface, "--delay", str(delay),
                              "--num-bytes", str(num_bytes), poem],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             stdin=subprocess.DEVNULL)
    with child:
        try:
            line = child.stdout.readline()
            assert line.startswith(f"Serving {poem} on "), line + child.stderr.read()
            yield parse_address(line.split()[-1])
        finally:
            child.send_signal(signal.SIGINT)
            child.wait(timeout=10)
    assert child.returncode == 0


def test_the_command_line_proxies_a_framed_slow_poetry_server():
    with framed_server("tyger") as (host, port):
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


@needs_ipv6
def test_the_command_line_proxies_over_ipv6_on_both_sides():
    with framed_server("tyger", iface="::1") as (host, port):
        assert host == "::1"
        with proxy_process("--iface", "::1", f"[::1]:{port}") as (line, child):
            proxied, served = line.removeprefix("Proxying ").split(" on ")
            assert proxied == f"[::1]:{port}"
            address = parse_address(served)
            assert address[0] == "::1"
            poems, _ = read_all([address])
            child.send_signal(signal.SIGINT)
            _, err = child.communicate(timeout=10)
    assert poems == {1: catalogue_bytes("tyger")}
    assert child.returncode == 0
    assert err.splitlines()[0] == f"fetching the poem from [::1]:{port}"


def test_help_names_every_limit_with_its_default():
    result = run_module(MODULE, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: {PROG} ")
    text = " ".join(result.stdout.split())
    assert "--idle-timeout SECONDS give up on an upstream server that sends nothing, or a " \
           "client that takes nothing, for this long (default: 60)" in text
    assert "--max-poem-bytes N the longest poem to take from upstream" in text
    assert "(default: 16777216, 16 MiB)" in text
    assert "The upstream must send framed slow poetry (python -m poetry_server --framed" in text
    assert "The cache holds one poem, of at most --max-poem-bytes" in text


def test_usage_errors():
    with socket.create_server((LOOPBACK, 0)) as taken:
        busy = taken.getsockname()[1]
        cases = [
            ([], "the following arguments are required: [HOST:]PORT"),
            (["poems"], "not a port (1-65535) or HOST:PORT: 'poems'"),
            (["::1:10001"], "an IPv6 address goes in brackets: [::1]:10001, not '::1:10001'"),
            (["--iface", "[::1", "10001"], "--iface: no ']' after the IPv6 address in '[::1'"),
            (["10001", "10002"], "unrecognized arguments: 10002"),
            (["--port", "70000", "10001"], "--port: must be from 0 to 65535, not '70000'"),
            (["--idle-timeout", "0", "10001"], "--idle-timeout: must be a number of seconds"),
            (["--max-poem-bytes", "-1", "10001"],
             "--max-poem-bytes: must be from 0 to 1073741824, not '-1'"),
            (["--max-poem-bytes", "16M", "10001"],
             "--max-poem-bytes: not a whole number: '16M'"),
            (["--port", busy, "10001"], f"port {busy} on 127.0.0.1 is already in use"),
        ]
        results = run_module_many(MODULE, [args for args, _ in cases])
    for (args, message), result in zip(cases, results):
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
