"""The inline client: chapter 12's client written as straight-line coroutines keeps its
command line, its output and every fallback, in both its generator and its async form."""

import functools
import re
import threading
import types

import pytest

from coro import inline_client
from coro.deferred.deferred import CancelledError
from coro.deferred.failure import Failure
from coro.deferred.inline import ensure_deferred
from coro.inline_client import get_transformed_poem, get_transformed_poem_async
from coro.reactor import tcp
from coro.trace import Trace
from poetry_server import spawn
from poetry_server.transform import TRANSFORMS
from poetry_server.transform_server import TransformServerFactory
from tests import client_checks as check
from tests.ch12.test_transform_client import read_request, scripted
from tests.ch12.test_transform_server import spawn_transform_server
from tests.reactor_fixtures import run_until
from tests.support import (SUMMARY_LINE, TASK_LINE, ScriptedServer, assert_one_line_usage_error,
                           catalogue_bytes, refused_address, reset, run_module)

MODULE = "coro.inline_client"
FORMS = pytest.mark.parametrize("form", [(), ("--async",)], ids=["generator", "async"])


def with_transform_server(address, name="cummingsify", use_async=False):
    """The stage, as the shared checks call it, with its transform server given."""
    return types.SimpleNamespace(download_all=functools.partial(
        inline_client.download_all, transform_server=address, transform_name=name,
        use_async=use_async))


@pytest.fixture(params=[False, True], ids=["generator", "async"])
def server_down(request):
    """The stage with a transform server that refuses every connection: each poem is kept
    as it was, so the client must pass every check chapter 11's client passes."""
    with refused_address() as address:
        yield with_transform_server(address, use_async=request.param)


# -- The checks every client passes --------------------------------------------------------

def test_the_downloads_interleave_in_one_thread(capsys):
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


def test_a_run_whose_done_raises_still_ends_and_the_error_is_reported(server_down,
                                                                     unhandled_failures):
    # The shared check looks for the report on stderr; a Deferred reports an unhandled
    # failure when it is collected, and the test fixture collects those reports instead.
    ended = []

    def done(task, **outcome):
        ended.append(task)
        if task == 1:
            raise RuntimeError("done failed for task 1")

    with spawn("tyger", "science", delay=0, num_bytes=100) as addresses:
        run = threading.Thread(target=server_down.download_all, args=(addresses,),
                               kwargs={"timeout": 10, "trace": Trace(), "done": done})
        run.start()
        run.join(timeout=20)  # a watchdog against a hang, never a way to wait
        assert not run.is_alive(), "download_all never returned"
    assert sorted(ended) == [1, 2]
    [reported] = unhandled_failures.take()  # on task 1's Deferred, which nobody handles
    assert reported.check(RuntimeError) and str(reported.value) == "done failed for task 1"


@FORMS
def test_one_refused_server_fails_only_its_task(form):
    with spawn_transform_server() as (_, port):
        check.check_one_refused_server_fails_only_its_task(
            MODULE, options=("--transform-server", port, *form))


@FORMS
def test_ctrl_c_closes_everything_and_exits_cleanly(form):
    check.check_ctrl_c_closes_everything_and_exits_cleanly(
        MODULE, connections=3, options=("--transform-server", "1", *form))


def test_usage_errors(tmp_path):
    check.check_usage_errors(MODULE, tmp_path, options=("--transform-server", "1"))


@pytest.mark.parametrize("args, message", [
    (["10001"], "the following arguments are required: --transform-server"),
    (["--transform-server", "x", "10001"], "not a port (1-65535) or HOST:PORT: 'x'"),
    (["--transform-server", "1", "--transform", "upper.x", "10001"],
     "--transform: a transform name is ASCII letters, digits, '_' and '-', not 'upper.x'"),
    (["--transform-server", "1", "--async=yes", "10001"], "--async: ignored explicit argument"),
])
def test_usage_errors_of_its_own(args, message):
    result = run_module(MODULE, *args)
    assert_one_line_usage_error(result, f"python -m {MODULE}")
    assert message in result.stderr


# -- get_transformed_poem, on a reactor --------------------------------------------------

@pytest.fixture
def transformer(reactor):
    """A transform server on the test's reactor; the test ends once it closed everything."""
    factory = TransformServerFactory(reactor)
    listener = tcp.listen(reactor, factory)
    yield listener.address
    run_until(reactor, lambda: factory.connections == 0)


def start(form, reactor, address, transformer, name="upper", warnings=None, **options):
    """Start one task in its generator or its async form; return its Deferred."""
    arguments = (reactor, address, transformer, name)
    options = {"timeout": 10, "trace": None, "task": 1,
               "warn": lambda task, error: warnings.append((task, error)), **options}
    if form == "async":
        return ensure_deferred(get_transformed_poem_async(*arguments, **options))
    return get_transformed_poem(*arguments, **options)


def outcome_of(d):
    trace = []
    d.add_both(lambda r: trace.append((r.type, str(r.value)) if isinstance(r, Failure)
                                      else ("poem", r)))
    return trace


@pytest.mark.parametrize("form", ["generator", "async"])
def test_the_poem_comes_back_transformed(reactor, transformer, form):
    warnings = []
    with spawn("jingyesi", delay=0, num_bytes=64) as [address]:
        trace = outcome_of(start(form, reactor, address, transformer, warnings=warnings))
        run_until(reactor, lambda: trace)
    assert trace == [("poem", catalogue_bytes("jingyesi").decode().upper().encode())]
    assert warnings == []


@pytest.mark.parametrize("form", ["generator", "async"])
def test_an_error_reply_keeps_the_poem_and_warns_once(reactor, transformer, form):
    warnings = []
    with spawn("tyger", delay=0, num_bytes=64) as [address]:
        trace = outcome_of(start(form, reactor, address, transformer, "frob",
                                 warnings=warnings))
        run_until(reactor, lambda: trace)
    assert trace == [("poem", catalogue_bytes("tyger"))]
    [(task, error)] = warnings
    assert task == 1 and str(error).startswith("unknown transform 'frob'")


@pytest.mark.parametrize("form", ["generator", "async"])
def test_a_failed_download_fails_the_task_and_asks_for_no_transform(reactor, form):
    def no_request_expected(socks):
        socks[0].close()  # only reached if the client connected: the test then fails

    warnings = []
    with refused_address() as poetry, ScriptedServer(no_request_expected) as service:
        trace = outcome_of(start(form, reactor, poetry, service.address, warnings=warnings))
        run_until(reactor, lambda: trace)
        service.listener.settimeout(0)
        with pytest.raises(BlockingIOError):
            service.listener.accept()  # no connection is waiting
    assert [kind for kind, _ in trace] == [ConnectionRefusedError]
    assert warnings == []


@pytest.mark.parametrize("form", ["generator", "async"])
def test_an_error_that_is_not_a_transform_failure_fails_the_task(reactor, form):
    # A transform name the client itself refuses is a bug, not a transform failure: it is
    # not caught, and the task fails with it.
    warnings = []
    with spawn("tyger", delay=0, num_bytes=64) as [address]:
        trace = outcome_of(start(form, reactor, address, ("127.0.0.1", 1), "no.such",
                                 warnings=warnings))
        run_until(reactor, lambda: trace)
    assert trace == [(ValueError, "not a transform name: 'no.such'")]
    assert warnings == []


@pytest.mark.parametrize("form", ["generator", "async"])
def test_cancelling_a_task_closes_its_transform_connection(reactor, form):
    requested = threading.Event()
    seen = []

    def wait_for_the_close(socks):
        seen.append(read_request(socks[0]))
        requested.set()
        seen.append(socks[0].recv(1))

    with spawn("tyger", delay=0, num_bytes=64) as [address], \
            ScriptedServer(wait_for_the_close) as service:
        d = start(form, reactor, address, service.address, warnings=[])
        trace = outcome_of(d)
        run_until(reactor, requested.is_set)
        d.cancel()
        assert [kind for kind, _ in trace] == [CancelledError]
        run_until(reactor, lambda: (len(seen) == 2 or service.errors)
                  and not reactor.pending_timers())
    assert seen == [b"upper." + catalogue_bytes("tyger"), b""] or \
        [type(e) for e in service.errors] == [ConnectionResetError]


# -- The command line: bytes, lines and exit status ---------------------------------------

@FORMS
def test_each_poem_is_transformed_and_saved(tmp_path, form):
    names = ("science", "lorelei")
    with spawn(*names, delay=0, num_bytes=64) as addresses, spawn_transform_server() as (_, tp):
        result = run_module(MODULE, "--transform-server", tp, "--transform", "upper", *form,
                            "--save", tmp_path, *[port for _, port in addresses])
    assert result.returncode == 0, result.stderr
    *task_lines, summary = result.stdout.splitlines()
    expected = [catalogue_bytes(name).decode().upper().encode() for name in names]
    assert sorted(TASK_LINE.match(line).groups()[:2] for line in task_lines) \
        == [(str(n), str(len(poem))) for n, poem in enumerate(expected, start=1)]
    assert SUMMARY_LINE.match(summary) and summary.startswith("Got 2 poems")
    assert [(tmp_path / f"poem-{n}.txt").read_bytes() for n in (1, 2)] == expected


@pytest.mark.parametrize("flag, used, unused", [
    ((), "get_transformed_poem", "get_transformed_poem_async"),
    (("--async",), "get_transformed_poem_async", "get_transformed_poem"),
])
def test_async_chooses_the_coroutine_form(monkeypatch, capsys, flag, used, unused):
    calls = []
    real = getattr(inline_client, used)

    def spy(*args, **kwargs):
        calls.append(used)
        return real(*args, **kwargs)

    def never(*args, **kwargs):
        raise AssertionError(f"{unused} was called")

    monkeypatch.setattr(inline_client, used, spy)
    monkeypatch.setattr(inline_client, unused, never)
    with spawn("tyger", delay=0, num_bytes=100) as [(_, port)], refused_address() as refused:
        status = inline_client.main(["--transform-server", str(refused[1]), *flag, str(port)])
    assert status == 0 and calls == [used]
    assert capsys.readouterr().out.splitlines()[-1].startswith("Got 1 poem in")


def run_with_transformer(transformer_port, tmp_path, *options, names=("science", "jingyesi")):
    """Run the client on two poems; return its lines, the poems it saved, the originals."""
    with spawn(*names, delay=0, num_bytes=64) as addresses:
        result = run_module(MODULE, "--transform-server", transformer_port, *options,
                            "--save", tmp_path, *[port for _, port in addresses])
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    saved = [(tmp_path / f"poem-{n}.txt").read_bytes() for n in (1, 2)]
    return result.stdout.splitlines(), saved, [catalogue_bytes(name) for name in names]


def assert_kept_as_they_were(lines, reason):
    """Each task has a warning line, then its usual line; the summary is last."""
    for n in (1, 2):
        warning = lines.index(f"Task {n}: transform failed ({reason}); kept the poem as it was")
        assert TASK_LINE.match(lines[warning + 1]).group(1) == str(n)
    assert len(lines) == 5 and lines[-1].startswith("Got 2 poems in")


@FORMS
def test_a_refused_transform_server_keeps_the_poems_as_they_were(tmp_path, form):
    with refused_address() as (_, port):
        lines, saved, originals = run_with_transformer(port, tmp_path, *form)
    assert saved == originals
    assert_kept_as_they_were(lines, f"connection refused by 127.0.0.1:{port}")


@FORMS
def test_an_error_reply_keeps_the_poems_and_says_why(tmp_path, form):
    with spawn_transform_server() as (_, port):
        lines, saved, originals = run_with_transformer(port, tmp_path, "--transform", "frob",
                                                       *form)
    assert saved == originals
    assert_kept_as_they_were(lines, f"127.0.0.1:{port} replied: unknown transform 'frob'; known "
                                 f"transforms: {', '.join(TRANSFORMS)}")


@FORMS
@pytest.mark.parametrize("replies, reason", [
    ((b"", b""), "the server closed the connection without a reply"),
    ((b"9999:ok.", b"9999:ok."), "the reply was cut short: the connection closed after 8 "
                                 "bytes of it"),
    ((b"5:maybe,", b"5:maybe,"), "not a reply: b'maybe'"),
])
def test_a_broken_transform_server_keeps_the_poems(tmp_path, replies, reason, form):
    with scripted(*replies) as server:
        lines, saved, originals = run_with_transformer(server.address[1], tmp_path, *form)
    assert saved == originals
    assert_kept_as_they_were(lines, f"{reason} (127.0.0.1:{server.address[1]})")


@FORMS
def test_a_transform_server_that_resets_keeps_the_poems(tmp_path, form):
    with scripted(b"", b"", then=reset) as server:
        lines, saved, originals = run_with_transformer(server.address[1], tmp_path, *form)
    assert saved == originals
    assert_kept_as_they_were(lines, f"connection reset by 127.0.0.1:{server.address[1]}")


@FORMS
def test_a_silent_transform_server_times_out_and_keeps_the_poems(tmp_path, form):
    def silent(socks):
        for sock in socks:
            read_request(sock)
        for sock in socks:
            sock.recv(1)

    with ScriptedServer(silent, clients=2) as server:
        lines, saved, originals = run_with_transformer(server.address[1], tmp_path,
                                                       "--timeout", "0.3", *form)
    assert saved == originals
    assert_kept_as_they_were(lines, f"timed out: 127.0.0.1:{server.address[1]} sent nothing "
                                 f"for 0.3s")


def without_times(lines):
    return sorted(re.sub(r"in \d+\.\d\ds", "in T", line) for line in lines)


@FORMS
def test_the_output_is_chapter_12s(form):
    # Same servers, same options: the same lines as chapter 12's client, but for the times.
    with spawn("science", "jingyesi", delay=0, num_bytes=64) as addresses, \
            refused_address() as refused, spawn_transform_server() as (_, port):
        ports = [p for _, p in addresses] + [refused[1]]
        runs = [run_module(module, "--transform-server", port, "--transform", "upper", *extra,
                           *ports)
                for module, extra in [("coro.transform_client", ()), (MODULE, form)]]
    old, new = runs
    assert (new.returncode, new.stderr) == (old.returncode, old.stderr) == (1, "")
    assert without_times(new.stdout.splitlines()) == without_times(old.stdout.splitlines())
