"""The completion client: every check every client passes, once per proactor.

Besides those, these tests show what is new: the downloads interleave in one thread;
both proactors hand over the same bytes; with io_uring the program never calls
``recv`` at all (the kernel does, and the completion brings the bytes); and the
client says which proactor it used, or why it could not use the one asked for.
"""

import socket
import threading

import pytest

from coro import completion_client
from coro.io import proactor
from poetry_server import spawn
from tests.client_checks import ConcurrentClientChecks, bound, run_in_process
from tests.support import Event, ScriptedServer, catalogue_bytes, run_module

MODULE = "coro.completion_client"
PROG = f"python -m {MODULE}"
URING_UNAVAILABLE = proactor.uring_unavailable()
needs_uring = pytest.mark.skipif(URING_UNAVAILABLE is not None,
                                 reason=f"io_uring: {URING_UNAVAILABLE}")
BACKENDS = [pytest.param("uring", marks=needs_uring), "threads"]
SAYS = {"uring": "Completions from io_uring.\n",
        "threads": "Completions from a thread pool.\n"}


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


class TestCompletionClient(ConcurrentClientChecks):
    stage = completion_client
    module = MODULE

    @pytest.fixture
    def client(self, backend):
        """The stage with its ``download_all`` bound to one proactor."""
        return bound(completion_client, proactor=backend)

    @pytest.fixture
    def command_line(self, backend):
        return ("--proactor", backend)

    def test_fifty_downloads_at_once(self, client, capsys):
        with spawn("ozymandias", "lorelei", delay=0.001, num_bytes=50) as addresses:
            report, status, _ = run_in_process(client, addresses * 25, capsys)
        assert status == 0
        assert {report.poems[n] for n in range(1, 51, 2)} == {catalogue_bytes("ozymandias")}
        assert {report.poems[n] for n in range(2, 51, 2)} == {catalogue_bytes("lorelei")}

    def test_a_timed_out_download_is_closed_at_once_while_the_others_go_on(self, client, capsys):
        # Server 2 keeps its client busy, one byte at a time, until server 1 sees its own
        # silent client hang up; only then does it end its poem. So task 2 ends well only
        # if task 1 was cancelled and its socket closed at its deadline, not at the end.
        hung_up = threading.Event()

        def silent(socks):
            [sock] = socks
            assert sock.recv(1) == b""  # the client gave up and closed its socket
            hung_up.set()

        def busy_until_the_hang_up(socks):
            [sock] = socks
            for _ in range(200):
                if hung_up.wait(0.05):
                    break
                sock.sendall(b".")
            sock.sendall(b" the end")
            sock.shutdown(socket.SHUT_WR)

        with ScriptedServer(silent) as first, ScriptedServer(busy_until_the_hang_up) as second:
            report, status, lines = run_in_process(
                client, [first.address, second.address], capsys, timeout=0.5)
        assert status == 1
        silent_port = first.address[1]
        assert f"Task 1: failed: timed out: 127.0.0.1:{silent_port} sent nothing for 0.5s" in lines
        assert isinstance(report.errors[1], TimeoutError)
        assert report.poems[2].endswith(b". the end")
        assert first.errors == second.errors == []

    def test_the_client_says_which_proactor_it_used(self, backend):
        with spawn("science", delay=0, num_bytes=100) as [address]:
            result = run_module(MODULE, "--proactor", backend, address[1])
        assert result.returncode == 0, result.stderr
        assert result.stderr == SAYS[backend]


@needs_uring
def test_both_proactors_hand_over_the_same_bytes(capsys):
    names = ("ecstasy", "jingyesi", "raven")
    poems = {}
    with spawn(*names, delay=0, num_bytes=7) as addresses:
        for backend in ("uring", "threads"):
            report, status, _ = run_in_process(
                completion_client, addresses, capsys, proactor=backend)
            assert status == 0
            poems[backend] = report.poems
    assert poems["uring"] == poems["threads"] == {
        n: catalogue_bytes(name) for n, name in enumerate(names, start=1)}


@needs_uring
def test_with_io_uring_the_program_never_calls_recv(capsys, monkeypatch):
    # Every way a socket object reads, made to fail: the downloads still arrive,
    # because with io_uring it is the kernel that reads, into our buffer, and the
    # completion says how many bytes it put there.
    def no_reading(sock, *args):
        raise AssertionError("the program called recv itself")

    for name in ("recv", "recv_into", "recvfrom", "recvfrom_into", "recvmsg"):
        monkeypatch.setattr(socket.socket, name, no_reading)
    with spawn("science", "tyger", delay=0, num_bytes=100) as addresses:
        report, status, _ = run_in_process(
            completion_client, addresses, capsys, proactor="uring")
    assert status == 0
    for task, name in ((1, "science"), (2, "tyger")):
        kinds = [r.event for r in report.trace.records_of(task)]
        # Submitted a connect, it completed; then each receive completed with bytes.
        assert kinds[:2] == [Event.START, Event.CONNECTED]
        assert set(kinds[2:-1]) == {Event.RECEIVED} and kinds[-1] is Event.DONE
        received = [r.nbytes for r in report.trace.records_of(task)
                    if r.event is Event.RECEIVED]
        assert sum(received) == len(catalogue_bytes(name)) == len(report.poems[task])


def test_auto_prefers_io_uring_and_says_so():
    with spawn("science", delay=0, num_bytes=100) as [address]:
        result = run_module(MODULE, address[1])
    assert result.returncode == 0, result.stderr
    expected = SAYS["uring"] if URING_UNAVAILABLE is None else (
        f"Completions from a thread pool (io_uring unavailable: {URING_UNAVAILABLE}).\n")
    assert result.stderr == expected


def test_without_io_uring_auto_falls_back_and_says_why(monkeypatch, capsys):
    monkeypatch.setattr(proactor, "uring_unavailable", lambda: "io_uring_setup: not here")
    with spawn("science", delay=0, num_bytes=100) as [address]:
        status = completion_client.main([str(address[1])])
    assert status == 0
    assert capsys.readouterr().err == (
        "Completions from a thread pool (io_uring unavailable: io_uring_setup: not here).\n")


def test_asking_for_io_uring_where_it_is_unavailable_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setattr(proactor, "uring_unavailable", lambda: "io_uring_setup: not here")
    status = completion_client.main(["--proactor", "uring", "10001"])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert err == (f"{PROG}: error: --proactor uring: io_uring is unavailable: "
                   "io_uring_setup: not here\n")


def test_an_unknown_proactor_is_a_usage_error():
    result = run_module(MODULE, "--proactor", "iocp", "10001")
    assert result.returncode == 2
    assert "argument --proactor: invalid choice: 'iocp'" in result.stderr
