"""The transformation service against clients that hold on: a request trickled a byte at a
time, a client that trickles on after its reply instead of hanging up, and more clients
than it may serve at once. The time limits on a fake clock, then the attacks on real
sockets, against a server short of descriptors.
"""

import socket
import time

import pytest

from coro.netstring import encode
from coro.reactor.memory_transport import MemoryTransport
from poetry_server.client_limit import ClientLimit, default_max_clients
from poetry_server.transform_server import TransformServerFactory
from tests.server_attacks import burst, listen_backlog, run_server, trickle_attack
from tests.support import catalogue_bytes, run_module

MODULE = "poetry_server.transform_server"


@pytest.fixture
def connect(fake_reactor, clock):
    """``connect()`` a client to a server with a 5-second idle timeout, on a memory
    transport and a fake clock; returns the transport and ``after(seconds)``, which moves
    the clock and says what the server has written by then. Each client closes at the
    end of the test if the server has not closed first."""
    factory = TransformServerFactory(fake_reactor, idle_timeout=5.0)
    transports = []

    def connect():
        transport = MemoryTransport(factory.build_protocol(("127.0.0.1", 5555)))
        transport.start()
        transports.append(transport)

        def after(seconds):
            clock.advance(seconds)
            fake_reactor.run_once(0)
            return transport.value()

        return transport, after

    yield connect
    for transport in transports:
        if not transport.disconnected:
            transport.receive_eof()
    assert factory.limit.count == 0  # every client gave its place back


def test_a_request_trickled_a_byte_a_second_is_cut_off_when_its_time_is_up(connect):
    # Each byte would restart a timer of silence; the request has 5 seconds in all.
    transport, after = connect()
    for byte in b"100:upp":
        transport.receive(bytes([byte]))
        if after(1.0):
            break
    assert after(0) == encode(b"error.no whole request within 5s of connecting "
                              b"(5 bytes of it came)")
    assert transport.eof_written


def test_a_client_that_trickles_after_its_reply_is_dropped_when_its_time_is_up(
        connect, capsys):
    transport, after = connect()
    transport.receive(encode(b"upper.a"))
    assert transport.eof_written
    for _ in range(4):
        after(1.0)
        transport.receive(b"x")
    assert not transport.disconnected
    after(1.0)
    assert isinstance(transport.lost_reason, ConnectionAbortedError)
    assert capsys.readouterr().err == \
        "client 127.0.0.1:5555 did not close within 5s of its reply; dropped\n"


def test_each_client_holds_a_place_in_the_limit_until_it_has_gone(fake_reactor):
    limit = ClientLimit(2)
    factory = TransformServerFactory(fake_reactor, limit=limit)
    first = MemoryTransport(factory.build_protocol(("127.0.0.1", 1)))
    first.start()
    second = MemoryTransport(factory.build_protocol(("127.0.0.1", 2)))
    second.start()
    assert limit.full
    first.receive(encode(b"upper.a"))
    first.receive_eof()
    fake_reactor.run_once(0)  # connection_lost comes in the next tick
    assert limit.count == 1
    second.receive_eof()
    fake_reactor.run_once(0)
    assert limit.count == 0


def test_help_states_every_limit_with_its_default():
    result = run_module(MODULE, "--help")
    text = " ".join(result.stdout.split())
    assert "--idle-timeout SECONDS a client has this long from connecting to send its " \
           "whole request" in text
    assert "--max-clients N" in text and f"(default: {default_max_clients()}" in text
    assert "--backlog N" in text and f"(default: {socket.SOMAXCONN}" in text
    assert "--max-length BYTES" in text


# -- on real sockets ----------------------------------------------------------------------

REQUEST = encode(b"upper." + catalogue_bytes("science"))
REPLY = encode(b"ok." + catalogue_bytes("science").decode().upper().encode())


def test_an_honest_client_is_served_under_a_trickle_attack_out_of_descriptors():
    # 150 connections that each start a long request and send a byte of it every quarter
    # second, then trickle on after their error reply, and connect again when dropped,
    # against a server that may open 128 descriptors and gives a request one second.
    most = []
    with run_server(MODULE, "--idle-timeout", "1", fd_limit=128) as server:
        received, drops = trickle_attack(server.address, opening=b"900000:upper.",
                                         honest_request=REQUEST,
                                         watch=lambda: most.append(server.sockets()))
        stderr = server.stderr()
    assert received == REPLY
    assert drops > 0
    assert max(most) <= 128 // 2 + 4  # the clients, the listener, the reactor's own
    assert "Too many open files" not in stderr


def test_at_the_limit_the_server_stops_accepting_and_does_not_spin():
    # Five clients each start a request and say no more; seven more wait in the listen
    # queue, while the server holds no socket more and uses (next to) no processor
    # time. The five are answered when their time is up, then, in turn, the others.
    with run_server(MODULE, "--max-clients", 5, "--idle-timeout", "2") as server:
        idle = server.sockets()
        clients = [socket.create_connection(server.address, timeout=30) for _ in range(12)]
        try:
            for sock in clients:
                sock.sendall(b"10:upp")
            most, give_up = [], time.monotonic() + 20
            while len(most) < 3 or most[-1] < idle + 5:
                assert time.monotonic() < give_up, "the server did not accept five clients"
                most.append(server.sockets())
            cpu_before, start = server.cpu_seconds(), time.monotonic()
            while time.monotonic() < start + 1.0:
                most.append(server.sockets())
            cpu = server.cpu_seconds() - cpu_before
            assert max(most) == idle + 5
            assert cpu < 0.5 * (time.monotonic() - start)  # no busy loop: a generous bound
            replies = [_read_to_the_end_and_close(sock) for sock in clients]
        finally:
            for sock in clients:
                sock.close()
    assert replies == [encode(b"error.no whole request within 2s of connecting "
                              b"(6 bytes of it came)")] * 12


def _read_to_the_end_and_close(sock):
    received = b""
    while data := sock.recv(65536):
        received += data
    sock.close()  # at once: the server waits for it, holding a place
    return received


def test_the_backlog_option_reaches_listen():
    with run_server(MODULE, "--backlog", 77) as server:
        backlog = listen_backlog(server.address[1])
    if backlog is None:
        pytest.skip("no ss on this machine")
    assert backlog == 77


def test_a_burst_of_300_requests_while_the_server_is_stopped_is_all_answered():
    with run_server(MODULE) as server:
        connected, received = burst(server, count=300, request=REQUEST)
    assert connected == 300
    assert received == [REPLY] * 300
