"""Chapter 15's exercises: a time limit and a second try for each download, in
straight-line code; exercise 12.2's chain of transformation servers as a generator."""

import re
import socket

import pytest

from coro import cli
from coro.deferred.deferred import CancelledError, Deferred
from exercises import ch12_fallback, ch15_fallback, ch15_retry
from exercises.ch15_retry import TooSlow, sleep, within
from poetry_server import spawn
from tests.ch12.test_transform_server import spawn_transform_server
from tests.client_checks import (after_the_header,
                                 check_ctrl_c_closes_everything_and_exits_cleanly,
                                 check_ctrl_c_reports_what_finished_and_what_was_cut_short)
from tests.support import (TASK_LINE, ScriptedServer, catalogue_bytes, refused_address, reset,
                           run_module)


def outcome_of(d):
    seen = []
    d.add_callbacks(seen.append, lambda failure: seen.append(failure.type))
    return seen


# -- 1. A time limit and a second try --------------------------------------------------

def test_within_gives_the_result_that_comes_in_time(fake_reactor, clock):
    d = Deferred()
    seen = outcome_of(within(fake_reactor, 5, d))
    clock.advance(4.9)
    fake_reactor.run_once(0)
    d.callback(b"poem")
    assert seen == [b"poem"]
    assert fake_reactor.pending_timers() == 0  # the limit's timer went with it


def test_within_cancels_what_is_too_slow(fake_reactor, clock):
    cancelled = []
    seen = outcome_of(within(fake_reactor, 5, Deferred(canceller=cancelled.append)))
    clock.advance(5)
    fake_reactor.run_once(0)
    assert seen == [TooSlow] and len(cancelled) == 1


def test_a_cancel_from_outside_is_not_taken_for_the_time_limit(fake_reactor):
    limited = within(fake_reactor, 5, Deferred())
    seen = outcome_of(limited)
    limited.cancel()
    assert seen == [CancelledError]
    assert fake_reactor.pending_timers() == 0


def test_a_cancelled_sleep_stops_its_timer(fake_reactor, clock):
    seen = outcome_of(sleep(fake_reactor, 1))
    assert fake_reactor.pending_timers() == 1
    clock.advance(1)
    fake_reactor.run_once(0)
    assert seen == [None]
    napping = sleep(fake_reactor, 1)
    seen = outcome_of(napping)
    napping.cancel()
    assert seen == [CancelledError] and fake_reactor.pending_timers() == 0


def reset_then_serve(poem):
    """A server that resets its first client, then sends ``poem`` to the second."""
    def behaviour(socks):
        reset(socks[0])
        second, _ = server.listener.accept()
        server.accepted.append(second)  # closed by the server's __exit__
        second.sendall(poem)
        second.shutdown(socket.SHUT_WR)

    server = ScriptedServer(behaviour)
    return server


def test_a_first_try_that_fails_is_said_and_the_second_gets_the_poem(capsys):
    poem = catalogue_bytes("tyger")
    with reset_then_serve(poem) as server:
        report, status = cli.run(ch15_retry.download_all, [server.address], timeout=10,
                                 retry_after=0.01)
    assert status == 0 and report.poems == {1: poem}
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (f"Task 1: try 1 failed (connection reset by "
                        f"127.0.0.1:{server.address[1]}); trying again in 0.01s")
    assert TASK_LINE.match(lines[1]).group(2) == str(len(poem))


def test_a_server_that_trickles_is_too_slow_twice(capsys):
    # The Mariner at ten bytes every 50 ms takes minutes; each try has 0.2s.
    with spawn("mariner", delay=0.05, num_bytes=10) as [slow], \
            spawn("jingyesi", delay=0, num_bytes=200) as [fast]:
        report, status = cli.run(ch15_retry.download_all, [slow, fast], timeout=10,
                                 try_for=0.2, retry_after=0.01)
    assert status == 1
    assert report.poems == {2: catalogue_bytes("jingyesi")}
    assert isinstance(report.errors[1], TooSlow)
    lines = capsys.readouterr().out.splitlines()
    assert f"Task 1: try 1 failed (the try took more than 0.2s (127.0.0.1:{slow[1]})); " \
           f"trying again in 0.01s" in lines
    assert f"Task 1: failed: the try took more than 0.2s (127.0.0.1:{slow[1]})" in lines


def test_a_refused_server_is_tried_twice_and_fails(capsys):
    with refused_address() as refused:
        report, status = cli.run(ch15_retry.download_all, [refused], timeout=10,
                                 retry_after=0.01)
    assert status == 1
    assert capsys.readouterr().out.splitlines()[:2] == [
        f"Task 1: try 1 failed (connection refused by 127.0.0.1:{refused[1]}); "
        f"trying again in 0.01s",
        f"Task 1: failed: connection refused by 127.0.0.1:{refused[1]}"]


def test_ctrl_c_closes_every_try():
    check_ctrl_c_closes_everything_and_exits_cleanly("exercises.ch15_retry", 3)


def test_ctrl_c_says_what_each_try_had():
    check_ctrl_c_reports_what_finished_and_what_was_cut_short("exercises.ch15_retry",
                                                              finishing_order=True)


# -- 2. The chain of transformation servers, straight ----------------------------------

def without_times(lines):
    return sorted(re.sub(r" in \d+\.\d\ds", "", line) for line in lines)


def test_both_chains_say_the_same_lines_for_the_same_servers(capsys):
    with refused_address() as refused, spawn_transform_server() as service, \
            spawn("tyger", "jingyesi", delay=0, num_bytes=200) as addresses:
        outputs = []
        for client in (ch12_fallback, ch15_fallback):
            for name in ("upper", "frob"):
                report, status = cli.run(client.download_all, addresses, timeout=10,
                                         transform_servers=[refused, service, refused],
                                         transform_name=name)
                assert status == 0
                outputs.append(without_times(capsys.readouterr().out.splitlines()))
    assert outputs[:2] == outputs[2:]
    # upper: the second server transforms each poem; frob: every server fails.
    assert sum("trying" in line for line in outputs[0]) == 2
    assert sum("kept the poem as it was" in line for line in outputs[1]) == 2


def test_the_straight_chain_stops_at_the_first_server_that_transforms(capsys):
    with spawn_transform_server() as service, refused_address() as refused, \
            spawn("tyger", delay=0, num_bytes=200) as [poetry]:
        report, status = cli.run(ch15_fallback.download_all, [poetry], timeout=10,
                                 transform_servers=[service, refused],
                                 transform_name="upper")
    assert report.poems == {1: catalogue_bytes("tyger").upper()}
    assert len(capsys.readouterr().out.splitlines()) == 2  # no warning: refused never asked


@pytest.mark.parametrize("module", ["exercises.ch15_fallback", "exercises.ch15_retry"])
def test_the_command_lines_run(module):
    options = ["--transform-server", "1"] if module.endswith("fallback") else []
    with spawn("jingyesi", delay=0, num_bytes=200) as [poetry]:
        result = run_module(module, *options, poetry[1])
    assert result.returncode == 0, result.stderr
    lines = after_the_header(result.stdout.splitlines(), finishing_order=True)
    assert TASK_LINE.match(lines[-2]) and lines[-1].startswith("Got 1 poem in")
