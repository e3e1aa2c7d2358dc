"""Chapter 13's exercises: the first poems win and the rest are cancelled; at most N
downloads at a time; a proxy whose cached poem expires."""

import socket

from coro import cli
from coro.io.clock import FakeClock
from coro.reactor.loop import Reactor
from coro.reactor.tcp import Listener
from coro.trace import Event
from exercises import ch13_at_most, ch13_first_two
from exercises.ch13_expiring_proxy import ExpiringCache, ExpiringProxyFactory
from poetry_server import spawn
from tests.ch12.test_exercises import service
from tests.ch13.test_proxy import CountingUpstream, Fetches, download, framed_server, outcome_of
from tests.client_checks import (bound, check_ctrl_c_closes_everything_and_exits_cleanly,
                                 check_ctrl_c_reports_what_finished_and_what_was_cut_short,
                                 check_the_downloads_overlap)
from tests.support import (LOOPBACK, TASK_LINE, ScriptedServer, assert_one_line_usage_error,
                           catalogue_bytes, events, read_all, refused_address, run_module)


def never_send(closed):
    """A scripted server's behaviour: send nothing, and note what the client's close
    brought (b"" for a clean close)."""
    def behaviour(socks):
        closed.append(socks[0].recv(1))
    return behaviour


# -- 1. The first poems win ------------------------------------------------------------

def test_once_two_poems_have_come_the_download_still_running_is_cancelled(capsys):
    closed = []
    with ScriptedServer(never_send(closed)) as silent, \
            spawn("tyger", "jingyesi", delay=0, num_bytes=200) as fast:
        report, status = cli.run(ch13_first_two.download_all, [silent.address, *fast],
                                 timeout=10)
    assert status == 1
    assert report.poems == {2: catalogue_bytes("tyger"), 3: catalogue_bytes("jingyesi")}
    lines = capsys.readouterr().out.splitlines()
    assert [TASK_LINE.match(line).group(1) for line in lines[:2]] in (["2", "3"], ["3", "2"])
    assert lines[2] == (f"Task 1: failed: cancelled: 2 poems came first "
                        f"(127.0.0.1:{silent.address[1]})")
    assert lines[3].startswith("Got 2 poems in") and lines[3].endswith("; 1 failed")
    assert closed == [b""]  # the cancel closed its connection


def test_with_first_1_the_first_poem_cancels_every_other_download(capsys):
    closed = []
    with ScriptedServer(never_send(closed)) as silent, \
            spawn("jingyesi", delay=0, num_bytes=200) as [fast]:
        report, status = cli.run(ch13_first_two.download_all, [silent.address, fast],
                                 timeout=10, first=1)
    assert report.poems == {2: catalogue_bytes("jingyesi")}
    assert isinstance(report.errors[1], ch13_first_two.NotNeeded)
    assert str(report.errors[1]) == "cancelled: 1 poem came first"
    assert closed == [b""]


def test_a_failed_download_does_not_count_and_nothing_is_cancelled(capsys):
    # One poem only: the silent download is never cancelled, and times out in the end.
    # Were the refused download counted, the silent one would be cancelled instead.
    with refused_address() as refused, spawn("science", delay=0, num_bytes=200) as [good], \
            ScriptedServer(never_send([])) as silent:
        report, status = cli.run(ch13_first_two.download_all, [refused, good, silent.address],
                                 timeout=0.3)
    assert report.poems == {2: catalogue_bytes("science")}
    assert isinstance(report.errors[1], ConnectionRefusedError)
    assert isinstance(report.errors[3], TimeoutError)


def test_first_must_be_a_whole_number_of_poems():
    result = run_module("exercises.ch13_first_two", "--first", "0", "10001")
    assert_one_line_usage_error(result, "python -m exercises.ch13_first_two")
    assert "--first: must be a whole number >= 1, not '0'" in result.stderr


def test_ctrl_c_closes_every_download_of_the_first_two_client():
    check_ctrl_c_closes_everything_and_exits_cleanly("exercises.ch13_first_two", 3)


def test_ctrl_c_says_what_each_download_of_the_first_two_client_had():
    check_ctrl_c_reports_what_finished_and_what_was_cut_short("exercises.ch13_first_two",
                                                              finishing_order=True)


# -- 2. At most N at a time ------------------------------------------------------------

def most_at_once(trace):
    """The most downloads under way at the same moment, from the order of the events."""
    running = most = 0
    for _, event in events(trace, Event.START, Event.DONE, Event.FAILED):
        running += 1 if event is Event.START else -1
        most = max(most, running)
    return most


def test_no_more_downloads_run_at_once_than_allowed(capsys):
    names = ["tyger", "jingyesi", "science", "sera", "ecstasy"]
    with spawn(*names, delay=0, num_bytes=200) as addresses:
        for at_most in (1, 2, 3):
            report, status = cli.run(ch13_at_most.download_all, addresses, timeout=10,
                                     at_most=at_most)
            assert status == 0
            assert report.poems == {n: catalogue_bytes(name)
                                    for n, name in enumerate(names, 1)}
            assert most_at_once(report.trace) == at_most


def test_the_downloads_of_the_lanes_overlap(capsys):
    # The scripted server sends nothing until all three clients have connected.
    check_the_downloads_overlap(bound(ch13_at_most, at_most=3), capsys)


def test_a_failed_download_does_not_end_its_lane(capsys):
    with refused_address() as refused, spawn("jingyesi", delay=0, num_bytes=200) as [good]:
        report, status = cli.run(ch13_at_most.download_all, [refused, refused, good],
                                 timeout=10, at_most=1)
    assert status == 1
    assert report.poems == {3: catalogue_bytes("jingyesi")}
    assert [event for _, event in events(report.trace, Event.START, Event.DONE,
                                         Event.FAILED)] \
        == [Event.START, Event.FAILED, Event.START, Event.FAILED, Event.START, Event.DONE]


def test_ctrl_c_closes_every_download_of_the_lanes():
    check_ctrl_c_closes_everything_and_exits_cleanly("exercises.ch13_at_most", 2)


def test_ctrl_c_says_what_each_download_of_the_lanes_had():
    # Task 3 starts once task 1 has its poem, and is cut short with nothing.
    check_ctrl_c_reports_what_finished_and_what_was_cut_short("exercises.ch13_at_most",
                                                              finishing_order=True)


# -- 3. A cached poem that expires -----------------------------------------------------

class Now:
    """A clock for the cache alone, moved by the test."""

    def __init__(self):
        self.value = 100.0

    def __call__(self):
        return self.value


def test_the_poem_is_fetched_again_once_it_is_older_than_max_age():
    fetches, now = Fetches(), Now()
    cache = ExpiringCache(fetches, now=now, max_age=30)
    first = outcome_of(cache.get())
    fetches[0].callback(b"poem, first version")
    now.value += 29.9
    assert cache.get().result == b"poem, first version" and len(fetches) == 1
    now.value += 0.1
    later = [outcome_of(cache.get()), outcome_of(cache.get())]  # one fetch for both
    assert len(fetches) == 2
    fetches[1].callback(b"poem, second version")
    assert first == [b"poem, first version"]
    assert later == [[b"poem, second version"]] * 2
    assert cache.fetched_at == 130.0


def test_a_refetch_that_fails_keeps_nothing_and_the_next_client_tries_again():
    fetches, now = Fetches(), Now()
    cache = ExpiringCache(fetches, now=now, max_age=30)
    cache.get()
    fetches[0].callback(b"poem")
    now.value += 60
    seen = outcome_of(cache.get())
    fetches[1].errback(ConnectionRefusedError())
    assert seen == [ConnectionRefusedError] and cache.poem is None
    outcome_of(cache.get())
    assert len(fetches) == 3


def turn_until(reactor, condition, turns=1000):
    """Run the reactor's turns until ``condition()``; on a fake clock no time passes, so
    the watchdog counts turns (each waits at most 0.5s for a socket)."""
    for _ in range(turns):
        if condition():
            return
        reactor.run_once(timeout=0.5)
    raise AssertionError(f"not true after {turns} turns: {condition.__name__}")


def fetch_through(reactor, listener, upstream, poem):
    """Download from the proxy; if the proxy asks the upstream for the poem, send it.

    Returns:
        How many connections the proxy has made to the upstream so far.
    """
    before = upstream.accept()
    _, got = download(reactor, listener)
    turn_until(reactor, lambda: got or upstream.accept() > before)
    if upstream.accept() > before:
        upstream.send_poem(before, poem)
        turn_until(reactor, lambda: got)
    assert got == [("poem", poem)]
    return upstream.accept()


def test_the_proxy_fetches_from_upstream_again_when_its_poem_has_expired(capsys):
    # The proxy and its clients run on one reactor with a fake clock; the upstream is a
    # listener the test drives, which counts the proxy's connections.
    poem, clock = catalogue_bytes("jingyesi"), FakeClock()
    with CountingUpstream() as upstream, Reactor(clock=clock) as reactor:
        factory = ExpiringProxyFactory(reactor, upstream.address, max_age=60,
                                       idle_timeout=10)
        listener = Listener(reactor, socket.create_server((LOOPBACK, 0)), factory)
        fetches = []
        for seconds in (0, 59, 1, 59):
            clock.advance(seconds)
            fetches.append(fetch_through(reactor, listener, upstream, poem))
        turn_until(reactor, lambda: not reactor.pending_timers())
    assert fetches == [1, 1, 2, 2]
    assert capsys.readouterr().err.count("fetching the poem from") == 2


def test_the_command_line_needs_a_max_age_and_proxies_a_framed_server():
    result = run_module("exercises.ch13_expiring_proxy", "10001")
    assert_one_line_usage_error(result, "python -m exercises.ch13_expiring_proxy")
    assert "the following arguments are required: --max-age" in result.stderr
    with framed_server("tyger") as upstream:
        with service("exercises.ch13_expiring_proxy", "--max-age", 3600,
                     upstream[1]) as proxy:
            poems, _ = read_all([proxy.address] * 2)
    assert list(poems.values()) == [catalogue_bytes("tyger")] * 2
    assert proxy.stderr.splitlines() == [
        f"fetching the poem from 127.0.0.1:{upstream[1]}",
        f"cached {len(catalogue_bytes('tyger'))} bytes from 127.0.0.1:{upstream[1]}",
    ]
