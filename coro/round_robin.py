"""Chapter 14: the first scheduler, generators that take turns.

A task here is a generator that yields whenever it is willing to let the others run.
:func:`run` keeps the tasks in a queue, resumes the first one with ``next``, and puts
it back at the end of the queue if it yielded. When a task returns, its
``StopIteration`` carries the return value, which the loop keeps. What a task yields
is only written in the trace: the loop does not look at it.

A task that raises stops the loop. The tasks still in the queue are closed, so that
their ``finally`` blocks run, and the exception comes out of :func:`run` with its
traceback. Nothing is hidden, but one task's error ends them all.

What it lacks: a task cannot wait for anything. It cannot ask for a socket to become
readable or for a timer to expire; all it can do is take its turn. And since the
loop only runs between two yields, a task that waits by blocking (``time.sleep``, a
blocking ``recv``), or computes for a long time without yielding, stops every other
task. Chapter 15 resumes a generator when a Deferred fires; chapter 16's kernel lets
a task yield a request (sleep, wait for a socket) and resumes it when that has
happened.

    python -m coro.round_robin [--lines N] [POEM ...]
"""

import argparse
import sys
from collections import deque

from poetry_server.catalogue import PoemError, load_poem


def recite(lines):
    """A task: yield the lines one at a time, then return how many there were.

    Args:
        lines: The lines to say, as strings.

    Returns:
        The number of lines said, as the generator's return value.
    """
    said = 0
    for line in lines:
        yield line
        said += 1
    return said


def run(tasks, *, log=print):
    """Resume the tasks in turns until every one has returned.

    Args:
        tasks: Generators. Each is known by its place in the list, from 1.
        log: Called with each line of the trace: what a task yielded, what it
            returned, what it raised, and which tasks were closed.

    Returns:
        The tasks' return values, in the order of ``tasks``.

    Raises:
        Exception: Whatever a task raised, after the other tasks have been closed.
    """
    ready = deque(enumerate(tasks, start=1))
    results = [None] * len(ready)
    try:
        while ready:
            number, task = ready.popleft()
            try:
                value = next(task)
            except StopIteration as stop:
                log(f"task {number} returned {stop.value!r}")
                results[number - 1] = stop.value
            except Exception as exc:
                log(f"task {number} raised {exc!r}")
                raise
            else:
                log(f"task {number}: {value}")
                ready.append((number, task))
    finally:
        for number, task in ready:
            log(f"task {number} closed")
            task.close()
    return results


def poem_lines(name):
    """The lines of a catalogue poem that have words in them, as strings.

    Raises:
        PoemError: ``name`` is neither in the catalogue nor a readable file.
    """
    text = load_poem(name).data.decode("utf-8")
    return [line for line in text.splitlines() if line.strip()]


class _UsageError(Exception):
    """A mistake on the command line, told in one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError(message)


def _positive(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, not {text!r}")
    return int(text)


def main(argv=None):
    """Recite the poems named on the command line, a line per turn; return the status."""
    prog = "python -m coro.round_robin"
    parser = _Parser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("poems", nargs="*", default=["jingyesi", "tyger"], metavar="POEM",
                        help="a poem from the catalogue, one task each "
                             "(default: jingyesi tyger)")
    parser.add_argument("--lines", type=_positive, metavar="N",
                        help="recite at most N lines of each poem (default: all)")
    try:
        options = parser.parse_args(argv)
        poems = [poem_lines(name)[:options.lines] for name in options.poems]
    except (_UsageError, PoemError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    results = run([recite(lines) for lines in poems])
    print(f"results: {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
