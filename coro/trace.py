"""A trace: the timeline of one run, recorded as it happens.

Every client stage records, for each task (one poem download), when it started,
when it connected, each chunk of bytes it received, and when it finished or failed.
The tests read the order of those records to check how a model interleaves its
tasks; the tour draws them as an ASCII timeline; the docs draw them with matplotlib.

>>> from coro.trace import Event, Trace, render_timeline
>>> trace = Trace(clock=iter([0.0, 0.1, 0.5, 1.0]).__next__)
>>> trace.record(1, Event.START)
>>> trace.record(1, Event.CONNECTED)
>>> trace.record(1, Event.RECEIVED, 10)
>>> trace.record(1, Event.DONE, 10)
>>> [(r.time, r.event.name, r.nbytes) for r in trace.records_of(1)]
[(0.0, 'START', 0), (0.1, 'CONNECTED', 0), (0.5, 'RECEIVED', 10), (1.0, 'DONE', 10)]
>>> print(render_timeline(trace, width=20))
          0.00s          1.00s
Task 1   |..........#.........|
legend: # bytes arrived   . connected, waiting   x failed
"""

import enum
import threading
import time
from dataclasses import dataclass


class Event(enum.Enum):
    """What happened to a task."""

    START = "start"
    CONNECTED = "connected"
    RECEIVED = "received"
    DONE = "done"
    FAILED = "failed"
    CUT_SHORT = "cut short"  # the run was interrupted (Ctrl-C) before the task ended


@dataclass(frozen=True)
class Record:
    """One thing that happened: when, to which task, and how many bytes."""

    time: float
    task: int
    event: Event
    nbytes: int = 0


class Trace:
    """The records of one run, in the order they happened.

    Records are appended under a lock and the clock is read inside it, so the list
    order is the order of events and times never go backwards, even when many threads
    record at once.
    """

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._records = []

    def record(self, task, event, nbytes=0):
        """Record that ``event`` happened to ``task`` just now."""
        with self._lock:
            self._records.append(Record(self._clock(), task, event, nbytes))

    @property
    def records(self):
        """A copy of every record so far, oldest first."""
        with self._lock:
            return list(self._records)

    def records_of(self, task):
        """The records of one task, oldest first."""
        return [r for r in self.records if r.task == task]

    def tasks(self):
        """The task numbers, in order."""
        return sorted({r.task for r in self.records})

    def received(self, task):
        """How many bytes ``task`` has received so far."""
        return sum(r.nbytes for r in self.records_of(task) if r.event is Event.RECEIVED)

    def until_now(self):
        """A copy of the trace as it is now, on the same clock, that later records to this
        one leave as it is: what a run had done when it was cut short, say."""
        copy = Trace(self._clock)
        copy._records = self.records
        return copy

    def span(self, task):
        """``(first, last)`` record times of ``task``."""
        mine = self.records_of(task)
        return mine[0].time, mine[-1].time

    def duration(self):
        """Seconds from the first record of the run to the last."""
        records = self.records
        return records[-1].time - records[0].time if records else 0.0

    def sum_of_task_times(self):
        """The time each task took, added up."""
        total = 0.0
        for task in self.tasks():
            first, last = self.span(task)
            total += last - first
        return total


_LEGEND = "legend: # bytes arrived   . connected, waiting   x failed"
_MARKS = {Event.RECEIVED: "#", Event.FAILED: "x", Event.CUT_SHORT: "!"}


def render_timeline(trace, width=60):
    """Draw ``trace`` as text: one row per task, time running left to right.

    A column is ``duration / width`` seconds: ``#`` where bytes arrived, ``.`` while
    the task was connected and waiting, ``x`` where it failed, ``!`` where the run was
    cut short before it ended, blank before its start and after its end.
    """
    records = trace.records
    if not records:
        return "(nothing happened)"
    origin = records[0].time
    scale = width / (trace.duration() or 1.0)

    def column(t):
        return min(int((t - origin) * scale), width - 1)

    end_label = f"{trace.duration():.2f}s"
    lines = [" " * 10 + "0.00s".ljust(max(width - len(end_label), 6)) + end_label]
    for task in trace.tasks():
        row = [" "] * width
        mine = trace.records_of(task)
        for c in range(column(mine[0].time), column(mine[-1].time) + 1):
            row[c] = "."
        for r in mine:
            if r.event in _MARKS:
                row[column(r.time)] = _MARKS[r.event]
        lines.append(f"Task {task:<4}|{''.join(row)}|")
    cut_short = any(r.event is Event.CUT_SHORT for r in records)
    lines.append(_LEGEND + ("   ! cut short" if cut_short else ""))
    return "\n".join(lines)


def plot_timeline(trace, ax, *, title=None):
    """Draw ``trace`` on a matplotlib ``ax``: a bar per task, a tick per chunk.

    matplotlib is a docs tool, not a dependency of the runtime: pass in an axes
    object from a figure you made.
    """
    records = trace.records
    origin = records[0].time if records else 0.0
    tasks = trace.tasks()
    for row, task in enumerate(tasks):
        mine = trace.records_of(task)
        first, last = mine[0].time - origin, mine[-1].time - origin
        failed = mine[-1].event is Event.FAILED
        ax.barh(row, last - first, left=first, height=0.5,
                color="#f4c7c3" if failed else "#c6dbef", edgecolor="none")
        arrivals = [r.time - origin for r in mine if r.event is Event.RECEIVED]
        ax.vlines(arrivals, row - 0.25, row + 0.25, color="#08519c", linewidth=0.8)
    ax.set_yticks(range(len(tasks)), [f"Task {t}" for t in tasks])
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the run began")
    ax.set_xlim(left=0)
    if title:
        ax.set_title(title, loc="left")
