"""Handles: a callback the reactor will call, and a timer, which is one with a deadline.

The reactor (:mod:`coro.reactor.loop`) queues handles and runs them, one tick at a
time; whoever scheduled one keeps it, to cancel it.
"""

from coro.io.timers import Timer as _Timer


class Handle:
    """A callback waiting to be called, ``fn(*args)``, unless cancelled first."""

    __slots__ = ("fn", "args", "cancelled")

    def __init__(self, fn, args):
        self.fn, self.args, self.cancelled = fn, args, False

    def cancel(self):
        """Make sure the callback never runs (if it has not run yet)."""
        self.cancelled = True

    def __repr__(self):
        state = " cancelled" if self.cancelled else ""
        return f"<{type(self).__name__} {describe(self.fn)}{state}>"


class Timer(_Timer):
    """A callback due at a time, ``fn(*args)``, unless cancelled first."""

    __slots__ = ("fn", "args")

    def __init__(self, fn, args, when):
        super().__init__(when)
        self.fn, self.args = fn, args

    __repr__ = Handle.__repr__


def describe(fn):
    """A callback's name for error reports: its qualified name, or else its repr."""
    return getattr(fn, "__qualname__", None) or repr(fn)
