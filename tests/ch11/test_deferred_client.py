"""The Deferred client: every check every client passes, and get_poetry's Deferred
fires once, with the poem or the error, and can be cancelled at any point."""

import socket

from coro import deferred_client
from coro.deferred.deferred import CancelledError
from poetry_server import spawn
from tests.client_checks import ConcurrentClientChecks
from tests.reactor_fixtures import run_until
from tests.support import ScriptedServer, catalogue_bytes, refused_address

class TestDeferredClient(ConcurrentClientChecks):
    stage = deferred_client
    module = "coro.deferred_client"


def outcome_of(d):
    trace = []
    d.add_callbacks(lambda poem: trace.append(("poem", poem)),
                    lambda failure: trace.append(("failure", failure.type)))
    return trace


def test_get_poetry_fires_once_with_the_whole_poem(reactor):
    with spawn("tyger", delay=0, num_bytes=50) as [(host, port)]:
        trace = outcome_of(deferred_client.get_poetry(reactor, host, port))
        run_until(reactor, lambda: trace)
    assert trace == [("poem", catalogue_bytes("tyger"))]


def test_get_poetry_fails_with_the_connection_error(reactor):
    with refused_address() as (host, port):
        trace = outcome_of(deferred_client.get_poetry(reactor, host, port))
        run_until(reactor, lambda: trace)
    assert trace == [("failure", ConnectionRefusedError)]


def test_cancelling_while_connecting_stops_connecting(fake_reactor):
    # Nothing runs the reactor, so the connect is still in progress when cancelled.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        d = deferred_client.get_poetry(fake_reactor, *listener.getsockname())
        trace = outcome_of(d)
        d.cancel()
        fake_reactor.run_once(0)
    assert trace == [("failure", CancelledError)]


def test_cancelling_mid_poem_closes_the_connection(reactor):
    def send_then_wait_for_the_close(socks):
        [sock] = socks
        sock.sendall(b"The first line, then nothing")
        try:
            seen.append(sock.recv(1))
        except ConnectionResetError:
            seen.append("reset")

    seen = []
    with ScriptedServer(send_then_wait_for_the_close) as server:
        d = deferred_client.get_poetry(reactor, *server.address)
        trace = outcome_of(d)
        run_until(reactor, lambda: server.accepted)
        d.cancel()
        assert trace == [("failure", CancelledError)]
        run_until(reactor, lambda: seen and not reactor.pending_timers())
    assert seen in ([b""], ["reset"])
