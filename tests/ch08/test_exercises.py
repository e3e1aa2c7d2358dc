"""Chapter 8's exercises: a server's progress line, a monitor of the loop's lateness, and
blocking work sent to a thread. Timers on a fake clock; the server and the thread for real."""

import io
import signal
import socket
import subprocess
import sys
import threading

import pytest

from exercises import ch08_in_a_thread, ch08_lag, ch08_progress_server
from exercises.ch08_in_a_thread import call_in_thread
from exercises.ch08_lag import LagMonitor
from poetry_server import spawn
from poetry_server.client_limit import ClientLimit
from tests.support import catalogue_bytes, read_all


def tick(reactor, clock, seconds):
    clock.advance(seconds)
    reactor.run_once(0)


# Exercise 1: the server's progress line.

def test_progress_says_every_second_how_many_clients_are_served(fake_reactor, clock):
    out = io.StringIO()
    limit = ClientLimit(10)
    progress = ch08_progress_server.Progress(fake_reactor, limit, 1.0, out=out)
    limit.take()
    limit.take()
    tick(fake_reactor, clock, 1.0)
    limit.release()
    tick(fake_reactor, clock, 0.5)  # not due yet: nothing
    tick(fake_reactor, clock, 0.5)
    limit.release()
    tick(fake_reactor, clock, 1.3)  # a late tick...
    tick(fake_reactor, clock, 0.7)  # ...does not push the next one back
    progress.stop()
    assert out.getvalue().splitlines() == [
        " 1.0s: serving 2 clients", " 2.0s: serving 1 client", " 3.3s: serving 0 clients",
        " 4.0s: serving 0 clients"]


def test_the_progress_server_serves_every_byte():
    with spawn("tyger", "science", module="exercises.ch08_progress_server", delay=0,
               num_bytes=100) as addresses:
        poems, _ = read_all(addresses * 2)
    assert poems == {1: catalogue_bytes("tyger"), 2: catalogue_bytes("science"),
                     3: catalogue_bytes("tyger"), 4: catalogue_bytes("science")}


def test_the_progress_line_counts_a_client_that_is_being_served():
    # A pause of 30s between chunks keeps the client being served until it hangs up.
    server = subprocess.Popen(
        [sys.executable, "-m", "exercises.ch08_progress_server", "--delay", "30", "tyger"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    with server:
        try:
            port = int(server.stdout.readline().rsplit(":", 1)[1])
            with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
                assert client.recv(100)  # the first chunk: it is being served
                lines = []
                while not lines or not lines[-1].endswith("serving 1 client\n"):
                    lines.append(server.stderr.readline())
            server.send_signal(signal.SIGINT)
            assert server.wait(timeout=10) == 0
        finally:
            if server.poll() is None:
                server.kill()  # a hang guard only
    assert all(line.endswith(("serving 0 clients\n", "serving 1 client\n")) for line in lines)


# Exercise 2: the lag monitor.

def test_the_monitor_reports_a_handler_that_held_the_loop(fake_reactor, clock):
    said = []
    monitor = LagMonitor(fake_reactor, report=said.append, interval=0.1, threshold=0.05)
    tick(fake_reactor, clock, 0.1)  # on time: nothing to say
    tick(fake_reactor, clock, 0.13)  # 0.03s late: within the threshold
    fake_reactor.call_soon(clock.advance, 0.5)  # a handler that holds the loop for 0.5s
    fake_reactor.run_once(0)
    assert said == []  # the monitor's turn comes after the handler's
    fake_reactor.run_once(0)
    assert said == ["the loop was 0.40s late"]
    tick(fake_reactor, clock, 0.1)  # due 0.1s after its late run, not at once
    monitor.stop()
    assert said == ["the loop was 0.40s late"]
    assert monitor.worst == pytest.approx(0.4)


def test_the_lag_demonstration_shows_the_blocking_handler():
    out = io.StringIO()
    assert ch08_lag.demonstrate(ch08_lag.block_for(0.2), hold_at=0, linger=0, out=out) == 0
    said = [line.split(": ", 1)[1] for line in out.getvalue().splitlines()]
    # The sleep makes the monitor's timer at least 0.15s late, whatever the machine does.
    assert said[:2] == ["a handler sleeps for 0.2s", "the handler returns"]
    assert said[2].startswith("the loop was ") and said[2].endswith("s late")
    assert said[-1].startswith("the loop was at worst ")


# Exercise 3: the work in a thread, the result on the reactor.

def test_the_result_comes_back_to_the_reactors_thread_while_the_loop_went_on(reactor):
    loop_ran = threading.Event()
    got = []

    def work():
        return loop_ran.wait(timeout=10), threading.get_ident()

    def on_result(result):
        got.append((result, threading.get_ident()))
        reactor.stop()

    reactor.call_later(0.01, loop_ran.set)  # a timer: the loop runs while the thread waits
    thread = call_in_thread(reactor, work, on_result=on_result, on_error=got.append)
    reactor.run()
    thread.join(timeout=10)
    [((waited, worker), caller)] = got
    assert waited and worker == thread.ident and caller == threading.get_ident()


def test_an_error_in_the_thread_comes_back_to_the_reactors_thread(reactor):
    got = []

    def on_error(exc):
        got.append((exc, threading.get_ident()))
        reactor.stop()

    thread = call_in_thread(reactor, int, "not a number", on_result=got.append,
                            on_error=on_error)
    reactor.run()
    thread.join(timeout=10)
    [(error, caller)] = got
    assert isinstance(error, ValueError) and caller == threading.get_ident()


def test_the_thread_demonstration():
    out = io.StringIO()
    hold = ch08_in_a_thread.sleep_in_a_thread(0.1)
    assert ch08_lag.demonstrate(hold, hold_at=0, linger=0, out=out) == 0
    said = [line.split(": ", 1)[1] for line in out.getvalue().splitlines()]
    assert said[0] == "a handler hands a 0.1s sleep to a thread"
    assert "the thread is done" in said
    assert said[-1].startswith("the loop was at worst ")
