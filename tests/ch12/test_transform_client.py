"""The transform client: each poem is downloaded, then transformed, and kept as it was when
the transform fails, whichever way it fails; a reply cut short is told from a whole one."""

import functools
import socket
import threading
import types

import pytest

from coro import transform_client
from coro.deferred.deferred import CancelledError
from coro.deferred_client import get_poetry
from coro.netstring import NetstringDecoder, encode
from coro.reactor import tcp
from coro.transform_client import BadReply, TransformError, transform
from poetry_server import spawn
from poetry_server.transform import TRANSFORMS
from poetry_server.transform_server import TransformServerFactory
from tests import client_checks as check
from tests.ch12.test_transform_server import spawn_transform_server
from tests.reactor_fixtures import run_until
from tests.support import (SUMMARY_LINE, TASK_LINE, ScriptedServer, assert_one_line_usage_error,
                           catalogue_bytes, refused_address, reset, run_module)

MODULE = "coro.transform_client"


def with_transform_server(address, name="cummingsify"):
    """The stage, as the shared checks call it, with its transform server given."""
    return types.SimpleNamespace(download_all=functools.partial(
        transform_client.download_all, transform_server=address, transform_name=name))


@pytest.fixture
def server_down():
    """The stage with a transform server that refuses every connection: each poem is kept
    as it was, so the client must pass every check chapter 11's client passes."""
    with refused_address() as address:
        yield with_transform_server(address)


def test_the_downloads_interleave_in_one_thread(capsys):
    # The poems are lower-case already, so they come back from cummingsify unchanged.
    with spawn_transform_server() as transformer:
        check.check_the_downloads_overlap(with_transform_server(transformer), capsys)


def test_downloads_every_poem_with_the_transform_server_down(server_down, capsys):
    check.check_downloads_every_poem(server_down, capsys)


def test_non_ascii_poems_with_one_byte_chunks(server_down, capsys):
    check.check_non_ascii_poems_with_one_byte_chunks(server_down, capsys)


def test_a_server_that_resets_mid_poem(server_down, capsys):
    check.check_a_server_that_resets_mid_poem(server_down, capsys)


def test_a_server_that_never_sends_times_out(server_down, capsys):
    check.check_a_server_that_never_sends_times_out(server_down, capsys)


def test_a_clean_close_mid_poem_cannot_be_told_from_the_end(server_down, capsys):
    check.check_a_clean_close_mid_poem_cannot_be_told_from_the_end(server_down, capsys)


def test_one_refused_server_fails_only_its_task():
    with spawn_transform_server() as (_, port):
        check.check_one_refused_server_fails_only_its_task(
            MODULE, options=("--transform-server", port))


def test_ctrl_c_closes_everything_and_exits_cleanly():
    check.check_ctrl_c_closes_everything_and_exits_cleanly(
        MODULE, connections=3, options=("--transform-server", "1"))


def test_usage_errors(tmp_path):
    check.check_usage_errors(MODULE, tmp_path, options=("--transform-server", "1"))


@pytest.mark.parametrize("args, message", [
    (["10001"], "the following arguments are required: --transform-server"),
    (["--transform-server", "x", "10001"], "not a port (1-65535) or HOST:PORT: 'x'"),
    (["--transform-server", "1", "--transform", "upper.x", "10001"],
     "--transform: a transform name is ASCII letters, digits, '_' and '-', not 'upper.x'"),
])
def test_usage_errors_of_its_own(args, message):
    result = run_module(MODULE, *args)
    assert_one_line_usage_error(result, f"python -m {MODULE}")
    assert message in result.stderr


# -- transform(): one request, one Deferred -------------------------------------------------

def outcome_of(d):
    trace = []
    d.add_callbacks(lambda poem: trace.append(("poem", poem)),
                    lambda failure: trace.append((failure.type, str(failure.value))))
    return trace


@pytest.fixture
def transformer(reactor):
    """A transform server on the test's reactor; the test ends once it closed everything."""
    factory = TransformServerFactory(reactor)
    listener = tcp.listen(reactor, factory)
    yield listener.address
    run_until(reactor, lambda: factory.connections == 0)


def test_transform_fires_with_the_transformed_poem(reactor, transformer):
    trace = outcome_of(transform(reactor, *transformer, "upper", "静夜思, Daß".encode()))
    run_until(reactor, lambda: trace)
    assert trace == [("poem", "静夜思, DASS".encode())]


def test_an_error_reply_fails_with_the_servers_message(reactor, transformer):
    trace = outcome_of(transform(reactor, *transformer, "frobnicate", b"x"))
    run_until(reactor, lambda: trace)
    assert trace == [(TransformError, "unknown transform 'frobnicate'; known transforms: "
                                      f"{', '.join(TRANSFORMS)}")]


def test_a_refused_connection_fails_as_it_is(reactor):
    with refused_address() as address:
        trace = outcome_of(transform(reactor, *address, "upper", b"x"))
        run_until(reactor, lambda: trace)
    assert [kind for kind, _ in trace] == [ConnectionRefusedError]


def read_request(sock):
    """What a scripted transform server does first: read one whole request (None if the
    client closes before it has sent one)."""
    decoder = NetstringDecoder()
    while data := sock.recv(65536):
        if requests := decoder.feed(data):
            return requests[0]
    return None


def scripted(*replies, then=lambda sock: sock.shutdown(socket.SHUT_WR)):
    """A transform server that reads each request, sends the next of ``replies`` (raw
    bytes), then ends the connection with ``then`` (a clean half-close by default)."""

    def behaviour(socks):
        for sock, reply in zip(socks, replies):
            read_request(sock)
            sock.sendall(reply)
            then(sock)
            if sock.fileno() != -1:
                sock.recv(1)  # until the client closes

    return ScriptedServer(behaviour, clients=len(replies))


WHOLE = encode(b"ok.the whole poem is here")


@pytest.mark.parametrize("reply, error", [
    (b"", (BadReply, "the server closed the connection without a reply")),
    (WHOLE[:-4], (BadReply, f"the reply was cut short: the connection closed after "
                            f"{len(WHOLE) - 4} bytes of it")),
    (WHOLE[:-1], (BadReply, f"the reply was cut short: the connection closed after "
                            f"{len(WHOLE) - 1} bytes of it")),
    (WHOLE, ("poem", b"the whole poem is here")),
    (b"3:ok.,", ("poem", b"")),
    (b"5:maybe,", (BadReply, "not a reply: b'maybe'")),
    (b"HTTP/1.1 400 Bad Request\r\n", (
        BadReply, "the reply is not a netstring: expected a digit at the start of a "
                  "netstring, got b'H'")),
    (b"99999999:", (BadReply, "the reply is not a netstring: netstring length 9999999... is "
                              "over the limit of 4194304 bytes")),
])
def test_only_a_whole_reply_counts(reactor, reply, error):
    with scripted(reply) as server:
        trace = outcome_of(transform(reactor, *server.address, "upper", b"a poem"))
        run_until(reactor, lambda: trace)
    assert trace == [error]


def test_a_reset_fails_as_it_is(reactor):
    with scripted(b"26:ok.the whole", then=reset) as server:
        trace = outcome_of(transform(reactor, *server.address, "upper", b"a poem"))
        run_until(reactor, lambda: trace)
    assert [kind for kind, _ in trace] == [ConnectionResetError]


def test_a_silent_server_times_out(reactor):
    with ScriptedServer(lambda socks: socks[0].recv(1 << 20) and socks[0].recv(1)) as server:
        trace = outcome_of(transform(reactor, *server.address, "upper", b"x", timeout=0.2))
        run_until(reactor, lambda: trace)
    assert [kind for kind, _ in trace] == [TimeoutError]


def test_cancelling_closes_the_connection(reactor):
    requested = threading.Event()
    seen = []

    def wait_for_the_close(socks):
        seen.append(read_request(socks[0]))
        requested.set()
        seen.append(socks[0].recv(1))

    with ScriptedServer(wait_for_the_close) as server:
        d = transform(reactor, *server.address, "upper", b"x")
        trace = outcome_of(d)
        run_until(reactor, requested.is_set)
        d.cancel()
        assert [kind for kind, _ in trace] == [CancelledError]
        run_until(reactor, lambda: (len(seen) == 2 or server.errors)
                  and not reactor.pending_timers())
    assert seen == [b"upper.x", b""] or [type(e) for e in server.errors] == \
        [ConnectionResetError]


@pytest.mark.parametrize("name", ["", "upper.x", "über", "two words"])
def test_a_name_that_is_no_transform_name_is_refused_at_once(reactor, name):
    with pytest.raises(ValueError, match="not a transform name"):
        transform(reactor, "127.0.0.1", 1, name, b"x")


def test_a_clean_close_cuts_a_poem_unnoticed_but_not_a_reply(reactor):
    # Both servers send the first 500 bytes of the Raven and close in good order.
    poem = catalogue_bytes("raven")

    def half_a_poem(socks):
        socks[0].sendall(poem[:500])
        socks[0].shutdown(socket.SHUT_WR)

    def half_a_reply(socks):
        read_request(socks[0])
        socks[0].sendall((encode(b"ok." + poem))[:500])
        socks[0].shutdown(socket.SHUT_WR)

    with ScriptedServer(half_a_poem) as poetry, ScriptedServer(half_a_reply) as service:
        downloaded = outcome_of(get_poetry(reactor, *poetry.address))
        transformed = outcome_of(transform(reactor, *service.address, "upper", poem))
        run_until(reactor, lambda: downloaded and transformed)
    assert downloaded == [("poem", poem[:500])]  # looks like a whole poem
    assert transformed == [(BadReply, "the reply was cut short: the connection "
                                      "closed after 500 bytes of it")]


# -- the command line ------------------------------------------------------------------------

def test_each_poem_is_transformed_and_saved(tmp_path):
    names = ("science", "lorelei")
    with spawn(*names, delay=0, num_bytes=64) as addresses, spawn_transform_server() as (_, tp):
        result = run_module(MODULE, "--transform-server", tp, "--transform", "upper",
                            "--save", tmp_path, *[port for _, port in addresses])
    assert result.returncode == 0, result.stderr
    *task_lines, summary = result.stdout.splitlines()
    expected = [catalogue_bytes(name).decode().upper().encode() for name in names]
    assert sorted(TASK_LINE.match(line).groups()[:2] for line in task_lines) \
        == [(str(n), str(len(poem))) for n, poem in enumerate(expected, start=1)]
    assert SUMMARY_LINE.match(summary) and summary.startswith("Got 2 poems")
    assert [(tmp_path / f"poem-{n}.txt").read_bytes() for n in (1, 2)] == expected


def run_with_transformer(transformer_port, tmp_path, *options, names=("science", "jingyesi")):
    """Run the client on two poems; return its result and the poems it saved."""
    with spawn(*names, delay=0, num_bytes=64) as addresses:
        result = run_module(MODULE, "--transform-server", transformer_port, *options,
                            "--save", tmp_path, *[port for _, port in addresses])
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    saved = [(tmp_path / f"poem-{n}.txt").read_bytes() for n in (1, 2)]
    return result.stdout.splitlines(), saved, [catalogue_bytes(name) for name in names]


def assert_kept_as_they_were(lines, reason):
    """Each task has a warning line, then its usual line; the summary is last."""
    for n in (1, 2):
        warning = lines.index(f"Task {n}: transform failed ({reason}); kept the poem as it was")
        assert TASK_LINE.match(lines[warning + 1]).group(1) == str(n)
    assert len(lines) == 5 and lines[-1].startswith("Got 2 poems in")


def test_a_refused_transform_server_keeps_the_poems_as_they_were(tmp_path):
    with refused_address() as (_, port):
        lines, saved, originals = run_with_transformer(port, tmp_path)
    assert saved == originals
    assert_kept_as_they_were(lines, f"connection refused by 127.0.0.1:{port}")


def test_an_error_reply_keeps_the_poems_and_says_why(tmp_path):
    with spawn_transform_server() as (_, port):
        lines, saved, originals = run_with_transformer(port, tmp_path, "--transform", "frob")
    assert saved == originals
    assert_kept_as_they_were(lines, f"127.0.0.1:{port} replied: unknown transform 'frob'; known "
                                 f"transforms: {', '.join(TRANSFORMS)}")


@pytest.mark.parametrize("replies, reason", [
    ((b"", b""), "the server closed the connection without a reply"),
    ((b"9999:ok.", b"9999:ok."), "the reply was cut short: the connection closed after 8 "
                                 "bytes of it"),
])
def test_a_dead_transform_server_keeps_the_poems(tmp_path, replies, reason):
    with scripted(*replies) as server:
        lines, saved, originals = run_with_transformer(server.address[1], tmp_path)
    assert saved == originals
    assert_kept_as_they_were(lines, f"{reason} (127.0.0.1:{server.address[1]})")


def test_a_transform_server_that_resets_keeps_the_poems(tmp_path):
    with scripted(b"", b"", then=reset) as server:
        lines, saved, originals = run_with_transformer(server.address[1], tmp_path)
    assert saved == originals
    assert_kept_as_they_were(lines, f"connection reset by 127.0.0.1:{server.address[1]}")


def test_a_silent_transform_server_times_out_and_keeps_the_poems(tmp_path):
    def silent(socks):
        for sock in socks:
            read_request(sock)
        for sock in socks:
            sock.recv(1)

    with ScriptedServer(silent, clients=2) as server:
        lines, saved, originals = run_with_transformer(server.address[1], tmp_path,
                                                       "--timeout", "0.3")
    assert saved == originals
    assert_kept_as_they_were(lines, f"timed out: 127.0.0.1:{server.address[1]} sent nothing "
                                 f"for 0.3s")
