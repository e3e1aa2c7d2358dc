"""The first scheduler: generators resumed in turns, their return values collected,
and an error in one task neither hidden nor left with the other tasks half-run."""

import pytest

from coro.round_robin import poem_lines, recite, run
from tests.support import assert_one_line_usage_error, run_module

PROG = "python -m coro.round_robin"


def steps(name, count, events, result=None):
    """A task that yields ``count`` times, noting each step, then returns ``result``."""
    for step in range(1, count + 1):
        events.append(f"{name} step {step}")
        yield step
    return result


def test_tasks_take_turns_in_the_order_given():
    events = []
    results = run([steps("a", 3, events, "A"), steps("b", 1, events, "B"),
                   steps("c", 2, events, "C")], log=events.append)
    assert events == [
        "a step 1", "task 1: 1",
        "b step 1", "task 2: 1",
        "c step 1", "task 3: 1",
        "a step 2", "task 1: 2",
        "task 2 returned 'B'",
        "c step 2", "task 3: 2",
        "a step 3", "task 1: 3",
        "task 3 returned 'C'",
        "task 1 returned 'A'",
    ]
    assert results == ["A", "B", "C"]


def test_results_keep_the_order_of_the_tasks_not_of_their_ends():
    events = []
    assert run([steps("long", 5, events, 5), steps("short", 0, events, 0)],
               log=events.append) == [5, 0]
    assert events.index("task 2 returned 0") < events.index("task 1 returned 5")


def test_no_tasks_is_no_work():
    events = []
    assert run([], log=events.append) == []
    assert events == []


def test_a_task_that_does_not_yield_keeps_the_others_waiting():
    events = []

    def hog():
        for step in range(3):  # three steps of work and no yield between them
            events.append(f"hog works {step}")
        yield "done working"

    run([hog(), steps("b", 2, events)], log=events.append)
    assert events[:5] == ["hog works 0", "hog works 1", "hog works 2",
                          "task 1: done working", "b step 1"]


def test_a_task_that_raises_stops_the_loop_closes_the_others_and_comes_out():
    events = []

    def cleans_up(name):
        try:
            yield from steps(name, 10, events)
        finally:
            events.append(f"{name} finally")

    def fails():
        yield "first"
        raise ValueError("no such line")

    with pytest.raises(ValueError, match="no such line") as raised:
        run([cleans_up("a"), fails(), cleans_up("c"), steps("d", 1, events)],
            log=events.append)
    assert events == [
        "a step 1", "task 1: 1",
        "task 2: first",
        "c step 1", "task 3: 1",
        "d step 1", "task 4: 1",
        "a step 2", "task 1: 2",
        "task 2 raised ValueError('no such line')",
        "task 3 closed", "c finally",
        "task 4 closed",
        "task 1 closed", "a finally",
    ]
    # The traceback still reaches into the task that raised.
    assert raised.traceback[-1].name == "fails"


def test_ten_thousand_turns_and_a_thousand_tasks_need_no_recursion():
    events = []
    many = [steps(n, 10, []) for n in range(1000)]
    results = run([steps("long", 10_000, [], "long"), *many], log=events.append)
    assert results[0] == "long" and len(results) == 1001
    assert len(events) == 10_000 + 1000 * 10 + 1001


def test_recite_yields_each_line_and_returns_how_many():
    task = recite(["Tyger Tyger, burning bright,", "In the forests of the night;"])
    assert next(task) == "Tyger Tyger, burning bright,"
    assert next(task) == "In the forests of the night;"
    with pytest.raises(StopIteration) as stop:
        next(task)
    assert stop.value.value == 2


def test_poem_lines_are_the_lines_with_words():
    assert poem_lines("jingyesi") == ["静夜思", "李白",
                                      "床前明月光，", "疑是地上霜。",
                                      "举头望明月，", "低头思故乡。"]


def test_the_command_interleaves_two_poems_line_by_line():
    result = run_module("coro.round_robin", "--lines", "3", "jingyesi", "tyger")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "task 1: 静夜思",
        "task 2: The Tyger",
        "task 1: 李白",
        "task 2: William Blake",
        "task 1: 床前明月光，",
        "task 2: Tyger Tyger, burning bright,",
        "task 1 returned 3",
        "task 2 returned 3",
        "results: [3, 3]",
    ]


def test_the_command_in_process_recites_the_default_poems(capsys):
    from coro.round_robin import main
    assert main([]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["task 1: 静夜思", "task 2: The Tyger"]
    assert lines[-1] == f"results: [6, {len(poem_lines('tyger'))}]"


@pytest.mark.parametrize("args", [["no-such-poem"], ["--lines", "0"], ["--lines", "x"],
                                  ["--frobnicate"]])
def test_usage_errors_are_one_line(args):
    assert_one_line_usage_error(run_module("coro.round_robin", *args), PROG)


def test_help():
    result = run_module("coro.round_robin", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: {PROG}")
