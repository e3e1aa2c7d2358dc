"""The kernel client: every check every client passes, on each backend; get_poetry alone,
as one task; and what a task group does with a failure that is not a download's."""

import socket

import pytest

from coro import kernel_client
from coro.io.clock import FakeClock
from coro.kernel.loop import Kernel
from coro.kernel.sockets import Socket, listen
from coro.kernel.traps import sleep, spawn
from coro.trace import Event, Trace
from poetry_server import spawn as spawn_servers
from tests.client_checks import MultiplexerClientChecks, run_in_process
from tests.support import ScriptedServer, catalogue_bytes, events, needs_ipv6


class TestKernelClient(MultiplexerClientChecks):
    stage = kernel_client
    module = "coro.kernel_client"
    wake_up_sockets = 2  # the kernel's

    def test_a_server_that_never_accepts_times_out_while_connecting(self, client, capsys):
        # A listener whose backlog is full drops new handshakes, so the connect hangs.
        with socket.socket() as listener, socket.socket() as first:
            listener.bind(("127.0.0.1", 0))
            listener.listen(0)  # room for one waiting connection: ``first`` takes it
            address = listener.getsockname()
            first.connect(address)
            report, status, lines = run_in_process(client, [address], capsys, timeout=0.2)
        assert status == 1
        assert lines[0] == (f"Task 1: failed: timed out: 127.0.0.1:{address[1]} sent nothing "
                            f"for 0.2s")


# -- get_poetry alone: one generator, run as the kernel's main task ----------------------

def test_get_poetry_is_a_task_whose_result_is_the_poem():
    trace = Trace()
    with spawn_servers("tyger", delay=0, num_bytes=200) as [(host, port)]:
        with Kernel() as kernel:
            poem = kernel.run(kernel_client.get_poetry(host, port, timeout=10, trace=trace,
                                                       task=7))
    assert poem == catalogue_bytes("tyger")
    kinds = [event for task, event in events(trace) if task == 7]
    assert kinds[0] is Event.CONNECTED and set(kinds[1:]) == {Event.RECEIVED}
    assert sum(record.nbytes for record in trace.records_of(7)) == len(poem)


@needs_ipv6
def test_a_kernel_listener_and_get_poetry_over_ipv6():
    # sockets.listen and open_connection take the address family from the address.
    poem = catalogue_bytes("lorelei")

    def serve_once(listener):
        sock, _ = yield from listener.accept()
        with sock:
            yield from sock.sendall(poem)

    def main():
        with listen("::1", 0) as listener:
            host, port = listener.raw.getsockname()[:2]
            yield from spawn(serve_once(listener))
            return host, (yield from kernel_client.get_poetry(host, port, timeout=10,
                                                              trace=Trace(), task=1))

    with Kernel() as kernel:
        assert kernel.run(main()) == ("::1", poem)


@pytest.fixture
def paired(monkeypatch):
    """``open_connection`` hands get_poetry one end of a socketpair; yields the other end.

    Bytes on a socketpair are readable the moment they are sent, so a kernel on a fake
    clock never skips past them: only the sleeps move the clock.
    """
    ours, theirs = socket.socketpair()
    client_end = Socket(theirs)
    connected = []

    def open_connection(host, port):
        connected.append((host, port))
        yield from sleep(0)  # a connect takes at least one turn
        return client_end

    monkeypatch.setattr(kernel_client, "open_connection", open_connection)
    with ours, client_end:
        yield Socket(ours), connected


def pace(server_end, pieces):
    """A task that sends each ``(seconds, data)`` piece after sleeping, then closes."""
    with server_end:
        for seconds, data in pieces:
            yield from sleep(seconds)
            yield from server_end.sendall(data)


def download_while(server_task, *, timeout):
    """Run get_poetry against ``server_task`` on a fake clock; returns (outcome, time)."""
    clock = FakeClock()

    def main():
        yield from spawn(server_task)
        try:
            return (yield from kernel_client.get_poetry("127.0.0.1", 1, timeout=timeout,
                                                        trace=Trace(), task=1))
        except TimeoutError as exc:
            return exc

    with Kernel(clock=clock, handle_signals=False) as kernel:
        outcome = kernel.run(main())
    return outcome, clock.now()


def test_the_timeout_counts_from_the_last_bytes_not_from_the_start(paired):
    server_end, connected = paired
    poem, when = download_while(pace(server_end, [(9, b"The "), (9, b"Tyger"), (9, b"")]),
                                timeout=10)
    assert (poem, when) == (b"The Tyger", 27)  # 27s in all, never 10s without a byte
    assert connected == [("127.0.0.1", 1)]


def test_a_silence_longer_than_the_timeout_fails_the_download(paired):
    server_end, _ = paired
    outcome, when = download_while(pace(server_end, [(9, b"The "), (11, b"Tyger")]),
                                   timeout=10)
    assert isinstance(outcome, TimeoutError)
    assert when == 19  # 9s for the first bytes, then 10s of silence


# -- a failure that is not a download's ---------------------------------------------------

def _never_send(socks):
    [sock] = socks
    sock.recv(1)  # returns when the client gives up and closes


def test_a_done_that_raises_cancels_the_other_downloads_and_comes_out(capsys):
    # A failed download is reported through done and fails nothing else. An error in
    # done itself is a bug of the caller's: the task group cancels the other downloads
    # (their sockets close) and download_all raises it, instead of going on without it.
    ended = []

    def done(task, **outcome):
        ended.append((task, sorted(outcome)))
        raise RuntimeError(f"done failed for task {task}")

    with spawn_servers("tyger", delay=0, num_bytes=100) as [good], \
            ScriptedServer(_never_send) as silent:
        with pytest.raises(ExceptionGroup) as raised:
            kernel_client.download_all([good, silent.address], timeout=60, trace=Trace(),
                                       done=done)
    assert ended == [(1, ["poem"])]
    [error] = raised.value.exceptions
    assert str(error) == "done failed for task 1"
    # Task 2's socket was closed when it was cancelled: no_descriptor_left_open checks it.
