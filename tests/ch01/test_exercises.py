"""Chapter 1's exercises: a tour of your choosing, downloads at once, a recv that
would block."""

import re

from coro.trace import Event, Trace
from exercises.ch01_at_once import most_at_once
from tests.support import run_module


def trace_of(*steps):
    """A trace of ``(task, event)`` steps, one tick of a fake clock apart."""
    trace = Trace(clock=iter(range(len(steps))).__next__)
    for task, event in steps:
        trace.record(task, event)
    return trace


def test_most_at_once_counts_from_first_record_to_last():
    one_after_another = trace_of((1, Event.START), (1, Event.DONE),
                                 (2, Event.START), (2, Event.FAILED))
    assert most_at_once(one_after_another) == 1
    all_together = trace_of((1, Event.START), (2, Event.START), (3, Event.START),
                            (2, Event.DONE), (1, Event.DONE), (3, Event.DONE))
    assert most_at_once(all_together) == 3
    two_then_two = trace_of((1, Event.START), (2, Event.START), (1, Event.DONE),
                            (3, Event.START), (2, Event.DONE), (3, Event.DONE))
    assert most_at_once(two_then_two) == 2
    assert most_at_once(Trace()) == 0


def test_the_table_has_one_at_a_time_for_blocking_and_three_for_select():
    # The select client starts every download before it waits for any, and the blocking
    # client starts each after the one before has ended: both counts are certain.
    result = run_module("exercises.ch01_at_once", "--delay", "0.01", "--num-bytes", "200",
                        "blocking", "select")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split()[-3:] == ["most", "at", "once"]
    assert [(row.split()[0], row.split()[-1]) for row in rows] == [
        ("blocking", "1"), ("select", "3")]


def test_the_tour_runs_the_models_named_in_their_order():
    result = run_module("exercises.ch01_tour", "--delay", "0.01", "--num-bytes", "300",
                        "select", "blocking", "select")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Serving ozymandias, science, fascination on ports ")
    assert ": 300 bytes every 0.01s." in out.splitlines()[0]
    sections = re.findall(r"^== ch\d\d, the (\w+) client ==$", out, re.MULTILINE)
    assert sections == ["select", "blocking"]  # each model once
    assert out.count("Got 3 poems in") == 2
    table = out[out.index("model      chapter"):].splitlines()
    assert [row.split()[0] for row in table[1:]] == ["select", "blocking"]


def test_the_tour_refuses_a_model_it_does_not_have():
    result = run_module("exercises.ch01_tour", "blocking", "telepathy")
    assert result.returncode == 2
    assert "invalid choice: 'telepathy'" in result.stderr
    assert result.stdout == ""


def test_a_blocking_recv_waits_and_a_non_blocking_one_answers_at_once():
    result = run_module("exercises.ch01_would_block", "--timeout", "0.05")
    assert result.returncode == 0, result.stderr
    said = [re.sub(r", after \d+\.\d\ds$", "", line) for line in result.stdout.splitlines()]
    assert said == [
        "blocking     recv, nothing sent yet: TimeoutError",
        "non-blocking recv, nothing sent yet: BlockingIOError (Resource temporarily "
        "unavailable)",
        "blocking     recv, after b sent:     b'a poem'",
        "non-blocking recv, after b sent:     b'and more'",
        "non-blocking recv, after b closed:   b''",
    ]
