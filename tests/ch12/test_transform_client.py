"""The transform client: each poem is downloaded, then transformed, and kept as it was when
the transform fails, whichever way it fails; a reply cut short is told from a whole one."""

import socket
import threading

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
from tests.ch12.test_transform_server import spawn_transform_server
from tests.client_checks import (ConcurrentClientChecks, after_the_header, bound,
                                 check_command_line_over_ipv6, check_the_downloads_overlap)
from tests.reactor_fixtures import run_until
from tests.support import (SUMMARY_LINE, TASK_LINE, ScriptedServer, assert_one_line_usage_error,
                           catalogue_bytes, needs_ipv6, refused_address, reset, run_module)


class TransformClientChecks(ConcurrentClientChecks):
    """What a client that has each poem transformed passes (this chapter's, and chapter
    15's in both its forms): the checks every client passes, and each poem kept as it
    was however the transform server fails.

    The in-process checks give it a transform server that refuses every connection, so
    each poem is kept as it was and must pass every check chapter 11's client passes.
    A client with more than one form on its command line parametrizes ``form``.
    """

    options = ("--transform-server", "1")

    @pytest.fixture
    def form(self):
        """The command-line flags that choose the form under test: the only one here."""
        return ()

    def download_options(self, form):
        """The keyword arguments that choose ``form`` for ``download_all``."""
        return {}

    @pytest.fixture
    def client(self, form):
        """The stage with a transform server that refuses every connection."""
        with refused_address() as address:
            yield bound(self.stage, transform_server=address, transform_name="cummingsify",
                        **self.download_options(form))

    @pytest.fixture
    def command_line(self, form):
        """A transform server that works, and the form."""
        with spawn_transform_server() as (_, port):
            yield ("--transform-server", str(port), *form)

    def test_the_downloads_overlap(self, capsys):
        # The poems are lower-case already, so they come back from cummingsify unchanged.
        with spawn_transform_server() as transformer:
            check_the_downloads_overlap(bound(self.stage, transform_server=transformer,
                                              transform_name="cummingsify"), capsys)

    def test_command_line_output_and_save(self, command_line, tmp_path):
        # What the command line prints and saves: each poem as it came back transformed.
        names = ("science", "lorelei")
        with spawn(*names, delay=0, num_bytes=64) as addresses:
            result = run_module(self.module, *command_line, "--transform", "upper",
                                "--save", tmp_path, *[port for _, port in addresses])
        assert result.returncode == 0, result.stderr
        *task_lines, summary = after_the_header(result.stdout.splitlines(), True)
        expected = [catalogue_bytes(name).decode().upper().encode() for name in names]
        assert sorted(TASK_LINE.match(line).groups()[:2] for line in task_lines) \
            == [(str(n), str(len(poem))) for n, poem in enumerate(expected, start=1)]
        assert SUMMARY_LINE.match(summary) and summary.startswith("Got 2 poems")
        assert [(tmp_path / f"poem-{n}.txt").read_bytes() for n in (1, 2)] == expected

    @needs_ipv6
    def test_command_line_over_ipv6(self, form, tmp_path):
        # Both servers on ::1: the poem's, and the transformation server's.
        with spawn_transform_server("--iface", "::1") as (host, port):
            assert host == "::1"
            check_command_line_over_ipv6(
                self.module, tmp_path, options=("--transform-server", f"[::1]:{port}",
                                                "--transform", "upper", *form),
                transformed=lambda poem: poem.decode().upper().encode())

    @pytest.mark.parametrize("args, message", [
        (["10001"], "the following arguments are required: --transform-server"),
        (["--transform-server", "x", "10001"], "not a port (1-65535) or HOST:PORT: 'x'"),
        (["--transform-server", "::1:10000", "10001"],
         "--transform-server: an IPv6 address goes in brackets: [::1]:10000, not '::1:10000'"),
        (["--transform-server", "1", "--transform", "upper.x", "10001"],
         "--transform: a transform name is ASCII letters, digits, '_' and '-', not 'upper.x'"),
    ])
    def test_usage_errors_of_its_own(self, args, message):
        result = run_module(self.module, *args)
        assert_one_line_usage_error(result, f"python -m {self.module}")
        assert message in result.stderr

    def run_with_transformer(self, transformer_port, tmp_path, *options,
                             names=("science", "jingyesi")):
        """Run the client on two poems; return its lines, the poems it saved, the originals."""
        with spawn(*names, delay=0, num_bytes=64) as addresses:
            result = run_module(self.module, "--transform-server", transformer_port, *options,
                                "--save", tmp_path, *[port for _, port in addresses])
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        saved = [(tmp_path / f"poem-{n}.txt").read_bytes() for n in (1, 2)]
        return result.stdout.splitlines(), saved, [catalogue_bytes(name) for name in names]

    def test_a_refused_transform_server_keeps_the_poems_as_they_were(self, tmp_path, form):
        with refused_address() as (_, port):
            lines, saved, originals = self.run_with_transformer(port, tmp_path, *form)
        assert saved == originals
        assert_kept_as_they_were(lines, f"connection refused by 127.0.0.1:{port}")

    def test_an_error_reply_keeps_the_poems_and_says_why(self, tmp_path, form):
        with spawn_transform_server() as (_, port):
            lines, saved, originals = self.run_with_transformer(port, tmp_path, "--transform",
                                                                "frob", *form)
        assert saved == originals
        assert_kept_as_they_were(lines, f"127.0.0.1:{port} replied: unknown transform 'frob'; "
                                        f"known transforms: {', '.join(TRANSFORMS)}")

    @pytest.mark.parametrize("replies, reason", [
        ((b"", b""), "the server closed the connection without a reply"),
        ((b"9999:ok.", b"9999:ok."), "the reply was cut short: the connection closed after 8 "
                                     "bytes of it"),
        ((b"5:maybe,", b"5:maybe,"), "not a reply: b'maybe'"),
    ])
    def test_a_broken_transform_server_keeps_the_poems(self, tmp_path, replies, reason, form):
        with scripted(*replies) as server:
            lines, saved, originals = self.run_with_transformer(server.address[1], tmp_path,
                                                                *form)
        assert saved == originals
        assert_kept_as_they_were(lines, f"{reason} (127.0.0.1:{server.address[1]})")

    def test_a_transform_server_that_resets_keeps_the_poems(self, tmp_path, form):
        with scripted(b"", b"", then=reset) as server:
            lines, saved, originals = self.run_with_transformer(server.address[1], tmp_path,
                                                                *form)
        assert saved == originals
        assert_kept_as_they_were(lines, f"connection reset by 127.0.0.1:{server.address[1]}")

    def test_a_silent_transform_server_times_out_and_keeps_the_poems(self, tmp_path, form):
        def silent(socks):
            for sock in socks:
                read_request(sock)
            for sock in socks:
                sock.recv(1)

        with ScriptedServer(silent, clients=2) as server:
            lines, saved, originals = self.run_with_transformer(
                server.address[1], tmp_path, "--timeout", "0.3", *form)
        assert saved == originals
        assert_kept_as_they_were(lines, f"timed out: 127.0.0.1:{server.address[1]} sent "
                                        f"nothing for 0.3s")


def assert_kept_as_they_were(lines, reason):
    """Each task has a warning line, then its usual line; the summary is last."""
    lines = after_the_header(lines, True)
    for n in (1, 2):
        warning = lines.index(f"Task {n}: transform failed ({reason}); kept the poem as it was")
        assert TASK_LINE.match(lines[warning + 1]).group(1) == str(n)
    assert len(lines) == 5 and lines[-1].startswith("Got 2 poems in")


class TestTransformClient(TransformClientChecks):
    stage = transform_client
    module = "coro.transform_client"


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


@needs_ipv6
def test_a_reactor_listens_and_connects_over_ipv6(reactor):
    # tcp.listen and tcp.connect take the address family from the address.
    factory = TransformServerFactory(reactor)
    listener = tcp.listen(reactor, factory, host="::1")
    assert listener.address[0] == "::1"
    trace = outcome_of(transform(reactor, *listener.address, "upper", b"over ipv6"))
    run_until(reactor, lambda: trace and factory.connections == 0)
    assert trace == [("poem", b"OVER IPV6")]


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


def check_a_cancel_closes_the_transform_connection(reactor, start, request):
    """``start(address)`` sends ``request`` to the transform server at ``address`` and
    returns a Deferred. Cancelled once the request is in, the Deferred fails at once, and
    the server sees the connection closed (or reset)."""
    requested = threading.Event()
    seen = []

    def wait_for_the_close(socks):
        seen.append(read_request(socks[0]))
        requested.set()
        seen.append(socks[0].recv(1))

    with ScriptedServer(wait_for_the_close) as server:
        d = start(server.address)
        trace = outcome_of(d)
        run_until(reactor, requested.is_set)
        d.cancel()
        assert [kind for kind, _ in trace] == [CancelledError]
        run_until(reactor, lambda: (len(seen) == 2 or server.errors)
                  and not reactor.pending_timers())
    assert seen == [request, b""] or [type(e) for e in server.errors] == \
        [ConnectionResetError]


def test_cancelling_closes_the_connection(reactor):
    check_a_cancel_closes_the_transform_connection(
        reactor, lambda service: transform(reactor, *service, "upper", b"x"), request=b"upper.x")


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
