"""Chapter 10's exercises: a second try after a refused connection, all the poems or the
first failure, and a time limit that cannot stop the download. Each keeps the promise:
exactly one of callback and errback, exactly once."""

import socket
import threading

import pytest

from coro.trace import Event, Trace
from exercises import ch10_all, ch10_retry, ch10_time_limit
from exercises.ch10_all import get_all_poetry
from exercises.ch10_retry import get_poetry_retrying
from exercises.ch10_time_limit import TooSlow, get_poetry_within
from poetry_server import spawn
from tests.client_checks import check_a_run_whose_done_raises_still_ends
from tests.reactor_fixtures import run_until
from tests.support import ScriptedServer, catalogue_bytes, refused_address, reset


class Calls(list):
    """The calls made to a callback, an errback and others, as (name, poem or type)."""

    def callback(self, poem):
        self.append(("callback", poem))

    def errback(self, failure, *where):
        self.append(("errback", failure.type, *where))

    def retry(self, failure):
        self.append(("retry", failure.type))


@pytest.fixture(scope="module")
def servers():
    """One poetry server for the whole file, serving each poem on its own port."""
    with spawn("tyger", "jingyesi", "science", "mariner", delay=0, num_bytes=100) as addresses:
        yield dict(zip(("tyger", "jingyesi", "science", "mariner"), addresses))


def run_to_the_end(reactor, calls):
    """Run until a call is made and nothing is left to happen, so a second would show."""
    run_until(reactor, lambda: calls and not reactor.pending_timers())
    reactor.run_once(0)


def turn(fake_reactor, condition, *, ticks=40):
    """Run ticks of a reactor on a fake clock until ``condition()``; its time stands
    still, so the watchdog counts ticks (each polls for at most half a second)."""
    for _ in range(ticks):
        if condition():
            return
        fake_reactor.run_once(timeout=0.5)
    raise AssertionError(f"not true after {ticks} ticks: {condition.__name__}")


# Exercise 1: a second try after a refused connection.

def test_a_server_that_listens_by_the_second_try_gives_its_poem(reactor):
    calls = Calls()
    server = socket.socket()  # bound, not listening yet: connections are refused
    served = []

    def serve_one():
        sock, _ = server.accept()
        with sock:
            sock.sendall(b"a poem, at last\n")
        served.append(True)

    def listen_now(failure):
        calls.retry(failure)
        server.listen()  # before the second try, which comes a pause later
        thread.start()

    thread = threading.Thread(target=serve_one)
    with server:
        server.bind(("127.0.0.1", 0))
        get_poetry_retrying(reactor, *server.getsockname(), calls.callback, calls.errback,
                            pause=0.01, on_retry=listen_now)
        run_to_the_end(reactor, calls)
        thread.join(timeout=10)
    assert served == [True]
    assert calls == [("retry", ConnectionRefusedError), ("callback", b"a poem, at last\n")]


def test_a_server_that_refuses_twice_is_a_failure_once(reactor):
    calls = Calls()
    with refused_address() as (host, port):
        get_poetry_retrying(reactor, host, port, calls.callback, calls.errback,
                            pause=0.01, on_retry=calls.retry)
        run_to_the_end(reactor, calls)
    assert calls == [("retry", ConnectionRefusedError), ("errback", ConnectionRefusedError)]


def _send_then_reset(socks):
    [sock] = socks
    sock.sendall(b"half a poem")
    reset(sock)


def test_other_failures_are_not_tried_again(reactor):
    calls = Calls()
    with ScriptedServer(_send_then_reset) as server:
        get_poetry_retrying(reactor, *server.address, calls.callback, calls.errback,
                            pause=0.01, on_retry=calls.retry)
        run_to_the_end(reactor, calls)
    assert calls == [("errback", ConnectionResetError)]


def test_the_retrying_client_on_the_command_line(servers, capsys):
    with refused_address() as refused:
        status = ch10_retry.main(["--pause", "0.01", str(servers["science"][1]),
                                  str(refused[1])])
    lines = capsys.readouterr().out.splitlines()
    assert status == 1
    where = f"127.0.0.1:{refused[1]}"
    assert f"Task 2: connection refused by {where}; trying again in 0.01s" in lines
    assert f"Task 2: failed: connection refused by {where}" in lines
    assert lines[-1].startswith("Got 1 poem in") and lines[-1].endswith("; 1 failed")


def test_a_run_whose_done_raises_still_ends(capsys):
    check_a_run_whose_done_raises_still_ends(ch10_retry)
    assert "RuntimeError: done failed for task 1" in capsys.readouterr().err


# Exercise 2: all the poems, or the first failure.

def test_all_the_poems_in_the_order_of_the_addresses(reactor, servers):
    calls = Calls()
    names = ("tyger", "jingyesi", "science")
    get_all_poetry(reactor, [servers[name] for name in names], calls.callback, calls.errback)
    assert calls == []  # never from inside the call
    run_to_the_end(reactor, calls)
    assert calls == [("callback", [catalogue_bytes(name) for name in names])]


def test_the_first_failure_only_while_the_other_downloads_go_on(reactor, servers):
    calls = Calls()
    with refused_address() as refused, ScriptedServer(_send_then_reset) as resetting:
        get_all_poetry(reactor, [servers["mariner"], refused, resetting.address],
                       calls.callback, calls.errback, trace=(trace := Trace()))
        run_until(reactor, lambda: calls)
        assert calls == [("errback", ConnectionRefusedError, 1)]
        # The refusal comes in the first turn of the loop, before a byte of the Mariner
        # or the reset; both go on to the end, and neither is news.
        run_to_the_end(reactor, calls)
    assert calls == [("errback", ConnectionRefusedError, 1)]
    assert sum(r.nbytes for r in trace.records_of(1)
               if r.event is Event.RECEIVED) == len(catalogue_bytes("mariner"))


def test_no_addresses_is_all_zero_poems_at_once(reactor):
    calls = Calls()
    get_all_poetry(reactor, [], calls.callback, calls.errback)
    assert calls == []  # not from inside the call, even with nothing to wait for
    run_to_the_end(reactor, calls)
    assert calls == [("callback", [])]


def test_all_or_nothing_on_the_command_line(servers, capsys):
    first, last = servers["tyger"], servers["science"]
    with refused_address() as refused:
        all_of_them = ch10_all.main([str(first[1]), str(last[1])])
        got_all = capsys.readouterr().out
        one_refused = ch10_all.main([str(first[1]), str(refused[1]), str(last[1])])
        got_none = capsys.readouterr().out
    assert all_of_them == 0
    assert got_all.startswith("Got all 2 poems in ")
    assert got_all.endswith(f"s: {len(catalogue_bytes('tyger'))}, "
                            f"{len(catalogue_bytes('science'))} bytes\n")
    assert one_refused == 1
    assert got_none == (f"No poems: download 2 failed: connection refused by "
                        f"127.0.0.1:{refused[1]}\n")


# Exercise 3: a time limit that calls the errback, and cannot stop the download.

def test_the_time_limit_calls_the_errback_and_the_bytes_keep_coming(fake_reactor, clock):
    calls = Calls()
    trace = Trace()
    go_on = threading.Event()

    def a_byte_now_and_more_later(socks):
        [sock] = socks
        sock.sendall(b"a")
        go_on.wait(timeout=10)
        sock.sendall(b" poem, too late\n")
        sock.close()

    def received():
        return [r.nbytes for r in trace.records if r.event is Event.RECEIVED]

    with ScriptedServer(a_byte_now_and_more_later) as server:
        get_poetry_within(fake_reactor, *server.address, calls.callback, calls.errback,
                          limit=5, timeout=60, trace=trace)
        turn(fake_reactor, lambda: received())
        clock.advance(5)
        fake_reactor.run_once(0)
        assert calls == [("errback", TooSlow)]
        go_on.set()
        # The errback has been called, yet the download goes on: nothing stopped it.
        turn(fake_reactor, lambda: sum(received()) == len(b"a poem, too late\n"))
        turn(fake_reactor, lambda: not fake_reactor.pending_timers())  # it ended
    assert calls == [("errback", TooSlow)]  # and its poem was no news


def test_a_download_within_the_limit_gives_its_poem(reactor, servers):
    calls = Calls()
    get_poetry_within(reactor, *servers["science"], calls.callback, calls.errback, limit=60)
    run_to_the_end(reactor, calls)  # the limit's timer is cancelled
    assert calls == [("callback", catalogue_bytes("science"))]


def test_the_time_limit_on_the_command_line(capsys):
    def trickle_until_the_hang_up(socks):
        [sock] = socks
        sock.settimeout(0.01)
        while True:
            try:
                sock.sendall(b".")
                if sock.recv(1) == b"":
                    return
            except TimeoutError:
                continue  # still there: one more byte
            except (ConnectionResetError, BrokenPipeError):
                return  # it hung up with a byte unread

    with ScriptedServer(trickle_until_the_hang_up) as server:
        status = ch10_time_limit.main(["--limit", "0.05", str(server.address[1])])
    lines = capsys.readouterr().out.splitlines()
    assert status == 1
    assert f"Task 1: failed: no poem after 0.05s (127.0.0.1:{server.address[1]})" in lines
    assert server.errors == []
