"""The trace and its timeline: what the tour and the docs draw from."""

import itertools
import threading

from coro.trace import Event, Trace, render_timeline


def fake_clock(*times):
    return iter(times).__next__


def test_records_keep_the_order_they_happened_in_across_threads():
    trace = Trace()
    ready = threading.Barrier(4)

    def work(task):
        ready.wait()
        for _ in range(500):
            trace.record(task, Event.RECEIVED, 1)

    threads = [threading.Thread(target=work, args=(task,)) for task in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times = [r.time for r in trace.records]
    assert len(times) == 2000 and times == sorted(times)


def test_duration_and_sum_of_task_times():
    trace = Trace(clock=fake_clock(0.0, 1.0, 1.0, 3.0))
    trace.record(1, Event.START)
    trace.record(1, Event.DONE, 5)
    trace.record(2, Event.START)
    trace.record(2, Event.DONE, 5)
    assert trace.duration() == 3.0
    assert trace.sum_of_task_times() == 3.0


def test_the_timeline_shows_sequential_and_overlapping_runs():
    sequential = Trace(clock=fake_clock(0, 1, 2, 3, 4, 5))
    for task in (1, 2):
        sequential.record(task, Event.START)
        sequential.record(task, Event.RECEIVED, 3)
        sequential.record(task, Event.DONE, 3)
    rows = render_timeline(sequential, width=10).splitlines()[1:3]
    assert rows == ["Task 1   |..#..     |", "Task 2   |      ..#.|"]

    overlapping = Trace(clock=itertools.count().__next__)
    for task in (1, 2):
        overlapping.record(task, Event.START)
    overlapping.record(1, Event.RECEIVED, 3)
    overlapping.record(2, Event.FAILED)
    overlapping.record(1, Event.DONE, 3)
    rows = render_timeline(overlapping, width=8).splitlines()[1:3]
    assert rows == ["Task 1   |....#...|", "Task 2   |  ....x |"]


def test_an_empty_trace_draws_nothing():
    assert render_timeline(Trace()) == "(nothing happened)"
