"""Chapter 7's exercises: the completion client one download after another, and with a
deadline for the whole run; each on both proactors."""

import socket
import threading

import pytest

from coro.cli import DeadlinePassed
from coro.io import proactor
from coro.trace import Event, Trace
from exercises import ch07_deadline, ch07_one_by_one
from poetry_server import spawn
from tests.client_checks import (
    bound, check_a_server_that_never_sends_times_out, check_downloads_every_poem,
    check_one_refused_server_fails_only_its_task,
)
from tests.support import ScriptedServer, catalogue_bytes, events, refused_address

URING_UNAVAILABLE = proactor.uring_unavailable()
BACKENDS = [pytest.param("uring", marks=pytest.mark.skipif(
    URING_UNAVAILABLE is not None, reason=f"io_uring: {URING_UNAVAILABLE}")), "threads"]


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(scope="module")
def servers():
    """One poetry server for the whole file, serving each poem on its own port."""
    with spawn("science", "tyger", "jingyesi", delay=0, num_bytes=100) as addresses:
        yield dict(zip(("science", "tyger", "jingyesi"), addresses))


def run(stage, addresses, **options):
    """Run ``stage.download_all``; return ``(outcomes by task, trace)``."""
    outcomes, trace = {}, Trace()
    stage.download_all(addresses, trace=trace,
                       done=lambda task, **outcome: outcomes.update({task: outcome}),
                       **{"timeout": 10, **options})
    return outcomes, trace


# Exercise 1: one download after another.

def test_one_by_one_downloads_every_poem(backend, capsys):
    check_downloads_every_poem(bound(ch07_one_by_one, proactor=backend), capsys)


def test_one_by_one_starts_a_download_only_once_the_one_before_has_ended(backend, servers,
                                                                         capsys):
    first, last = servers["science"], servers["tyger"]
    with refused_address() as refused:
        outcomes, trace = run(ch07_one_by_one, [first, refused, last], proactor=backend)
    assert events(trace, Event.START, Event.CONNECTED) == [
        (1, Event.START), (1, Event.CONNECTED), (2, Event.START), (3, Event.START),
        (3, Event.CONNECTED)]
    # Each task's last record comes before the next task's first.
    assert [task for task, _ in events(trace)] == sorted(task for task, _ in events(trace))
    assert outcomes[1] == {"poem": catalogue_bytes("science")}
    assert isinstance(outcomes[2]["error"], ConnectionRefusedError)
    assert outcomes[3] == {"poem": catalogue_bytes("tyger")}
    assert capsys.readouterr().err.startswith("Completions from ")


def test_one_by_one_times_out_a_silent_server(backend, capsys):
    check_a_server_that_never_sends_times_out(bound(ch07_one_by_one, proactor=backend),
                                              capsys)


def test_one_by_one_on_the_command_line():
    check_one_refused_server_fails_only_its_task("exercises.ch07_one_by_one",
                                                 options=("--proactor", "threads"))


# Exercise 2: a deadline for the whole run.

def test_the_deadline_cancels_what_is_in_flight_and_the_sockets_are_closed(backend, capsys):
    # Neither server ever ends its poem: one sends nothing, the other a byte now and
    # then, so that the silence timeout never fires. Only the deadline ends the run, and
    # each server then sees its client hang up.
    hung_up = []

    def silent(socks):
        [sock] = socks
        hung_up.append(sock.recv(1) == b"")

    def trickling(socks):
        [sock] = socks
        sock.settimeout(0.01)
        while True:
            try:
                sock.sendall(b".")
                if sock.recv(1) == b"":
                    break
            except TimeoutError:
                continue  # the client is still there: one more byte
            except (ConnectionResetError, BrokenPipeError):
                break  # it hung up with a byte unread: the system answers with a reset
        hung_up.append(True)

    with ScriptedServer(silent) as first, ScriptedServer(trickling) as second:
        outcomes, trace = run(ch07_deadline, [first.address, second.address],
                              proactor=backend, deadline=0.05)
    assert first.errors == second.errors == []
    assert hung_up == [True, True]
    for task in (1, 2):
        [(kind, error)] = outcomes[task].items()
        assert kind == "error" and isinstance(error, DeadlinePassed)
        assert str(error) == "cancelled: the run's deadline of 0.05s passed"


def test_downloads_that_end_in_time_are_not_touched_by_the_deadline(backend, servers,
                                                                     capsys):
    with refused_address() as refused:
        outcomes, _ = run(ch07_deadline, [servers["science"], servers["jingyesi"], refused],
                          proactor=backend, deadline=60)
    assert outcomes[1] == {"poem": catalogue_bytes("science")}
    assert outcomes[2] == {"poem": catalogue_bytes("jingyesi")}
    assert isinstance(outcomes[3]["error"], ConnectionRefusedError)


def test_without_a_deadline_the_client_is_chapter_7s(backend, capsys):
    check_downloads_every_poem(bound(ch07_deadline, proactor=backend), capsys)


def test_the_deadline_on_the_command_line(capsys):
    # A server that keeps its client waiting until the client hangs up: only the
    # deadline can end this run.
    closed = threading.Event()

    def wait_for_the_hang_up(socks):
        [sock] = socks
        sock.sendall(b"the first line of a poem\n")
        if sock.recv(1) == b"":
            closed.set()
        sock.shutdown(socket.SHUT_WR)

    with ScriptedServer(wait_for_the_hang_up) as server:
        status = ch07_deadline.main(["--deadline", "0.05", "--proactor", "threads",
                                     str(server.address[1])])
    out, err = capsys.readouterr()
    assert status == 1
    assert closed.is_set()
    assert (f"Task 1: failed: cancelled: the run's deadline of 0.05s passed "
            f"(127.0.0.1:{server.address[1]})") in out.splitlines()
    assert err == "Completions from a thread pool.\n"
