"""Chapter 14's exercises: round robin with priorities, on the stage's loop; a loop that
lets a task sleep, on a clock of its own."""

import pytest

from coro.round_robin import run as round_robin
from exercises.ch14_priorities import with_priority
from exercises.ch14_sleeping import Sleep, paced, run
from tests.support import assert_one_line_usage_error, run_module


def steps(name, count, events, result=None):
    """A task that yields ``name1``, ``name2``... ``count`` times, then returns ``result``;
    ``events`` notes when it is closed."""
    try:
        for step in range(1, count + 1):
            yield f"{name}{step}"
        return result
    finally:
        events.append(f"{name} ends")


# -- 1. Priorities ---------------------------------------------------------------------

def test_a_task_of_priority_3_takes_three_steps_per_turn():
    log, events = [], []
    results = round_robin([with_priority(steps("a", 4, events, "A"), 3),
                           with_priority(steps("b", 3, events, "B"), 1)], log=log.append)
    assert log == [
        "task 1: a1 / a2 / a3",
        "task 2: b1",
        "task 1: a4",  # the last, shorter turn
        "task 2: b2",
        "task 1 returned 'A'",
        "task 2: b3",
        "task 2 returned 'B'",
    ]
    assert results == ["A", "B"]


def test_a_task_that_ends_on_a_turns_last_step_returns_at_its_next_turn():
    log = []
    assert round_robin([with_priority(steps("a", 2, [], "A"), 2)], log=log.append) == ["A"]
    assert log == ["task 1: a1 / a2", "task 1 returned 'A'"]


def test_closing_the_wrapper_closes_the_task():
    events = []

    def broken():
        yield "x"
        raise ValueError("a bad line")

    b = steps("b", 5, events)  # held here, so that only a close() can end it now
    with pytest.raises(ValueError, match="a bad line"):
        round_robin([with_priority(broken(), 1), with_priority(b, 2)], log=lambda line: None)
    assert events == ["b ends"]  # the stage's loop closed the wrapper, which closed b


def test_the_priorities_command_line():
    result = run_module("exercises.ch14_priorities", "--lines", "3", "tyger:2", "jingyesi")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "task 1: The Tyger / William Blake",
        "task 2: 静夜思",
        "task 1: Tyger Tyger, burning bright,",
        "task 2: 李白",
        "task 1 returned 3",
        "task 2: 床前明月光，",
        "task 2 returned 3",
        "results: [3, 3]",
    ]


@pytest.mark.parametrize("args, message", [
    (["tyger:0"], "a priority is a whole number >= 1, not '0'"),
    (["tyger:high"], "a priority is a whole number >= 1, not 'high'"),
    (["--lines", "0", "tyger"], "--lines: must be a whole number >= 1, not '0'"),
    (["frobnicate"], "unknown poem 'frobnicate'"),
])
def test_the_priorities_usage_errors(args, message):
    result = run_module("exercises.ch14_priorities", *args)
    assert_one_line_usage_error(result, "python -m exercises.ch14_priorities")
    assert message in result.stderr


# -- 2. Sleeping -----------------------------------------------------------------------

def test_sleepers_wake_in_the_order_of_their_times_and_the_clock_jumps():
    log = []
    results = run([paced(steps("a", 2, [], "A"), 1.0), paced(steps("b", 2, [], "B"), 1.5)],
                  log=log.append)
    assert log == [
        "  0.0  task 1: a1",
        "  0.0  task 2: b1",
        "  1.0  task 1: a2",
        "  1.5  task 2: b2",
        "  2.0  task 1 returned 'A'",
        "  3.0  task 2 returned 'B'",
    ]
    assert results == ["A", "B"]


def test_a_task_that_does_not_sleep_runs_while_the_others_sleep():
    log = []

    def sleeper():
        yield Sleep(10)
        yield "awake"

    run([sleeper(), steps("busy", 3, [])], log=log.append)
    assert log == ["  0.0  task 2: busy1", "  0.0  task 2: busy2", "  0.0  task 2: busy3",
                   "  0.0  task 2 returned None", " 10.0  task 1: awake",
                   " 10.0  task 1 returned None"]


def test_equal_wake_times_wake_in_the_order_the_sleeps_began():
    log = []

    def sleep_then_say(seconds, word):
        yield Sleep(seconds)
        yield word

    run([sleep_then_say(2, "first asleep"), sleep_then_say(1, "short"),
         sleep_then_say(1, "second asleep")], log=log.append)
    assert [line for line in log if ":" in line.split("task")[1]] == [
        "  1.0  task 2: short", "  1.0  task 3: second asleep", "  2.0  task 1: first asleep"]


def test_a_task_that_raises_closes_the_sleeping_tasks_too():
    events = []

    def broken():
        yield Sleep(1)
        raise ValueError("woke up wrong")

    b = steps("b", 5, events)  # held here, so that only a close() can end it now
    with pytest.raises(ValueError, match="woke up wrong"):
        run([broken(), paced(b, 3)], log=lambda line: None)
    assert events == ["b ends"]


def test_the_sleeping_command_line():
    result = run_module("exercises.ch14_sleeping", "--lines", "2", "tyger:1", "lorelei:1.5")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "  0.0  task 1: The Tyger",
        "  0.0  task 2: Die Lorelei",
        "  1.0  task 1: William Blake",
        "  1.5  task 2: Heinrich Heine",
        "  2.0  task 1 returned 2",
        "  3.0  task 2 returned 2",
        "results: [2, 2]",
    ]


def test_a_pause_must_be_a_number_of_seconds():
    result = run_module("exercises.ch14_sleeping", "tyger:soon")
    assert_one_line_usage_error(result, "python -m exercises.ch14_sleeping")
    assert "a pause is a number of seconds >= 0, not 'soon'" in result.stderr
