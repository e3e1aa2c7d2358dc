"""Exercise 14.1: round robin with priorities.

Chapter 14's loop gives every task one step per turn. Here a task of priority 3 takes
three steps each time its turn comes, and so says three lines for every one a task of
priority 1 says. The loop is the stage's :func:`~coro.round_robin.run`, unchanged:
each task is wrapped in a generator that runs it for ``priority`` steps per yield.

    python -m exercises.ch14_priorities [--lines N] POEM[:PRIORITY] ...
"""

import argparse
import sys

from coro.round_robin import poem_lines, recite, run
from poetry_server.catalogue import PoemError


def with_priority(task, priority):
    """Run ``task`` for ``priority`` steps per turn.

    Returns:
        A generator that yields once per turn, what ``task`` yielded in it (joined by
        `` / ``), and returns what ``task`` returns. Closing it closes ``task``.
    """
    try:
        while True:
            said = []
            for _ in range(priority):
                try:
                    said.append(str(next(task)))
                except StopIteration as stop:
                    if said:
                        yield " / ".join(said)  # the last, shorter turn
                    return stop.value
            yield " / ".join(said)
    finally:
        task.close()


def whole_number(text):
    """``--lines``'s type: a whole number, 1 or more."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, not {text!r}")
    return int(text)


def poem_and_priority(text):
    """``POEM[:PRIORITY]``'s type: ``(poem name, priority)``; the priority defaults to 1."""
    name, colon, priority = text.rpartition(":")
    if not colon:
        return text, 1
    try:
        return name, whole_number(priority)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"a priority is a whole number >= 1, not {priority!r}") from None


class Parser(argparse.ArgumentParser):
    """An argument parser that tells a mistake in one line, as the stages do."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv=None):
    """Recite the poems named on the command line by priority; return the exit status."""
    parser = Parser(prog="python -m exercises.ch14_priorities",
                     description=__doc__.split("\n\n")[0])
    parser.add_argument("poems", nargs="+", type=poem_and_priority, metavar="POEM[:PRIORITY]",
                        help="a poem from the catalogue, and how many lines it says each "
                             "time its turn comes (default: 1)")
    parser.add_argument("--lines", type=whole_number, metavar="N",
                        help="recite at most N lines of each poem (default: all)")
    options = parser.parse_args(argv)
    try:
        tasks = [with_priority(recite(poem_lines(name)[:options.lines]), priority)
                 for name, priority in options.poems]
    except PoemError as exc:
        parser.error(str(exc))
    print(f"results: {run(tasks)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
