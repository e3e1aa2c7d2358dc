"""The signal-driven client: SIGIO says "something happened", the client finds out what.

Besides the checks every client passes, these tests pin down the model's hard parts:
one signal for many arrivals (so every socket is drained), one signal for every
socket (so every socket is tried), events that raise no signal at all (so the client
looks before it first sleeps), signals that stray to other threads, and a process
whose signal state is left exactly as it was found.
"""

import contextlib
import signal
import socket
import threading

import pytest

from coro import signal_client
from coro.io.nonblocking import Download, State
from coro.trace import Trace
from poetry_server import spawn
from tests.client_checks import ConcurrentClientChecks, run_in_process
from tests.support import Event, ScriptedServer, events, refused_address


def signal_state():
    """What download_all must leave as it found it: handler, mask, pending signals."""
    return (signal.getsignal(signal.SIGIO),
            signal.pthread_sigmask(signal.SIG_BLOCK, []),
            signal.sigpending())


@contextlib.contextmanager
def sigio_blocked():
    """Block SIGIO in this thread for a while; then take any SIGIO left pending."""
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGIO})
    try:
        yield
    finally:
        while signal.sigtimedwait({signal.SIGIO}, 0) is not None:
            pass
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


# The checks every client stage passes.

class TestSignalClient(ConcurrentClientChecks):
    stage = signal_client
    module = "coro.signal_client"


# One thread, many downloads.

def test_chunks_of_different_downloads_interleave(capsys):
    with spawn("ozymandias", "science", "fascination", delay=0.01, num_bytes=50) \
            as addresses:
        report, status, _ = run_in_process(signal_client, addresses, capsys)
    assert status == 0
    received = events(report.trace, Event.RECEIVED, Event.DONE)
    first_done = next(n for n, (_, event) in enumerate(received) if event is Event.DONE)
    # Before the first download ended, bytes had come in for all three.
    assert {task for task, _ in received[:first_done]} == {1, 2, 3}


def test_what_happened_before_the_first_signal_is_found_without_one():
    # On loopback a connect is over, refused or not, by the time connect_ex returns,
    # before the socket asks for SIGIO: no signal will ever tell of it. The client
    # looks at every socket before it first sleeps, so the refusal is reported at
    # once, and only then does the other server send anything at all.
    reported = threading.Event()
    reported_before_sending = []

    def send_once_the_refusal_is_reported(socks):
        [sock] = socks
        reported_before_sending.append(reported.wait(timeout=10))
        sock.sendall(b"a poem\n")
        sock.close()

    results = {}

    def done(task, **result):
        results[task] = result
        if task == 1:
            reported.set()

    with refused_address() as refused, \
            ScriptedServer(send_once_the_refusal_is_reported) as server:
        signal_client.download_all([refused, server.address], timeout=60,
                                   trace=Trace(), done=done)
    assert reported_before_sending == [True]
    assert isinstance(results[1]["error"], ConnectionRefusedError)
    assert results[2] == {"poem": b"a poem\n"}


# Signals coalesce and do not say which socket: drain every socket after each one.

SEGMENTS = 400


def _segment(client, n):
    return f"{client}:{n:03d};".encode()


def _many_tiny_segments(socks):
    # TCP_NODELAY sends each piece as a segment of its own, and each arrival raises
    # SIGIO; arrivals that land while one SIGIO is pending make no second signal.
    for sock in socks:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for n in range(SEGMENTS):
        for client, sock in enumerate(socks, start=1):
            sock.sendall(_segment(client, n))
    for sock in socks:
        sock.close()


def test_no_data_lost_when_many_chunks_arrive_while_the_client_is_busy(capsys):
    with ScriptedServer(_many_tiny_segments, clients=3) as server:
        report, status, _ = run_in_process(
            signal_client, [server.address] * 3, capsys, timeout=5)
    assert status == 0, report.errors
    # The server numbers its clients in the order it accepted them, which need not be
    # the order of the tasks: compare the set of poems.
    assert sorted(report.poems.values()) == [
        b"".join(_segment(client, n) for n in range(SEGMENTS)) for client in (1, 2, 3)]
    assert server.errors == []


def test_one_step_reads_everything_the_socket_holds():
    # What "drain" means: one step after a signal reads until the socket would
    # block, here through several reads and the close, not one read per signal.
    ended = []
    download = Download(1, ("127.0.0.1", 1), timeout=10, trace=Trace(),
                        done=lambda task, **result: ended.append(result))
    sender, download.sock = socket.socketpair()
    download.sock.setblocking(False)
    download.state = State.READING  # as if connected
    try:
        with sender:
            sender.sendall(b"a" * 5000)
            signal_client.step(download)
            assert ended == []  # all read, and no end of poem yet
            sender.sendall(b"b" * 9000)
        signal_client.step(download)
        assert ended == [{"poem": b"a" * 5000 + b"b" * 9000}]
    finally:
        download.close()


def test_ten_arrivals_while_sigio_is_pending_make_one_signal():
    # The kernel fact the client is built around, shown on a socketpair, where a
    # send has arrived by the time it returns.
    before = signal_state()
    sender, receiver = socket.socketpair()
    with sender, receiver, sigio_blocked():
        signal_client.ask_for_sigio(receiver)
        for _ in range(10):
            sender.send(b"x")
        assert signal.sigtimedwait({signal.SIGIO}, 0) is not None
        assert signal.sigtimedwait({signal.SIGIO}, 0) is None  # one signal, not ten
        assert receiver.recv(100) == b"x" * 10  # every byte is there all the same
    assert signal_state() == before


def test_sigio_comes_to_the_thread_that_asked_even_when_another_thread_runs():
    # Were the process the owner, the kernel would hand SIGIO to a thread that does
    # not block it: here the one whose send raised it, on its way back from send.
    # Its handler would take the signal, and the main thread would wait in vain.
    before = signal_state()
    go = threading.Event()
    sender, receiver = socket.socketpair()
    other = threading.Thread(target=lambda: go.wait(10) and sender.send(b"x"))
    other.start()  # before SIGIO is blocked: a thread starts with its creator's mask
    previous_handler = signal.signal(signal.SIGIO, lambda signum, frame: None)
    try:
        with sender, receiver, sigio_blocked():
            signal_client.ask_for_sigio(receiver)
            go.set()
            other.join()
            assert signal.sigtimedwait({signal.SIGIO}, 0) is not None
    finally:
        go.set()
        other.join()
        signal.signal(signal.SIGIO, previous_handler)
    assert signal_state() == before


# The process's signal state, before and after.

def _never_send(socks):
    [sock] = socks
    sock.recv(1)  # returns when the client gives up and closes


def test_signal_state_is_restored_after_successes_and_failures(capsys):
    before = signal_state()
    with spawn("science", delay=0, num_bytes=100) as [good], refused_address() as refused, \
            ScriptedServer(_never_send) as silent:
        _, status, _ = run_in_process(
            signal_client, [good, refused, silent.address], capsys, timeout=0.2)
    assert status == 1
    assert signal_state() == before


def test_signal_state_is_restored_when_sigio_was_already_blocked(capsys):
    # A refused connection raises SIGIO and ends its download at once, so this run
    # ends with a SIGIO pending. Left pending, it would end the process the moment
    # the caller unblocked SIGIO: SIGIO's default action ends the process.
    with sigio_blocked(), refused_address() as refused:
        before = signal_state()
        _, status, _ = run_in_process(signal_client, [refused], capsys)
        assert status == 1
        assert signal_state() == before


def test_an_interrupt_closes_every_socket_and_restores_the_signal_state():
    # Ctrl-C while a download is still going on, made to happen at a known point:
    # the first finished task's ``done`` raises KeyboardInterrupt.
    before = signal_state()
    closed = threading.Event()

    def note_the_close(socks):
        [sock] = socks
        assert sock.recv(1) == b""  # the client closed its end
        closed.set()

    def interrupted(task, **result):
        raise KeyboardInterrupt

    with spawn("science", delay=0, num_bytes=100) as [good], \
            ScriptedServer(note_the_close) as silent:
        with pytest.raises(KeyboardInterrupt) as interruption:
            signal_client.download_all([silent.address, good], timeout=10,
                                       trace=Trace(), done=interrupted)
        # The traceback keeps download_all's locals alive, so the garbage collector
        # has closed nothing yet: the socket was closed on the way out.
        assert closed.wait(timeout=10)
        del interruption
    assert silent.errors == []
    assert signal_state() == before


def test_runs_in_the_main_thread_only():
    errors = []

    def in_a_thread():
        try:
            signal_client.download_all([("127.0.0.1", 1)], timeout=1,
                                       trace=Trace(), done=None)
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    [error] = errors
    assert "main thread" in str(error)
