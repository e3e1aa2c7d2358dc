"""The reactor-based slow poetry server: one thread, many clients, bad clients cost only themselves."""

import socket

import pytest

from coro.io.clock import FakeClock
from coro.reactor.loop import Reactor
from poetry_server import reactor_server
from poetry_server.client_limit import ClientLimit
from tests.support import (assert_one_line_usage_error,
                           check_500_clients_get_every_byte_while_bad_clients_misbehave,
                           check_serves_over_ipv6, needs_ipv6, out_of_descriptors, reset,
                           run_module)

MODULE = "poetry_server.reactor_server"


def test_500_clients_get_every_byte_while_bad_clients_misbehave():
    check_500_clients_get_every_byte_while_bad_clients_misbehave(MODULE)


def run_sender(poem, *, num_bytes, delay, idle_timeout=60.0):
    """A sender on a fake clock, talking to one end of a socketpair."""
    clock = FakeClock()
    reactor = Reactor(clock=clock)
    server_end, client_end = socket.socketpair()
    sender = reactor_server.PoemSender(reactor, server_end, ("127.0.0.1", 1), poem,
                                       num_bytes=num_bytes, delay=delay,
                                       idle_timeout=idle_timeout)
    sender.start()
    return clock, reactor, sender, client_end


def test_chunks_are_paced_by_timers_not_sleeps():
    clock, reactor, sender, client = run_sender(b"abcdefgh", num_bytes=3, delay=2.0)
    client.setblocking(False)
    seen = []
    with reactor, client:
        for step in range(4):
            reactor.run_once(0)
            try:
                seen.append((clock.now(), client.recv(100)))
            except BlockingIOError:
                seen.append((clock.now(), None))
            clock.advance(1.0)
        assert seen == [(0.0, b"abc"), (1.0, None), (2.0, b"def"), (3.0, None)]
        clock.advance(1.0)
        reactor.run_once(0)
        assert client.recv(100) == b"gh"
        assert sender.closed  # end of poem is end of connection
        assert client.recv(100) == b""


def test_a_client_that_never_reads_is_dropped_after_the_idle_timeout(capsys):
    poem = bytes(range(256)) * 40_000  # 10 MB: far more than the socket buffers hold
    clock, reactor, sender, client = run_sender(poem, num_bytes=1 << 20, delay=0.0,
                                                idle_timeout=30.0)
    with reactor, client:
        while not sender.waiting_for_room:
            reactor.run_once(0)
        clock.advance(29.9)
        reactor.run_once(0)
        assert not sender.closed
        clock.advance(0.1)
        reactor.run_once(0)
        assert sender.closed
        got = bytearray()
        while data := client.recv(1 << 20):
            got += data
    assert 0 < len(got) < len(poem)
    assert poem.startswith(got)  # what it did get was right, and then it ended
    assert capsys.readouterr().err == "client 127.0.0.1:1 took nothing for 30s; dropped\n"


def test_a_client_that_hangs_up_costs_only_itself(capsys):
    clock, reactor, sender, client = run_sender(b"x" * 100, num_bytes=10, delay=1.0)
    with reactor:
        reactor.run_once(0)
        reset(client)
        clock.advance(1.0)
        for _ in range(3):
            reactor.run_once(0)
            clock.advance(1.0)
        assert sender.closed
        assert reactor.pending_timers() == 0
    assert "hung up before the end of the poem" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--idle-timeout", "0", "tyger"],
                                  ["--idle-timeout", "soon", "tyger"]])
def test_bad_options_are_one_line(args):
    assert_one_line_usage_error(run_module(MODULE, *args), f"python -m {MODULE}")


def test_a_slow_reader_is_not_mistaken_for_a_stalled_one():
    poem = bytes(range(256)) * 40_000
    clock, reactor, sender, client = run_sender(poem, num_bytes=1 << 20, delay=0.0,
                                                idle_timeout=30.0)
    with reactor, client:
        while not sender.waiting_for_room:
            reactor.run_once(0)
        clock.advance(20)
        taken = sender.offset
        client.recv(1 << 20)  # the client reads a little: the server can send more
        while sender.offset == taken:
            reactor.run_once(0)
        clock.advance(20)  # 40s since the chunk began, 20s since the last progress
        reactor.run_once(0)
        assert not sender.closed
        clock.advance(10)
        reactor.run_once(0)
        assert sender.closed


def test_out_of_descriptors_the_server_backs_off_then_serves(capsys):
    clock = FakeClock()
    with Reactor(clock=clock) as reactor:
        listener = socket.create_server(("127.0.0.1", 0))
        limit = ClientLimit(10)
        reactor_server.Acceptor(reactor, listener, reactor_server.poem_sender(
            reactor, b"a poem", limit, num_bytes=100, delay=1.0, idle_timeout=60.0), limit)
        with socket.create_connection(listener.getsockname()) as client:
            with out_of_descriptors():
                reactor.run_once(0)  # accept() fails with EMFILE
                reactor.run_once(0)  # ...and is not retried at once: no busy loop
            assert capsys.readouterr().err == (
                f"accept: Too many open files; retrying in {reactor_server.ACCEPT_BACKOFF}s\n")
            clock.advance(reactor_server.ACCEPT_BACKOFF)
            reactor.run_once(0)  # accepting again
            reactor.run_once(0)  # the client is accepted
            reactor.run_once(0)  # and sent its poem, which is all of it
            client.settimeout(10)  # a watchdog only: the bytes are there already
            assert client.recv(100) == b"a poem"
            assert client.recv(100) == b""


@needs_ipv6
@pytest.mark.parametrize("module", ["poetry_server", "poetry_server.reactor_server"])
def test_the_reactor_server_serves_over_ipv6(module):
    check_serves_over_ipv6(module)
