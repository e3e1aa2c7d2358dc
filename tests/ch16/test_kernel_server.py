"""The kernel server: a task per client. Its handler alone, on a fake clock and a
socketpair; its acceptor on real sockets; its whole life, in-process and as a command."""

import gc
import os
import re
import signal
import socket
import subprocess
import sys
import threading

import pytest

from coro.io.clock import FakeClock
from coro.kernel.loop import Kernel
from coro.kernel.sockets import Socket, listen as kernel_listen, open_connection
from coro.kernel.timeouts import timeout_after
from coro.kernel.traps import join, sleep, spawn
from poetry_server import cli, kernel_server, spawn as spawn_servers
from tests.support import (assert_one_line_usage_error, catalogue_bytes,
                           check_500_clients_get_every_byte_while_bad_clients_misbehave,
                           check_serves_over_ipv6, needs_ipv6, out_of_descriptors, read_all,
                           run_module)

MODULE = "poetry_server.kernel_server"
CLIENT = ("127.0.0.1", 1)


def test_500_clients_get_every_byte_while_bad_clients_misbehave():
    check_500_clients_get_every_byte_while_bad_clients_misbehave(MODULE)


# -- the handler alone: one task, one end of a socketpair, a fake clock ------------------

def run_handler(poem, peer, *, num_bytes, delay, idle_timeout=60.0):
    """Run serve_client on one end of a socketpair and ``peer(sock, clock)`` on the other.

    Bytes on a socketpair are readable the moment they are sent, so the fake clock
    moves only for the sleeps and the timeouts. Returns what ``peer`` returns, and the
    time when the handler had ended too.
    """
    clock = FakeClock()
    ours, theirs = socket.socketpair()

    def main():
        handler = yield from spawn(kernel_server.serve_client(
            Socket(ours), CLIENT, memoryview(poem), num_bytes=num_bytes, delay=delay,
            idle_timeout=idle_timeout))
        outcome = yield from peer(Socket(theirs), clock)
        yield from join(handler)
        return outcome

    with ours, theirs, Kernel(clock=clock, handle_signals=False) as kernel:
        return kernel.run(main()), clock.now()


def read_to_the_end(sock, clock, *, size=100):
    """A peer that reads until the end of file, noting when each piece came."""
    seen = []
    with sock:
        while True:
            data = yield from sock.recv(size)
            seen.append((clock.now(), data))
            if not data:
                return seen


def test_chunks_are_paced_by_sleeps_and_the_poem_ends_with_the_connection(capsys):
    seen, _ = run_handler(b"abcdefgh", read_to_the_end, num_bytes=3, delay=2.0)
    assert seen == [(0.0, b"abc"), (2.0, b"def"), (4.0, b"gh"), (4.0, b"")]
    assert capsys.readouterr().err == ""


def test_a_client_that_never_reads_is_dropped_after_the_idle_timeout(capsys):
    poem = bytes(range(256)) * 40_000  # 10 MB: far more than the socket buffers hold

    clock = FakeClock()
    ours, theirs = socket.socketpair()

    def main():
        handler = yield from spawn(kernel_server.serve_client(
            Socket(ours), CLIENT, memoryview(poem), num_bytes=1 << 20, delay=0.0,
            idle_timeout=30.0))
        yield from timeout_after(3600, join(handler))
        return clock.now()

    with ours, theirs, Kernel(clock=clock, handle_signals=False) as kernel:
        assert kernel.run(main()) == 30.0  # the handler has ended, and closed its end
        got = bytearray()
        while data := theirs.recv(1 << 20):
            got += data
    assert 0 < len(got) < len(poem)
    assert poem.startswith(got)  # what it did get was right, and then it ended
    assert capsys.readouterr().err == "client 127.0.0.1:1 took nothing for 30s; dropped\n"


def test_a_slow_reader_is_not_mistaken_for_a_stalled_one(capsys):
    # One chunk of 2 MB, read 256 kB every 20s: the chunk takes minutes to go out, but
    # the client never takes nothing for 30s, so it is never dropped.
    poem = bytes(range(256)) * 8192

    def read_slowly(sock, clock):
        got = bytearray()
        with sock:
            while data := (yield from sock.recv(256 << 10)):
                got += data
                yield from sleep(20)
        return bytes(got)

    got, when = run_handler(poem, read_slowly, num_bytes=len(poem), delay=0.0,
                            idle_timeout=30.0)
    assert got == poem
    assert when > 30  # far longer than the idle timeout, in fake seconds
    assert capsys.readouterr().err == ""


def test_a_client_that_hangs_up_costs_only_its_own_connection(capsys):
    def hang_up_after_the_first_chunk(sock, clock):
        with sock:
            return (yield from sock.recv(100))

    first, _ = run_handler(b"x" * 100, hang_up_after_the_first_chunk, num_bytes=10,
                           delay=1.0)
    assert first == b"x" * 10
    assert capsys.readouterr().err == (
        "client 127.0.0.1:1 hung up before the end of the poem (Broken pipe)\n")


# -- the acceptor, on real sockets --------------------------------------------------------

def test_a_client_that_talks_still_gets_the_whole_poem_and_a_clean_end(capsys):
    # Closing a socket that holds unread bytes resets the connection, and a reset can
    # destroy the end of the poem: the server must read what the client says first.
    poem = catalogue_bytes("tyger")

    def talking_client(address):
        sock = yield from open_connection(*address)
        with sock:
            yield from sock.sendall(b"hello, poetry server\r\n")
            got = bytearray()
            while data := (yield from sock.recv(4096)):
                got += data
            return bytes(got)

    with kernel_listen("127.0.0.1", 0) as listener:
        def main():
            yield from spawn(kernel_server.serve(listener, memoryview(poem), num_bytes=200,
                                                 delay=0.01, idle_timeout=60.0))
            return (yield from talking_client(listener.raw.getsockname()))

        with Kernel(handle_signals=False) as kernel:
            assert kernel.run(main()) == poem  # and no ConnectionResetError
    assert capsys.readouterr().err == ""


def test_out_of_descriptors_the_server_backs_off_then_serves(capsys):
    clock = FakeClock()
    with kernel_listen("127.0.0.1", 0) as listener, \
            socket.create_connection(listener.raw.getsockname()) as raw_client:
        def main():
            yield from spawn(kernel_server.serve(listener, memoryview(b"a poem"),
                                                 num_bytes=100, delay=1.0,
                                                 idle_timeout=60.0))
            with out_of_descriptors():
                for _ in range(3):
                    yield from sleep(0)  # three turns: accept fails once, then waits
            assert clock.now() == 0.0
            with Socket(raw_client) as client:  # it waited in the listener's queue
                return [(yield from client.recv(100)), (yield from client.recv(100))]

        with Kernel(clock=clock, handle_signals=False) as kernel:
            got = kernel.run(main())
    assert got == [b"a poem", b""]  # served once the backoff ended
    assert capsys.readouterr().err == (
        f"accept: Too many open files; retrying in {kernel_server.ACCEPT_BACKOFF}s\n")


def test_a_handler_that_crashes_is_reported_and_the_server_goes_on(monkeypatch):
    reported, crashed = [], []
    real_serve_client = kernel_server.serve_client

    def crash(client):
        with client:
            yield from sleep(0)
            raise RuntimeError("a bug in the handler")

    def crash_on_the_first_client(client, address, poem, **pacing):
        if not crashed:
            crashed.append(address)
            return crash(client)
        return real_serve_client(client, address, poem, **pacing)

    monkeypatch.setattr(kernel_server, "serve_client", crash_on_the_first_client)

    def get(address):
        sock = yield from open_connection(*address)
        with sock:
            return (yield from sock.recv(100)) + (yield from sock.recv(100))

    with kernel_listen("127.0.0.1", 0) as listener:
        address = listener.raw.getsockname()

        def main():
            yield from spawn(kernel_server.serve(listener, memoryview(b"a poem"),
                                                 num_bytes=100, delay=1.0,
                                                 idle_timeout=60.0))
            return [(yield from get(address)), (yield from get(address))]

        def main_with_a_watchdog():
            return (yield from timeout_after(10, main()))

        with Kernel(handle_signals=False,
                    report_error=lambda error, context: reported.append((error, context))
                    ) as kernel:
            got = kernel.run(main_with_a_watchdog())
    gc.collect()  # the report comes when the failed task is collected, at the latest
    assert got == [b"", b"a poem"]  # the first client's socket was closed; the next served
    [(error, context)] = reported
    assert str(error) == "a bug in the handler"
    assert "nobody joined" in context


# -- the whole server, in this process -----------------------------------------------------

def parse(*args):
    """The options and poems the server's command line makes of ``args``."""
    return cli.parse_args(kernel_server.make_parser("prog"), list(args))


def test_ctrl_c_cancels_every_task_and_closes_every_socket():
    options, poems = parse("--delay", "60", "--num-bytes", "5", "tyger")
    listener = cli.listen("127.0.0.1", 0)
    address = listener.getsockname()
    seen = []

    def client_then_ctrl_c():
        with socket.create_connection(address, timeout=10) as sock:  # a watchdog only
            seen.append(sock.recv(100))  # the first chunk: the handler now sleeps for 60s
            os.kill(os.getpid(), signal.SIGINT)
            seen.append(sock.recv(100))  # the end: the server closed this connection

    client = threading.Thread(target=client_then_ctrl_c)
    client.start()
    kernel_server.run([listener], poems, options)  # returns after the Ctrl-C
    client.join(timeout=10)
    assert seen == [catalogue_bytes("tyger")[:5], b""]
    assert listener.fileno() == -1  # and no_descriptor_left_open checks all the others


def test_slow_task_reports_a_step_that_keeps_the_kernel(monkeypatch, capsys):
    clock = FakeClock()

    def blocking_handler(client, address, poem, **pacing):
        with client:
            clock.advance(1.5)  # what a blocking call does: time passes, no task runs
            signal.raise_signal(signal.SIGINT)  # then the reader presses Ctrl-C
            yield from sleep(0)

    monkeypatch.setattr(kernel_server, "serve_client", blocking_handler)
    options, poems = parse("--slow-task", "1", "tyger")
    listener = cli.listen("127.0.0.1", 0)
    with socket.create_connection(listener.getsockname()):  # waits in the queue
        kernel_server.run([listener], poems, options, clock=clock)
    assert re.fullmatch(
        r"Warning: task \d+ \(\S*blocking_handler\) kept the kernel for 1\.5s without a "
        r"trap \(more than 1s\): a blocking call in a task stops every task\n",
        capsys.readouterr().err)


# -- the command ----------------------------------------------------------------------------

def test_each_poem_on_its_own_port_byte_for_byte():
    with spawn_servers("tyger", "jingyesi", module=MODULE, delay=0, num_bytes=7) as addresses:
        poems, _ = read_all(addresses)
    assert poems == {1: catalogue_bytes("tyger"), 2: catalogue_bytes("jingyesi")}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_ends_the_command_cleanly(signum):
    server = subprocess.Popen(
        [sys.executable, "-m", MODULE, "--port", "0", "--delay", "60", "tyger"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    with server:
        line = server.stdout.readline()
        assert re.fullmatch(r"Serving tyger on 127\.0\.0\.1:\d+\n", line), line
        port = int(line.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            assert client.recv(100) == catalogue_bytes("tyger")[:10]
            server.send_signal(signum)
            assert client.recv(100) == b""  # closed on the way out
        out, err = server.communicate(timeout=10)
    assert (server.returncode, out, err) == (0, "", "")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_right_after_the_serving_line_still_ends_cleanly(signum):
    # The line is printed once the kernel handles the signals, not a moment before.
    server = subprocess.Popen(
        [sys.executable, "-m", MODULE, "--port", "0", "tyger", "science"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    with server:
        assert server.stdout.readline().startswith("Serving tyger on ")
        server.send_signal(signum)
        out, err = server.communicate(timeout=10)
    assert (server.returncode, err) == (0, "")


@pytest.mark.parametrize("args, message", [
    (["--idle-timeout", "0", "tyger"], "--idle-timeout: must be a number of seconds > 0"),
    (["--slow-task", "soon", "tyger"], "--slow-task: not a number of seconds"),
    (["--slow-task", "-1", "tyger"], "--slow-task: must be a number of seconds"),
    (["no-such-poem"], "no-such-poem"),
    ([], "the following arguments are required: POEM"),
])
def test_bad_options_are_one_line(args, message):
    result = run_module(MODULE, *args)
    assert_one_line_usage_error(result, f"python -m {MODULE}")
    assert message in result.stderr


def test_help_names_the_debug_option():
    result = run_module(MODULE, "--help")
    assert result.returncode == 0
    assert "--slow-task SECONDS" in result.stdout and "--idle-timeout SECONDS" in result.stdout


@needs_ipv6
def test_the_kernel_server_serves_over_ipv6():
    check_serves_over_ipv6("poetry_server.kernel_server")
