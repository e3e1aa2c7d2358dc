"""Time for tests: the fake clock, and autojump for any loop that polls with a timeout.

A :class:`~coro.io.clock.FakeClock` (re-exported here) moves only when told to. The
kernel of chapter 16 tells it itself: when no task is ready and no descriptor is, it
moves the clock on to its next timer, so ``kernel.run(main)`` runs a 10-minute timeout
in no time. The reactor of chapter 8 was written before that, and leaves time to the
test, which advances the clock by hand and calls ``run_once`` (Twisted's ``task.Clock``
works the same way).

:func:`autojump` gives the reactor, unchanged, what the kernel does by itself, as trio's
``MockClock(autojump_threshold=0)`` does for trio. The seam is the multiplexer, and not
the reactor's code, for two reasons: the reactor already takes its multiplexer as an
argument, and the timeout a loop passes to ``poll`` *is* the time until its next timer
(step 1 of a tick works it out). So a multiplexer that, finding nothing ready, moves the
clock on by that timeout instead of sleeping, makes the loop's next tick find the timer
due. Any loop that computes its poll timeout from its clock gets the same: it needs no
line of its own for it.

What it cannot do: only what is ready at the moment of the poll counts. Bytes still on
their way over a real connection, or a thread that will write a moment later, are not
waited for: time jumps first (the kernel has the same limit). Pair it with socketpairs,
whose writes are readable at once, or with :mod:`coro.testing.transports`.
"""

import math

from coro.io.clock import FakeClock
from coro.testing.wrapped import WrappedMultiplexer

__all__ = ["AutojumpMultiplexer", "FakeClock", "autojump"]


class AutojumpMultiplexer(WrappedMultiplexer):
    """A multiplexer that moves a fake clock on where the one it wraps would sleep.

    Invariant: the clock moves only in :meth:`poll`, only when the wrapped multiplexer
    has just found no descriptor ready and the loop asked to sleep a finite, positive
    time, and then by exactly that time. Everything else is the wrapped multiplexer's.

    Args:
        clock: The clock to move, with ``advance(seconds)``: a FakeClock.
        multiplexer: The multiplexer to wrap; the best backend of this system by default.
            It is closed with this one.
    """

    def __init__(self, clock, multiplexer=None):
        super().__init__(multiplexer)
        self.clock = clock

    @property
    def name(self):
        return f"autojump over {self.multiplexer.name}"

    def poll(self, timeout=None):
        """Return the descriptors ready now; if there are none, move the clock on by
        ``timeout`` instead of sleeping, and return none.

        With no timeout (None, or infinite), there is no timer to jump to: only
        something outside can end the wait, so it is a real one.
        """
        if timeout is None or math.isinf(timeout) or timeout <= 0:
            return self.multiplexer.poll(timeout)
        # An empty multiplexer refuses to poll ("nothing to wait for"): a loop with only
        # timers still has somewhere to jump to.
        ready = self.multiplexer.poll(0) if len(self.multiplexer) else []
        if not ready:
            self.clock.advance(timeout)
        return ready

    def __repr__(self):
        return f"<{type(self).__name__} over {self.multiplexer!r}, at {self.clock.now()}>"


def autojump(clock, multiplexer=None):
    """A multiplexer over ``multiplexer`` (the best backend by default) that moves
    ``clock`` on to the loop's next timer whenever nothing is ready.

    >>> from coro.reactor.loop import Reactor
    >>> from coro.testing.clock import FakeClock, autojump
    >>> clock = FakeClock()
    >>> with Reactor(autojump(clock), clock=clock) as reactor:
    ...     _ = reactor.call_later(600, reactor.stop)
    ...     reactor.run()
    >>> clock.now()
    600.0
    """
    return AutojumpMultiplexer(clock, multiplexer)
