"""The inline client: chapter 12's client written as straight-line coroutines keeps its
command line, its output and every fallback, in both its generator and its async form."""

import re

import pytest

from coro import inline_client
from coro.deferred.failure import Failure
from coro.deferred.inline import ensure_deferred
from coro.inline_client import get_transformed_poem, get_transformed_poem_async
from poetry_server import spawn
# ``transformer`` is a fixture: a transform server on the test's reactor.
from tests.ch12.test_transform_client import (
    TransformClientChecks, check_a_cancel_closes_the_transform_connection, transformer,
)
from tests.ch12.test_transform_server import spawn_transform_server
from tests.client_checks import check_a_run_whose_done_raises_still_ends
from tests.reactor_fixtures import run_until
from tests.support import (ScriptedServer, assert_one_line_usage_error, catalogue_bytes,
                           refused_address, run_module)

MODULE = "coro.inline_client"


# -- Every check chapter 12's client passes, in both forms ---------------------------------

def without_times(lines):
    return sorted(re.sub(r"in \d+\.\d\ds", "in T", line) for line in lines)


class TestInlineClient(TransformClientChecks):
    stage = inline_client
    module = MODULE

    @pytest.fixture(params=[(), ("--async",)], ids=["generator", "async"])
    def form(self, request):
        return request.param

    def download_options(self, form):
        return {"use_async": "--async" in form}

    def test_a_run_whose_done_raises_still_ends_and_the_error_is_reported(self, client,
                                                                         unhandled_failures):
        # The shared check looks for the report on stderr; a Deferred reports an unhandled
        # failure when it is collected, and the test fixture collects those reports instead.
        check_a_run_whose_done_raises_still_ends(client)
        [reported] = unhandled_failures.take()  # on task 1's Deferred, which nobody handles
        assert reported.check(RuntimeError) and str(reported.value) == "done failed for task 1"

    def test_the_output_is_chapter_12s(self, form):
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


# -- get_transformed_poem, on a reactor --------------------------------------------------

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
    with spawn("tyger", delay=0, num_bytes=64) as [address]:
        check_a_cancel_closes_the_transform_connection(
            reactor, lambda service: start(form, reactor, address, service, warnings=[]),
            request=b"upper." + catalogue_bytes("tyger"))


# -- The command line: bytes, lines and exit status ---------------------------------------

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


def test_async_takes_no_value():
    result = run_module(MODULE, "--transform-server", "1", "--async=yes", "10001")
    assert_one_line_usage_error(result, f"python -m {MODULE}")
    assert "--async: ignored explicit argument" in result.stderr
