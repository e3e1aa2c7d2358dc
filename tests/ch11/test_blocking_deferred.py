"""A Deferred does not make blocking code non-blocking: while blocking_get_poetry
runs, no tick runs, and its Deferred has fired before the caller sees it; while
get_poetry downloads, the reactor goes on ticking."""

import socket
import threading

import pytest

from coro import blocking_deferred
from coro.blocking_deferred import Happened, Log, blocking_get_poetry, describe, run_part
from coro.deferred_client import get_poetry
from poetry_server import spawn
from tests.support import (ScriptedServer, assert_one_line_usage_error, catalogue_bytes,
                           refused_address, run_module)

PROG = "python -m coro.blocking_deferred"
FAST = {"interval": 0.005, "start_after": 0.012, "ticks_after": 2}


def kinds(log):
    return [entry.what for entry in log.entries]


def between(log, first, last):
    """The entries after the first ``first`` and before the first ``last`` after it."""
    whats = kinds(log)
    start = whats.index(first)
    end = whats.index(last, start)
    return log.entries[start + 1:end]


def test_blocking_get_poetry_returns_a_deferred_that_has_fired():
    with spawn("science", delay=0.001, num_bytes=200) as [(host, port)]:
        d = blocking_get_poetry(host, port)
    assert d.called and d.result == catalogue_bytes("science")
    with refused_address() as (host, port):
        d = blocking_get_poetry(host, port)
    assert d.called
    d.add_errback(lambda failure: failure.trap(ConnectionRefusedError))


def test_no_tick_runs_while_the_blocking_download_runs(reactor):
    # The server waits between chunks, so ticks come due during the download: they
    # cannot run until blocking_get_poetry returns, with its Deferred fired already.
    with spawn("science", delay=0.01, num_bytes=100) as [address]:
        log = Log(reactor.time)
        run_part(reactor, lambda: blocking_get_poetry(*address), log, **FAST)
    assert kinds(log)[0] is Happened.TICK
    called = kinds(log).index(Happened.CALLED)
    assert kinds(log)[called:called + 4] == [
        Happened.CALLED, Happened.RETURNED, Happened.GOT_POEM, Happened.ADDED]
    returned = log.entries[called + 1]
    assert returned.detail is True  # fired before the caller could add a callback
    assert log.entries[called + 2].detail == catalogue_bytes("science")
    first_after = log.entries[called + 4]
    assert first_after.what is Happened.TICK
    assert first_after.detail < returned.time  # it came due during the download


def test_ticks_keep_to_their_grid_and_missed_ones_are_not_made_up(reactor):
    with spawn("science", delay=0.01, num_bytes=100) as [address]:
        log = Log(reactor.time)
        run_part(reactor, lambda: blocking_get_poetry(*address), log, **FAST)
    dues = [entry.detail for entry in log.entries if entry.what is Happened.TICK]
    steps = [round(due / FAST["interval"]) for due in dues]
    assert dues == pytest.approx([step * FAST["interval"] for step in steps])  # a grid
    assert steps == sorted(set(steps))
    returned = log.entries[kinds(log).index(Happened.RETURNED)]
    late, *rest = [e for e in log.entries[kinds(log).index(Happened.ADDED):]
                   if e.what is Happened.TICK]
    assert late.detail < returned.time  # one tick runs late, for all that were missed,
    assert all(e.detail > returned.time for e in rest)  # and none of the others is made up


class GatedLog(Log):
    """A log that tells a thread when the first tick after the download's start ran."""

    def __init__(self, clock):
        super().__init__(clock)
        self.ticked_during = threading.Event()

    def record(self, what, detail=None):
        super().record(what, detail)
        if what is Happened.TICK and Happened.CALLED in kinds(self):
            self.ticked_during.set()


def test_ticks_go_on_while_get_poetry_downloads(reactor):
    # The server sends half a poem, and the rest only once a tick has run after the
    # download started: the poem can only arrive if the reactor ticked meanwhile.
    log = GatedLog(reactor.time)

    def half_then_the_rest_after_a_tick(socks):
        socks[0].sendall(b"first half, ")
        log.ticked_during.wait(timeout=10)
        socks[0].sendall(b"then the rest")
        socks[0].shutdown(socket.SHUT_WR)

    with ScriptedServer(half_then_the_rest_after_a_tick) as server:
        run_part(reactor, lambda: get_poetry(reactor, *server.address), log, **FAST)
    assert kinds(log)[kinds(log).index(Happened.CALLED):][:3] == [
        Happened.CALLED, Happened.RETURNED, Happened.ADDED]
    assert between(log, Happened.CALLED, Happened.RETURNED) == []
    assert between(log, Happened.CALLED, Happened.GOT_POEM)[0].detail is False  # not fired
    ticks = [e for e in between(log, Happened.ADDED, Happened.GOT_POEM)
             if e.what is Happened.TICK]
    assert ticks, "no tick while get_poetry downloaded"
    assert log.entries[kinds(log).index(Happened.GOT_POEM)].detail == (
        b"first half, then the rest")


def fake_log(clock, steps):
    """A log recorded on a fake clock: ``steps`` are ``(seconds later, what, detail)``."""
    log = Log(clock.now)
    for later, what, detail in steps:
        clock.advance(later)
        log.record(what, detail)
    return log


def tick(due):
    return Happened.TICK, due


def test_the_blocking_part_reads_as_the_reactor_held_up(clock):
    log = fake_log(clock, [
        (0.101, *tick(0.1)), (0.1, *tick(0.2)), (0.1, *tick(0.3)),
        (0.05, Happened.CALLED, None), (0.903, Happened.RETURNED, True),
        (0, Happened.GOT_POEM, b"x" * 645), (0, Happened.ADDED, None),
        (0.001, *tick(0.4)), (0.046, *tick(1.3)), (0.1, *tick(1.4)),
    ])
    assert "\n".join(describe(log, "blocking_get_poetry")) == """\
  0.35s  blocking_get_poetry() called
  1.25s  it returns a Deferred that has fired already
  1.25s  got_poem runs, inside add_callbacks: 645 bytes
  1.25s  add_callbacks(got_poem, poem_failed) returns
  ticks before the download: 0.10 0.20 0.30
  ticks while it ran:        none
  ticks after it ended:      1.25 1.30 1.40
  No tick from 0.35s to 1.25s: blocking_get_poetry held up the whole reactor;
  the tick due at 0.40s ran at 1.25s."""


def test_the_non_blocking_part_reads_as_ticks_going_on(clock):
    log = fake_log(clock, [
        (0.101, *tick(0.1)), (0.1, *tick(0.2)), (0.1, *tick(0.3)),
        (0.05, Happened.CALLED, None), (0, Happened.RETURNED, False),
        (0, Happened.ADDED, None), (0.05, *tick(0.4)), (0.1, *tick(0.5)),
        (0.054, Happened.FAILED, ConnectionResetError("reset")),
        (0.046, *tick(0.6)),
    ])
    assert "\n".join(describe(log, "get_poetry")) == """\
  0.35s  get_poetry() called
  0.35s  it returns a Deferred that has not fired yet
  0.35s  add_callbacks(got_poem, poem_failed) returns
  0.55s  poem_failed runs, called by the reactor: reset
  ticks before the download: 0.10 0.20 0.30
  ticks while it ran:        0.40 0.50
  ticks after it ended:      0.60
  No tick was late: the reactor ticked 2 times while the download ran."""


def test_the_command_line_shows_both_parts():
    with spawn("science", delay=0.02, num_bytes=200) as [(_, port)]:
        result = run_module("coro.blocking_deferred", port)
    assert result.returncode == 0, result.stderr
    blocking, non_blocking = result.stdout.split("\n\nget_poetry:\n")
    assert "\n\nblocking_get_poetry:\n" in blocking
    assert "  ticks while it ran:        none\n" in blocking
    assert "it returns a Deferred that has fired already" in blocking
    assert "got_poem runs, inside add_callbacks: 645 bytes" in blocking
    assert "it returns a Deferred that has not fired yet" in non_blocking
    assert "got_poem runs, called by the reactor: 645 bytes" in non_blocking
    assert result.stderr == ""


def test_a_refused_connection_fails_both_parts():
    with refused_address() as (_, port):
        result = run_module("coro.blocking_deferred", port)
    assert result.returncode == 1
    refused = f"connection refused by 127.0.0.1:{port}"
    assert f"poem_failed runs, inside add_callbacks: {refused}" in result.stdout
    assert f"poem_failed runs, called by the reactor: {refused}" in result.stdout


def test_help_and_usage_errors():
    result = run_module("coro.blocking_deferred", "--help")
    assert result.returncode == 0 and "[HOST:]PORT" in result.stdout
    for args in ([], ["1", "2"], ["nope"], ["--timeout", "0", "1"], ["--timeout", "x", "1"]):
        assert_one_line_usage_error(run_module("coro.blocking_deferred", *args), PROG)


def test_main_runs_in_process_with_a_real_server(capsys):
    with spawn("jingyesi", delay=0.01, num_bytes=40) as [(_, port)]:
        assert blocking_deferred.main([str(port)]) == 0
    out = capsys.readouterr().out
    assert out.count("got_poem runs") == 2
