"""Exercise 16b.1: a barrier, where tasks wait for each other, then go on together.

A :class:`Barrier` for ``parties`` tasks holds each task that calls ``wait`` until
``parties`` of them have come. The last to come does not wait: it wakes the others, in
the order they came, and the next task to come starts the next round. It is chapter
16b's shape once more, a count and one :class:`~coro.kernel.wait_queue.WaitQueue`, and
the count is the queue's own length. A task cancelled while it waits, or whose
deadline passes, is taken out of the queue by the kernel, so it leaves the count as if
it had never come.

The demonstration runs on a fake clock. Three runners come to the line at their own
pace, wait there for each other, and set off together; after a lap, each at its own
pace, they wait again. A fourth comes first, waits 0.8 seconds at most, and leaves:

    python -m exercises.ch16b_barrier
"""

import sys
import types

from coro.io.clock import FakeClock
from coro.kernel.loop import Kernel
from coro.kernel.timeouts import move_on_after
from coro.kernel.traps import join, sleep, spawn
from coro.kernel.wait_queue import WaitQueue
from exercises.ch14_priorities import Parser


class Barrier:
    """Tasks wait at it until ``parties`` of them have come; then all of them go on.

    Invariant: fewer than ``parties`` tasks are parked, the tasks of the round under
    way, in the order they came. The task that makes ``parties`` never parks: it wakes
    them all, so the queue is empty again for the next round.

    Args:
        parties: How many tasks each round waits for.
    """

    def __init__(self, parties):
        if parties < 1:
            raise ValueError(f"a Barrier waits for 1 task or more, not {parties}")
        self.parties = parties
        self._waiters = WaitQueue("Barrier.wait")

    def __len__(self):
        """How many tasks wait for the round to be complete."""
        return len(self._waiters)

    @types.coroutine
    def wait(self):
        """Wait until ``parties`` tasks, this one among them, have come.

        The last to come goes on at once, as every object of :mod:`coro.kernel.sync`
        that need not wait does; the others follow it, in the order they came.

        Returns:
            The order this task came in, in its round: 0 for the first, ``parties - 1``
            for the last.
        """
        came = len(self._waiters)  # a task that left the line is no longer in it
        if came < self.parties - 1:
            return (yield from self._waiters.park())  # woken with its place in the round
        for place in range(came):
            self._waiters.unpark(place)
        return came

    def __repr__(self):
        return f"<Barrier {len(self._waiters)}/{self.parties} waiting>"


def runner(number, to_the_line, laps, barrier, say):
    """Come to the line after ``to_the_line`` seconds; before each of ``laps`` (their
    seconds), wait there for the others."""
    yield from sleep(to_the_line)
    for lap, seconds in enumerate(laps, start=1):
        say(f"runner {number} waits at the line")
        yield from barrier.wait()
        say(f"runner {number} sets off on lap {lap}")
        yield from sleep(seconds)


def quitter(number, patience, barrier, say):
    """Wait at the line for ``patience`` seconds at most, then leave without running."""
    say(f"runner {number} waits at the line")
    with (yield from move_on_after(patience)) as scope:
        yield from barrier.wait()
        say(f"runner {number} sets off")
    if scope.cancelled_caught:
        say(f"runner {number} gives up")


def demonstrate():
    """Run the race on a fake clock, printing each runner's moves with the time."""
    clock = FakeClock()

    def say(what):
        print(f"{clock.now():4.1f}s  {what}")

    def race():
        barrier = Barrier(3)
        runners = []
        for number, to_the_line, laps in [(1, 0.5, (3, 1)), (2, 2, (1, 1)), (3, 1, (2, 1))]:
            runners.append((yield from spawn(runner(number, to_the_line, laps, barrier, say))))
        runners.append((yield from spawn(quitter(4, 0.8, barrier, say))))
        for task in runners:
            yield from join(task)

    with Kernel(clock=clock) as kernel:
        kernel.run(race())


def main(argv=None):
    """Run the demonstration; return the exit status."""
    Parser(prog="python -m exercises.ch16b_barrier",
           description=__doc__.split("\n\n")[0]).parse_args(argv)
    demonstrate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
