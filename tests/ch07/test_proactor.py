"""The proactors: submit an operation, be told when it has completed.

Both backends answer the same questions the same way on real loopback sockets:
a connect completes with ``None``, a receive with the bytes (``b""`` once the peer
has closed), a failure with its :exc:`OSError`, a cancelled operation with
``ECANCELED``. Every operation completes exactly once, and ``close`` returns only
when none is left in flight (the descriptor check of ``tests/conftest.py`` sees the
ring closed).
"""

import errno
import socket

import pytest

from coro.io import proactor as proactors
from coro.io.proactor import Completion, Proactor, ThreadPoolProactor, UringProactor
from tests.support import LOOPBACK, refused_address, reset

URING_UNAVAILABLE = proactors.uring_unavailable()
BACKENDS = [
    pytest.param(UringProactor, id="uring",
                 marks=pytest.mark.skipif(URING_UNAVAILABLE is not None,
                                          reason=f"io_uring: {URING_UNAVAILABLE}")),
    pytest.param(ThreadPoolProactor, id="threads"),
]


@pytest.fixture(params=BACKENDS)
def engine(request):
    with request.param() as engine:
        yield engine


@pytest.fixture
def pair():
    """A connected pair of sockets: ours, and the peer that plays the server."""
    ours, peer = socket.socketpair()
    with ours, peer:
        yield ours, peer


def wait_for(engine, count):
    """Wait until ``count`` completions have arrived; return them in arrival order."""
    completions = []
    while len(completions) < count:
        arrived = engine.wait(10)
        assert arrived, "nothing completed within 10s"
        completions += arrived
    assert len(completions) == count
    return completions


def test_a_connect_completes_then_a_receive_brings_the_bytes(engine):
    with socket.create_server((LOOPBACK, 0)) as listener, socket.socket() as sock:
        engine.submit_connect(sock, listener.getsockname(), "connect")
        assert wait_for(engine, 1) == [Completion("connect", None)]
        server_side, _ = listener.accept()
        with server_side:
            engine.submit_recv(sock, 100, "recv")
            server_side.sendall(b"Half sunk, a shattered visage lies")
            assert wait_for(engine, 1) == [
                Completion("recv", b"Half sunk, a shattered visage lies")]
            server_side.shutdown(socket.SHUT_WR)
            engine.submit_recv(sock, 100, "eof")
            assert wait_for(engine, 1) == [Completion("eof", b"")]


def test_a_receive_takes_at_most_the_bytes_asked_for(engine, pair):
    ours, peer = pair
    peer.sendall(b"abcdefgh")
    engine.submit_recv(ours, 3, 1)
    assert wait_for(engine, 1) == [Completion(1, b"abc")]
    engine.submit_recv(ours, 100, 2)
    assert wait_for(engine, 1) == [Completion(2, b"defgh")]


def test_a_refused_connect_completes_with_the_error(engine):
    with refused_address() as address, socket.socket() as sock:
        engine.submit_connect(sock, address, "task 2")
        [(token, result)] = wait_for(engine, 1)
    assert token == "task 2"
    assert isinstance(result, ConnectionRefusedError)


def test_a_reset_completes_with_the_error(engine, pair):
    ours, peer = pair
    with socket.create_server((LOOPBACK, 0)) as listener, socket.socket() as sock:
        engine.submit_connect(sock, listener.getsockname(), 1)
        wait_for(engine, 1)
        server_side, _ = listener.accept()
        engine.submit_recv(sock, 100, 2)
        reset(server_side)
        [(token, result)] = wait_for(engine, 1)
    assert token == 2
    assert isinstance(result, ConnectionResetError)


def test_nothing_completes_until_the_timeout_then_a_cancel_completes_it(engine, pair):
    ours, _ = pair
    engine.submit_recv(ours, 100, "silent")
    assert engine.wait(0.05) == []
    engine.cancel("silent")
    [(token, result)] = wait_for(engine, 1)
    assert token == "silent"
    assert isinstance(result, OSError) and result.errno == errno.ECANCELED


def test_cancelling_a_token_with_nothing_in_flight_does_nothing(engine):
    engine.cancel("nobody")
    assert engine.wait(0) == []


def test_many_operations_each_complete_once(engine):
    pairs = [socket.socketpair() for _ in range(40)]
    try:
        for n, (ours, _) in enumerate(pairs):
            engine.submit_recv(ours, 100, n)
        for n, (_, peer) in reversed(list(enumerate(pairs))):
            peer.sendall(f"poem {n}".encode())
        completions = wait_for(engine, len(pairs))
    finally:
        for ours, peer in pairs:
            ours.close()
            peer.close()
    assert sorted(completions) == [Completion(n, f"poem {n}".encode())
                                   for n in range(len(pairs))]


def test_a_ctrl_c_in_the_middle_of_wait_loses_no_completion(engine, pair, monkeypatch):
    # Ctrl-C raises KeyboardInterrupt between any two steps of the main thread, here
    # just after the backend took the completion (from the ring, or a worker's future)
    # and before wait() handed it over. The next wait still has it; close() too.
    ours, peer = pair
    handed_over = Proactor._complete

    def interrupted_once(self, op_id):
        monkeypatch.setattr(Proactor, "_complete", handed_over)
        raise KeyboardInterrupt

    monkeypatch.setattr(Proactor, "_complete", interrupted_once)
    engine.submit_recv(ours, 100, "recv")
    peer.sendall(b"abc")
    with pytest.raises(KeyboardInterrupt):
        wait_for(engine, 1)
    assert engine.wait(0) == [Completion("recv", b"abc")]


def test_close_cancels_what_is_still_in_flight(engine, pair):
    ours, _ = pair
    engine.submit_recv(ours, 100, "never answered")
    engine.close()  # returns: the operation was cancelled, and has completed
    engine.close()  # closing twice is harmless
    with pytest.raises(RuntimeError, match="closed"):
        engine.submit_recv(ours, 100, "too late")


@pytest.mark.skipif(URING_UNAVAILABLE is not None, reason=f"io_uring: {URING_UNAVAILABLE}")
def test_with_io_uring_a_cancelled_receive_takes_nothing(pair):
    ours, peer = pair
    with UringProactor() as engine:
        engine.submit_recv(ours, 100, "recv")
        engine.cancel("recv")
        wait_for(engine, 1)
    peer.sendall(b"still here")  # the socket is as it was, and what arrives is ours
    assert ours.recv(100) == b"still here"


@pytest.mark.skipif(URING_UNAVAILABLE is not None, reason=f"io_uring: {URING_UNAVAILABLE}")
def test_with_io_uring_the_kernel_has_copied_the_bytes_before_we_wait(pair):
    # Completion, not readiness: once the peer has sent, the bytes are no longer in
    # our socket waiting to be read. The kernel has already moved them into the
    # buffer of the receive we submitted, and queued its completion.
    ours, peer = pair
    with UringProactor() as engine:
        engine.submit_recv(ours, 100, "recv")
        engine.wait(0)  # hands the submission to the kernel; nothing has completed
        peer.sendall(b"poetry")
        with pytest.raises(BlockingIOError):  # nothing left in the socket to read
            ours.recv(100, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        assert engine.wait(0) == [Completion("recv", b"poetry")]


def test_open_proactor_picks_io_uring_where_it_works():
    if URING_UNAVAILABLE is not None:
        pytest.skip(f"io_uring: {URING_UNAVAILABLE}")
    engine, description = proactors.open_proactor("auto")
    with engine:
        assert isinstance(engine, UringProactor)
    assert description == "Completions from io_uring."


def test_open_proactor_falls_back_to_threads_and_says_why(monkeypatch):
    monkeypatch.setattr(proactors, "uring_unavailable", lambda: "no ring for you")
    engine, description = proactors.open_proactor("auto")
    with engine:
        assert isinstance(engine, ThreadPoolProactor)
    assert description == (
        "Completions from a thread pool (io_uring unavailable: no ring for you).")
    with pytest.raises(proactors.ProactorUnavailable,
                       match="io_uring is unavailable: no ring for you"):
        proactors.open_proactor("uring")
    engine, description = proactors.open_proactor("threads")
    with engine:
        assert description == "Completions from a thread pool."


def test_without_the_liburing_package_io_uring_is_unavailable(monkeypatch):
    monkeypatch.setattr(proactors, "liburing", None)
    assert "pip install coro-tutorial[uring]" in proactors.uring_unavailable()
    with pytest.raises(proactors.ProactorUnavailable):
        UringProactor()


def test_a_kernel_that_refuses_io_uring_is_named(monkeypatch):
    if proactors.liburing is None:
        pytest.skip("the liburing package is not installed")

    def refuse(entries, ring, *flags):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(proactors.liburing, "io_uring_queue_init", refuse)
    reason = proactors.uring_unavailable()
    assert reason.startswith("the kernel refused io_uring_setup (Operation not permitted")


def test_a_call_that_fails_with_a_bug_is_raised_by_wait_and_close_still_returns(pair):
    # Not a network failure (an OSError) but a bug in the call: it must not vanish in
    # a worker thread, and it must not leave its operation in flight for ever.
    ours, _ = pair
    engine = ThreadPoolProactor()
    engine.submit_connect(ours, 42, "bug")  # an address must be a tuple or a path
    with pytest.raises(TypeError):
        engine.wait(10)
    engine.close()
