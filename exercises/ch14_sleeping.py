"""Exercise 14.2: a loop that reads what a task yields, and lets it sleep.

Chapter 14's loop resumes every task on every turn and only prints what it yields. This
one reads it: a task that yields ``Sleep(seconds)`` is kept aside until that much time
has passed, while the others run. The time is the loop's own: when every task sleeps,
the loop moves its clock straight on to the first one to wake, so a run that "takes"
ten seconds takes none. Anything else a task yields is printed, as the stage's loop
prints it, with the time.

This is the first step from a loop of turns to chapter 16's kernel, whose tasks yield
requests (sleep, wait for a socket) and are resumed when those have happened.

    python -m exercises.ch14_sleeping [--lines N] POEM[:SECONDS] ...
"""

import argparse
import heapq
import itertools
import sys
from collections import deque

from coro.round_robin import poem_lines, recite
from exercises.ch14_priorities import Parser, whole_number
from poetry_server.catalogue import PoemError


class Sleep:
    """What a task yields to be kept aside for ``seconds``."""

    def __init__(self, seconds):
        self.seconds = seconds


def run(tasks, *, log=print):
    """Resume the tasks in turns; keep a task that yields :class:`Sleep` aside until
    it is due.

    Returns:
        The tasks' return values, in the order of ``tasks``.

    Raises:
        Exception: Whatever a task raised, after the other tasks have been closed.
    """
    now = 0.0
    ready = deque(enumerate(tasks, start=1))
    sleeping = []  # a heap of (when, order, number, task): equal times wake in order
    order = itertools.count()
    results = [None] * len(ready)
    try:
        while ready or sleeping:
            if not ready:
                now = sleeping[0][0]  # nothing to do until then: jump
            while sleeping and sleeping[0][0] <= now:
                _, _, number, task = heapq.heappop(sleeping)
                ready.append((number, task))
            number, task = ready.popleft()
            try:
                value = next(task)
            except StopIteration as stop:
                log(f"{now:5.1f}  task {number} returned {stop.value!r}")
                results[number - 1] = stop.value
                continue
            if isinstance(value, Sleep):
                heapq.heappush(sleeping, (now + value.seconds, next(order), number, task))
            else:
                log(f"{now:5.1f}  task {number}: {value}")
                ready.append((number, task))
    finally:
        for _, task in ready:
            task.close()
        for *_, task in sleeping:
            task.close()
    return results


def paced(task, seconds):
    """Run ``task``, sleeping ``seconds`` after each value it yields.

    Returns:
        What ``task`` returns. Closing this generator closes ``task``.
    """
    try:
        while True:
            try:
                value = next(task)  # not a for loop, which would drop the return value
            except StopIteration as stop:
                return stop.value
            yield value
            yield Sleep(seconds)
    finally:
        task.close()


def poem_and_pause(text):
    """``POEM[:SECONDS]``'s type: ``(poem name, seconds)``; 1 second by default."""
    name, colon, seconds = text.rpartition(":")
    if not colon:
        return text, 1.0
    try:
        pause = float(seconds)
    except ValueError:
        pause = -1.0
    if not 0 <= pause < float("inf"):
        raise argparse.ArgumentTypeError(f"a pause is a number of seconds >= 0, "
                                         f"not {seconds!r}")
    return name, pause


def main(argv=None):
    """Recite the poems named on the command line, each at its pace; return the status."""
    parser = Parser(prog="python -m exercises.ch14_sleeping",
                     description=__doc__.split("\n\n")[0])
    parser.add_argument("poems", nargs="+", type=poem_and_pause, metavar="POEM[:SECONDS]",
                        help="a poem from the catalogue, and the pause after each of its "
                             "lines (default: 1)")
    parser.add_argument("--lines", type=whole_number, metavar="N",
                        help="recite at most N lines of each poem (default: all)")
    options = parser.parse_args(argv)
    try:
        tasks = [paced(recite(poem_lines(name)[:options.lines]), pause)
                 for name, pause in options.poems]
    except PoemError as exc:
        parser.error(str(exc))
    print(f"results: {run(tasks)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
