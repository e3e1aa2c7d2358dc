"""The transformation server: one netstring request, one netstring reply, and every mistake
a client can make answered with an error reply, while the other clients are served."""

import contextlib
import shutil
import signal
import socket
import subprocess
import sys

import pytest

from coro.netstring import NetstringDecoder, encode
from coro.reactor import tcp
from coro.reactor.memory_transport import MemoryTransport
from poetry_server.transform import TRANSFORMS
from poetry_server.transform_server import TransformServerFactory
from tests.reactor_fixtures import run_until
from coro.cli import parse_address
from tests.support import (assert_one_line_usage_error, catalogue_bytes, needs_ipv6, reset,
                           run_module)

MODULE = "poetry_server.transform_server"
KNOWN = "cummingsify, reverse, upper, fail"


def fail(poem):
    raise RuntimeError("on purpose")


@pytest.fixture
def server(reactor):
    """A server on the test's reactor, with one more transform, ``fail``, that raises.

    Requests are limited to 1000 bytes. The test ends only once the server has closed
    every connection, so that no timer of the server's is left behind.
    """
    factory = TransformServerFactory(reactor, {**TRANSFORMS, "fail": fail}, idle_timeout=10.0,
                                     max_length=1000)
    listener = tcp.listen(reactor, factory)
    yield factory, listener.address
    run_until(reactor, lambda: factory.connections == 0)


class Peer:
    """A plain socket playing a client: it sends bytes, and collects what comes back while
    the reactor runs, until the server ends the connection (``ended``)."""

    def __init__(self, reactor, address):
        self.reactor = reactor
        self.sock = socket.create_connection(address)
        self.sock.setblocking(False)
        self.received = bytearray()
        self.ended = None  # "closed" or "reset", once the server has ended the connection
        reactor.add_reader(self.sock, self._on_readable)

    def send(self, data):
        self.sock.sendall(data)  # small writes only: a loopback socket takes them at once

    def _on_readable(self):
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            self._end("reset")
            return
        if data:
            self.received += data
        else:
            self._end("closed")

    def _end(self, how):
        self.ended = how
        self.reactor.remove_reader(self.sock)
        self.sock.close()

    def hang_up(self):
        """Close now, with a reset, whatever the server is doing."""
        self.reactor.remove_reader(self.sock)
        reset(self.sock)
        self.ended = "hung up"

    def reply(self):
        """The payload of the one netstring received."""
        [payload] = NetstringDecoder().feed(bytes(self.received))
        return payload


def exchange(reactor, address, *chunks):
    """Send ``chunks`` one by one, each in its own tick; return the reply's payload."""
    peer = Peer(reactor, address)
    for chunk in chunks:
        peer.send(chunk)
        reactor.run_once(0)
    run_until(reactor, lambda: peer.ended)
    assert peer.ended == "closed"  # the server half-closed after its reply: no reset
    return peer.reply()


def request(name, poem):
    return encode(name.encode() + b"." + poem)


def test_a_poem_is_transformed_and_the_connection_ends(server, reactor):
    _, address = server
    assert exchange(reactor, address, b"25:cummingsify.HELLO, WORLD!,") == b"ok.hello, world!"


def reverse_lines(text):
    return "".join(reversed(text.splitlines(keepends=True)))


@pytest.mark.parametrize("name, expected", [
    ("cummingsify", str.lower), ("upper", str.upper), ("reverse", reverse_lines)])
@pytest.mark.parametrize("poem", ["jingyesi", "lorelei", "science"])
def test_each_transform_works_on_text_not_bytes(server, reactor, name, expected, poem):
    _, address = server
    text = catalogue_bytes(poem).decode()
    assert exchange(reactor, address, request(name, text.encode())) \
        == b"ok." + expected(text).encode()


def test_upper_case_works_on_characters(server, reactor):
    _, address = server
    assert exchange(reactor, address, request("upper", "Daß".encode())) == b"ok.DASS"


def test_an_unknown_transform_gets_an_error_reply_naming_the_known_ones(server, reactor):
    _, address = server
    assert exchange(reactor, address, request("frobnicate", b"x")) \
        == f"error.unknown transform 'frobnicate'; known transforms: {KNOWN}".encode()


@pytest.mark.parametrize("name", ["__init__", "find_transform", "TRANSFORMS", "UPPER", "upper "])
def test_names_from_the_network_are_only_looked_up_in_the_table(server, reactor, name):
    _, address = server
    assert exchange(reactor, address, request(name, b"x")).startswith(
        f"error.unknown transform {name!r}".encode())


def test_a_name_with_other_bytes_is_shown_escaped_and_cut_short(server, reactor):
    _, address = server
    assert exchange(reactor, address, request("\u00e9" + "x" * 60, b"x")).startswith(
        b"error.unknown transform '\\\\xc3\\\\xa9" + b"x" * 32 + b"...';")


@pytest.mark.parametrize("sent, message", [
    (b"abc,", "expected a digit at the start of a netstring, got b'a'"),
    (b":", "netstring has no length digits before ':'"),
    (b"07:upper.a,", "netstring length has a leading zero: b'07'"),
    (b"5x", "expected a digit or ':' after netstring length 5, got b'x'"),
    (b"5:upper.hello,", "expected ',' after 5 bytes of payload, got b'.'"),
])
def test_a_request_that_is_not_a_netstring_gets_an_error_reply(server, reactor, sent, message):
    _, address = server
    assert exchange(reactor, address, sent) \
        == f"error.not a netstring request: {message}".encode()


def test_a_whole_request_before_bad_bytes_is_answered(server, reactor):
    _, address = server
    assert exchange(reactor, address, request("upper", b"a") + b"garbage") == b"ok.A"


def test_a_request_without_a_dot_gets_an_error_reply(server, reactor):
    _, address = server
    assert exchange(reactor, address, b"5:upper,") \
        == b"error.a request is <transform>.<poem>, and this one has no '.'"


def test_a_too_long_request_is_refused_from_its_length_alone(server, reactor):
    # The limit is 1000 bytes. The client sends the digits "1001" and nothing else: no
    # colon, no poem. The reply comes all the same, so the server decided from the length
    # alone, without waiting for the poem (or holding any of it).
    _, address = server
    assert exchange(reactor, address, b"1001") == (
        b"error.not a netstring request: netstring length 1001... is over the limit "
        b"of 1000 bytes")


def test_a_request_at_the_limit_is_served(server, reactor):
    _, address = server
    poem = b"x" * (1000 - len(b"upper."))
    assert exchange(reactor, address, request("upper", poem)) == b"ok." + poem.upper()


def test_a_poem_that_is_not_utf8_gets_an_error_reply(server, reactor):
    _, address = server
    assert exchange(reactor, address, request("upper", b"ab\xff")) \
        == b"error.the poem is not UTF-8 text: invalid start byte at byte 2"


def test_a_transform_that_raises_is_reported_and_answered_and_the_server_goes_on(
        server, reactor, errors):
    _, address = server
    assert exchange(reactor, address, request("fail", b"x")) \
        == b"error.the fail transform failed: RuntimeError: on purpose"
    [(exc, context)] = errors.take()
    assert isinstance(exc, RuntimeError) and context.startswith("transform 'fail' for 127.0.0.1:")
    assert exchange(reactor, address, request("upper", b"still here")) == b"ok.STILL HERE"


def test_a_request_sent_one_byte_at_a_time_gets_the_right_reply(server, reactor):
    _, address = server
    data = request("upper", catalogue_bytes("lorelei"))
    reply = exchange(reactor, address, *(data[n:n + 1] for n in range(len(data))))
    assert reply == b"ok." + catalogue_bytes("lorelei").decode().upper().encode()


def test_the_reply_comes_only_with_the_last_byte(fake_reactor):
    factory = TransformServerFactory(fake_reactor)
    transport = MemoryTransport(factory.build_protocol(("127.0.0.1", 5555)))
    transport.start()
    data = request("upper", "静夜思".encode())
    written = []
    for n in range(len(data)):
        transport.receive(data[n:n + 1])
        written.append(transport.value())
    assert written == [b""] * (len(data) - 1) + [encode("ok.静夜思".encode())]
    assert transport.eof_written  # half-closed: the reply is all there is
    transport.receive_eof()
    assert factory.connections == 0


def test_a_request_cut_short_by_a_half_close_gets_an_error_reply(server, reactor):
    _, address = server
    peer = Peer(reactor, address)
    peer.send(b"10:upper")
    peer.sock.shutdown(socket.SHUT_WR)
    run_until(reactor, lambda: peer.ended)
    assert peer.reply() == b"error.the request was cut short: the connection ended after 8 " \
                           b"bytes of it"


def test_a_client_that_hangs_up_mid_request_costs_nothing_else(server, reactor, capsys):
    factory, address = server
    quitter = Peer(reactor, address)
    quitter.send(b"100:upper.The first line")
    run_until(reactor, lambda: factory.connections == 1)
    quitter.hang_up()
    assert exchange(reactor, address, request("upper", b"fine")) == b"ok.FINE"
    run_until(reactor, lambda: factory.connections == 0)
    assert capsys.readouterr().err.endswith("left before its reply (reset)\n")


def test_100_clients_at_once_while_others_misbehave(server, reactor, capsys):
    factory, address = server
    garbage, trickler, quitter, braggart = (Peer(reactor, address) for _ in range(4))
    garbage.send(b"\xff\x00 not a request \r\n")
    trickler.send(b"30:upp")
    quitter.send(b"50:upper.half a poe")
    braggart.send(b"99999999999:")
    clients = [Peer(reactor, address) for _ in range(100)]
    for n, client in enumerate(clients):  # each sends half its request, then the rest
        client.send(request("upper", f"poem number {n}".encode())[:9])
    reactor.run_once(0)
    quitter.hang_up()
    for n, client in enumerate(clients):
        client.send(request("upper", f"poem number {n}".encode())[9:])
    run_until(reactor, lambda: all(client.ended for client in clients))
    assert [client.reply() for client in clients] \
        == [f"ok.POEM NUMBER {n}".encode() for n in range(100)]
    run_until(reactor, lambda: garbage.ended and braggart.ended)
    assert garbage.reply().startswith(b"error.not a netstring request: expected a digit")
    assert braggart.reply().startswith(b"error.not a netstring request: netstring length")
    assert trickler.ended is None  # still waiting for the rest of its request
    trickler.sock.shutdown(socket.SHUT_WR)
    run_until(reactor, lambda: trickler.ended)
    assert trickler.reply().startswith(b"error.the request was cut short")
    capsys.readouterr()


@pytest.fixture
def memory_server(fake_reactor, clock):
    """A protocol on a memory transport, a fake clock and a 5-second idle timeout; the
    client closes at the end of the test if the server has not closed first."""
    factory = TransformServerFactory(fake_reactor, idle_timeout=5.0)
    transport = MemoryTransport(factory.build_protocol(("127.0.0.1", 5555)))
    transport.start()

    def after(seconds):
        clock.advance(seconds)
        fake_reactor.run_once(0)
        return transport.value()

    yield transport, after
    if not transport.disconnected:
        transport.receive_eof()  # the client closes: the server's timer goes with it


def test_a_silent_client_is_answered_after_the_idle_timeout(memory_server):
    transport, after = memory_server
    assert after(4.9) == b""
    assert after(0.1) == encode(b"error.no request within 5s")
    assert transport.eof_written


def test_a_client_that_never_closes_after_its_reply_is_dropped(memory_server, capsys):
    transport, after = memory_server
    transport.receive(request("upper", b"a"))
    assert transport.eof_written and not transport.disconnected
    transport.receive(b"whatever comes next is dropped")
    after(4.9)
    assert not transport.disconnected
    after(0.1)
    assert isinstance(transport.lost_reason, ConnectionAbortedError)
    assert capsys.readouterr().err == \
        "client 127.0.0.1:5555 did not close within 5s of its reply; dropped\n"


@contextlib.contextmanager
def spawn_transform_server(*options):
    """Run ``python -m poetry_server.transform_server --port 0 OPTIONS``; yield its
    ``(host, port)``, read from the ``Serving transforms ... on HOST:PORT`` line it prints.
    Stopped with Ctrl-C at the end, it must exit with status 0."""
    child = subprocess.Popen([sys.executable, "-m", MODULE, "--port", "0", *options],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, text=True)
    try:
        line = child.stdout.readline()
        assert line.startswith("Serving transforms "), line + child.stderr.read()
        yield parse_address(line.split(" on ")[-1].strip())
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=10) == 0, child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()


def blocking_exchange(address, data):
    """Send ``data`` with a plain blocking socket, half-close, and read to the end."""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


@needs_ipv6
def test_the_command_line_server_serves_over_ipv6():
    with spawn_transform_server("--iface", "::1") as address:
        assert address[0] == "::1"
        assert blocking_exchange(address, encode(b"upper.over ipv6")) \
            == encode(b"ok.OVER IPV6")


def test_the_command_line_server_announces_its_transforms_and_serves():
    with spawn_transform_server() as address:
        assert blocking_exchange(address, b"25:cummingsify.HELLO, WORLD!,") \
            == b"16:ok.hello, world!,"


@pytest.mark.skipif(shutil.which("nc") is None, reason="no nc on this machine")
def test_nc_is_a_client():
    # The book's build plays nc itself (it may have none); where nc exists, the real one
    # must get the same reply.
    with spawn_transform_server() as (host, port):
        result = subprocess.run(["nc", host, str(port)], input=b"25:cummingsify.HELLO, WORLD!,",
                                capture_output=True, timeout=30)
    assert result.stdout == b"16:ok.hello, world!,"


def test_a_client_that_sends_on_after_an_error_still_gets_the_reply():
    # The client sends a whole 4 MiB body after a length over the limit. Closing at
    # once, with that body unread, would make the server's kernel reset the connection,
    # and the reset would destroy the reply before the client read it. The server
    # half-closes instead, and reads and drops the rest: the client gets its reply.
    body = b"x" * (4 << 20)
    with spawn_transform_server("--max-length", "1000") as address:
        reply = blocking_exchange(address, b"%d:" % len(body) + body + b",")
    assert reply == encode(b"error.not a netstring request: netstring length 4194... "
                           b"is over the limit of 1000 bytes")


@pytest.mark.parametrize("args, message", [
    (["--port", "70000"], "--port: must be from 0 to 65535"),
    (["--idle-timeout", "0"], "--idle-timeout: must be a number of seconds > 0"),
    (["--max-length", "-1"], "--max-length: must be from 0 to 1073741824"),
    (["--iface", "no.such.host.invalid"], "cannot listen on 'no.such.host.invalid'"),
    (["upper"], "unrecognized arguments: upper"),
])
def test_usage_errors_are_one_line(args, message):
    result = run_module(MODULE, *args)
    assert_one_line_usage_error(result, f"python -m {MODULE}")
    assert message in result.stderr
