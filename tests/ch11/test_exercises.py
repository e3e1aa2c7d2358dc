"""Chapter 11's exercises: a fallback poem from an errback that returns a value, and a
time limit that cancels the download's Deferred, which closes the connection."""

import threading

import pytest

from coro.deferred.deferred import CancelledError
from coro.trace import Event, Trace
from exercises import ch11_fallback, ch11_time_limit
from exercises.ch10_time_limit import TooSlow
from exercises.ch11_fallback import get_poetry_or
from exercises.ch11_time_limit import get_poetry_within
from poetry_server import spawn
from tests.reactor_fixtures import run_until
from tests.support import ScriptedServer, catalogue_bytes, refused_address

FALLBACK = b"a poem of our own\n"


@pytest.fixture(scope="module")
def servers():
    """One poetry server for the whole file, serving each poem on its own port."""
    with spawn("tyger", "science", delay=0, num_bytes=100) as addresses:
        yield dict(zip(("tyger", "science"), addresses))


class Outcomes(list):
    """What a Deferred fired with, as ("poem", bytes) or ("failure", type); its failure
    is handled here, so that no test leaves one unhandled."""

    def follow(self, d):
        d.add_callbacks(lambda poem: self.append(("poem", poem)),
                        lambda failure: self.append(("failure", failure.type)))
        return d


def received(trace):
    """The sizes of the chunks received so far."""
    return [r.nbytes for r in trace.records if r.event is Event.RECEIVED]


def turn(fake_reactor, condition, *, ticks=40):
    """Run ticks of a reactor on a fake clock until ``condition()``; its time stands
    still, so the watchdog counts ticks (each polls for at most half a second)."""
    for _ in range(ticks):
        if condition():
            return
        fake_reactor.run_once(timeout=0.5)
    raise AssertionError(f"not true after {ticks} ticks: {condition.__name__}")


def _send_a_byte_and_wait_for_the_hang_up(hung_up):
    def behaviour(socks):
        [sock] = socks
        sock.sendall(b"a")
        hung_up.append(sock.recv(1) == b"")  # returns when the client closes

    return behaviour


# Exercise 1: a fallback poem.

def test_a_refused_connection_fires_with_the_fallback(reactor):
    outcomes, told = Outcomes(), []
    with refused_address() as (host, port):
        outcomes.follow(get_poetry_or(reactor, host, port, FALLBACK,
                                      on_failure=lambda failure: told.append(failure.type)))
        run_until(reactor, lambda: outcomes)
    assert told == [ConnectionRefusedError]
    assert outcomes == [("poem", FALLBACK)]


def test_a_poem_that_arrives_is_the_poem(reactor, servers):
    outcomes, told = Outcomes(), []
    outcomes.follow(get_poetry_or(reactor, *servers["science"], FALLBACK,
                                  on_failure=told.append))
    run_until(reactor, lambda: outcomes)
    assert outcomes == [("poem", catalogue_bytes("science"))]
    assert told == []


def test_a_cancel_is_not_a_network_error_and_goes_on_down_the_chain(reactor):
    outcomes, hung_up, trace = Outcomes(), [], Trace()
    with ScriptedServer(_send_a_byte_and_wait_for_the_hang_up(hung_up)) as server:
        d = outcomes.follow(get_poetry_or(reactor, *server.address, FALLBACK, trace=trace))
        run_until(reactor, lambda: received(trace))
        d.cancel()
        assert outcomes == [("failure", CancelledError)]
    assert hung_up == [True]  # the cancel closed the connection
    run_until(reactor, lambda: not reactor.pending_timers())


def test_the_fallback_on_the_command_line(servers, capsys, tmp_path):
    good = servers["tyger"]
    with refused_address() as refused:
        status = ch11_fallback.main(["--fallback", "sera", "--save", str(tmp_path),
                                     str(good[1]), str(refused[1])])
    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert (f"Task 2: connection refused by 127.0.0.1:{refused[1]}; the fallback poem "
            f"instead") in lines
    assert lines[-1].startswith("Got 2 poems in ")
    assert (tmp_path / "poem-1.txt").read_bytes() == catalogue_bytes("tyger")
    assert (tmp_path / "poem-2.txt").read_bytes() == catalogue_bytes("sera")


def test_an_unknown_fallback_is_a_usage_error(capsys):
    assert ch11_fallback.main(["--fallback", "no-such-poem", "10001"]) == 2
    assert "argument --fallback: unknown poem 'no-such-poem'" in capsys.readouterr().err


# Exercise 2: a time limit that stops the download.

def test_the_time_limit_cancels_the_download_and_closes_the_connection(fake_reactor, clock):
    outcomes, hung_up, trace = Outcomes(), [], Trace()
    with ScriptedServer(_send_a_byte_and_wait_for_the_hang_up(hung_up)) as server:
        outcomes.follow(get_poetry_within(fake_reactor, *server.address, limit=5,
                                          timeout=60, trace=trace))
        turn(fake_reactor, lambda: received(trace))
        clock.advance(5)
        fake_reactor.run_once(0)
        assert outcomes == [("failure", TooSlow)]
    assert hung_up == [True]  # the server saw its client go: the download was stopped
    turn(fake_reactor, lambda: not fake_reactor.pending_timers())  # nothing left behind


def test_a_download_within_the_limit_gives_its_poem(reactor, servers):
    outcomes = Outcomes()
    outcomes.follow(get_poetry_within(reactor, *servers["science"], limit=60))
    run_until(reactor, lambda: outcomes)
    assert outcomes == [("poem", catalogue_bytes("science"))]
    # The reactor fixture checks that the limit's timer was cancelled.


def test_another_failure_within_the_limit_is_left_as_it_is(reactor):
    outcomes = Outcomes()
    with refused_address() as (host, port):
        outcomes.follow(get_poetry_within(reactor, host, port, limit=60))
        run_until(reactor, lambda: outcomes)
    assert outcomes == [("failure", ConnectionRefusedError)]


def test_the_time_limit_on_the_command_line(capsys):
    hung_up = threading.Event()

    def trickle_until_the_hang_up(socks):
        [sock] = socks
        sock.settimeout(0.01)
        while not hung_up.is_set():
            try:
                sock.sendall(b".")
                if sock.recv(1) == b"":
                    hung_up.set()
            except TimeoutError:
                continue  # still there: one more byte
            except (ConnectionResetError, BrokenPipeError):
                hung_up.set()  # it hung up with a byte unread

    with ScriptedServer(trickle_until_the_hang_up) as server:
        status = ch11_time_limit.main(["--limit", "0.05", str(server.address[1])])
        lines = capsys.readouterr().out.splitlines()
    assert status == 1
    assert f"Task 1: failed: no poem after 0.05s (127.0.0.1:{server.address[1]})" in lines
    assert hung_up.is_set() and server.errors == []
