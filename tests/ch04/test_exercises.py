"""Chapter 4's exercises: a busy loop that backs off and counts its wasted rounds, and
one that keeps at most N downloads open."""

import re

import pytest

from exercises import ch04_backoff, ch04_max_open
from exercises.ch01_at_once import most_at_once
from exercises.ch04_backoff import FIRST_PAUSE, next_pause
from poetry_server import spawn
from tests.client_checks import (
    ConcurrentClientChecks, check_a_server_that_never_sends_times_out,
    check_a_server_that_resets_mid_poem, check_downloads_every_poem, check_the_downloads_overlap,
    run_in_process,
)
from tests.support import (
    SUMMARY_LINE, TASK_LINE, Event, ScriptedServer, assert_one_line_usage_error,
    catalogue_bytes, events, refused_address, run_module,
)

# -- backing off ------------------------------------------------------------------------

ROUNDS_LINE = re.compile(
    r"^Went round the sockets (\d+) times; (\d+) rounds found nothing \((\d+)%\)\.$")


def test_the_pause_doubles_while_nothing_moves_and_ends_when_something_does():
    pauses, pause = [], 0.0
    for moved in [False, False, False, False, True, False]:
        pause = next_pause(pause, moved=moved, most=0.005)
        pauses.append(pause)
    assert pauses == [FIRST_PAUSE, 2 * FIRST_PAUSE, 4 * FIRST_PAUSE, 0.005, 0.0, FIRST_PAUSE]


def test_each_rest_follows_the_rule_and_every_wasted_round_is_counted(capsys):
    slept = []
    with spawn("tyger", "science", delay=0.01, num_bytes=200) as addresses:
        report, status, lines = run_in_process(ch04_backoff, addresses, capsys,
                                               max_pause=0.004, sleep=slept.append)
    assert status == 0
    assert report.poems == {1: catalogue_bytes("tyger"), 2: catalogue_bytes("science")}
    # The fake sleep returns at once, so the loop went round many times; whatever the
    # count, each rest is the first, or twice the one before, up to the most.
    for before, after in zip([0.0, *slept], slept):
        assert after in (FIRST_PAUSE, min(2 * before, 0.004))
    rounds, wasted, _ = map(int, ROUNDS_LINE.match(lines[-2]).groups())
    assert wasted == len(slept)  # one rest after each wasted round, and only then
    assert wasted < rounds  # the rounds that read the chunks moved
    assert SUMMARY_LINE.match(lines[-1])


@pytest.mark.parametrize("check", [
    check_downloads_every_poem, check_the_downloads_overlap,
    check_a_server_that_resets_mid_poem, check_a_server_that_never_sends_times_out,
])
def test_it_passes_the_checks_of_the_chapters_client(check, capsys):
    check(ch04_backoff, capsys)


def test_the_command_line_prints_the_rounds_then_the_summary_then_the_cpu():
    with spawn("science", delay=0.01, num_bytes=100) as [address]:
        result = run_module("exercises.ch04_backoff", "--max-pause", "0.002", address[1])
    assert result.returncode == 0, result.stderr
    task, rounds, summary, cpu = result.stdout.splitlines()
    assert TASK_LINE.match(task)
    assert ROUNDS_LINE.match(rounds)
    assert summary.startswith("Got 1 poem in ")
    assert cpu.startswith("CPU time ")


def test_the_longest_pause_must_be_more_than_nothing():
    result = run_module("exercises.ch04_backoff", "--max-pause", "0", "10001")
    assert_one_line_usage_error(result, "python -m exercises.ch04_backoff")
    assert "--max-pause: must be a number of seconds > 0" in result.stderr


# -- at most N open ---------------------------------------------------------------------


class TestMaxOpenClient(ConcurrentClientChecks):
    """Every check a client stage passes, with the default limit (more than 3)."""

    stage = ch04_max_open
    module = "exercises.ch04_max_open"
    # The answer prints its task lines without the header of the stages that print theirs
    # as they finish.
    finishing_order = False


def _send_only_when_both_are_here(socks):
    for n, sock in enumerate(socks, start=1):
        sock.sendall(f"poem {n}\n".encode())
    for sock in socks:
        sock.close()


def test_two_open_run_two_downloads_at_once_and_no_more(capsys):
    # Each server sends nothing until two clients have connected, so tasks 1 and 2 end
    # only if both are open at once; tasks 3 and 4 start only when one has ended.
    with ScriptedServer(_send_only_when_both_are_here, clients=2) as first, \
            ScriptedServer(_send_only_when_both_are_here, clients=2) as second:
        addresses = [first.address, first.address, second.address, second.address]
        report, status, _ = run_in_process(ch04_max_open, addresses, capsys, max_open=2)
    assert status == 0
    assert sorted(report.poems.values()) == [b"poem 1\n", b"poem 1\n", b"poem 2\n",
                                             b"poem 2\n"]
    assert most_at_once(report.trace) == 2
    assert events(report.trace, Event.START, Event.DONE)[:2] == [
        (1, Event.START), (2, Event.START)]


def test_one_open_is_one_poem_after_another_and_a_refusal_makes_room(capsys):
    with spawn("tyger", "science", delay=0, num_bytes=100) as [first, last], \
            refused_address() as refused:
        report, status, lines = run_in_process(ch04_max_open, [first, refused, last],
                                               capsys, max_open=1)
    assert status == 1
    assert events(report.trace, Event.START, Event.DONE, Event.FAILED) == [
        (1, Event.START), (1, Event.DONE), (2, Event.START), (2, Event.FAILED),
        (3, Event.START), (3, Event.DONE)]
    assert f"Task 2: failed: connection refused by 127.0.0.1:{refused[1]}" in lines


def test_max_open_refuses_zero():
    result = run_module("exercises.ch04_max_open", "--max-open", "0", "10001")
    assert_one_line_usage_error(result, "python -m exercises.ch04_max_open")
    assert "--max-open: must be >= 1, not '0'" in result.stderr
