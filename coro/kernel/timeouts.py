"""Timeouts around any block of waits.

``yield from timeout_after(5, download(address))`` runs ``download`` in the calling task
and gives it five seconds in all, across every wait it makes. It adds a *deadline* to
the task: from then on each wait of the task, however deep in the block, fails once the
deadline has passed, with :exc:`~coro.kernel.task.DeadlineExpired` raised at that wait. The
exception unwinds the block (its ``finally`` blocks run) up to the ``timeout_after``
that owns the deadline, which turns it into :exc:`TimeoutError`.

Blocks nest. Each one recognises its own deadline and lets any other one through, so
when an outer block's deadline passes inside an inner block, the inner block does not
mistake it for its own: the exception goes on, up to the outer one. When both pass at
once, the outer one wins, because its whole block is over.

Chapter 16b writes the same deadline as a block of its own, a *cancel scope*, as trio
does: ``move_on_after`` ends its block quietly and says so, ``fail_after`` raises.
"""

import types

from coro.kernel.task import DeadlineExpired
from coro.kernel.traps import add_deadline


@types.coroutine
def timeout_after(seconds, block):
    """Run ``block`` (a generator or a coroutine) with ``seconds`` for all of its waits.

    In the cleanup of a cancelled task (a ``finally`` on the way out of its cancel), it
    works as anywhere else: it bounds that part of the cleanup, a goodbye to a peer
    that never reads, and raises TimeoutError there. The blocks the cancel unwinds lose
    their deadlines: the cancel already ends them, so their deadlines neither cut its
    cleanup short nor turn the cancel into a TimeoutError on the way out.

    Returns:
        What ``block`` returns.

    Raises:
        TimeoutError: the block was still waiting after ``seconds``.
    """
    deadline = yield from add_deadline(seconds)
    try:
        return (yield from block)
    except DeadlineExpired as expired:
        if expired.deadline is not deadline:
            raise  # an outer block's deadline: not ours to handle
        raise TimeoutError(f"timed out after {seconds:g}s") from None
    finally:
        deadline.clear()


class CancelScope:
    """A block of code whose waits fail once its deadline has passed (chapter 16b).

    Made by :func:`move_on_after` or :func:`fail_after`; entered with ``async with`` in an
    ``async def`` task, or ``with (yield from scope)`` in a generator task (the
    ``yield from`` sets the deadline, which only the kernel can do). When the deadline
    passes, the wait the block is in raises, the block unwinds, and the scope stops the
    exception at its edge: it leaves quietly (``move_on_after``), or raises
    :exc:`TimeoutError` (``fail_after``). It nests with other scopes and with
    :func:`timeout_after` as they nest with each other: each stops only its own deadline's
    exception, and when an inner and an outer deadline pass together, the outer one wins.

    Attributes:
        seconds: How long its block may wait, in all.
        cancelled_caught: Whether its deadline ended the block (set on the way out).
    """

    def __init__(self, seconds, *, fail):
        self.seconds, self._fail = seconds, fail
        self.cancelled_caught = False
        self._deadline = None

    def _set_deadline(self):  # a plain generator: __await__ may not return a coroutine
        if self._deadline is not None:
            raise RuntimeError("a cancel scope is entered once")
        self._deadline = yield from add_deadline(self.seconds)
        return self

    def __iter__(self):
        return self._set_deadline()

    __await__ = __iter__

    def __enter__(self):
        if self._deadline is None:
            raise TypeError("a cancel scope needs the kernel to set its deadline: write "
                            "`async with` in an async def task, or "
                            "`with (yield from move_on_after(...))` in a generator task")
        return self

    def __exit__(self, kind, error, traceback):
        self._deadline.clear()
        if isinstance(error, DeadlineExpired) and error.deadline is self._deadline:
            self.cancelled_caught = True
            if self._fail:
                raise TimeoutError(f"timed out after {self.seconds:g}s") from None
            return True  # move on: the block is over, the task goes on after it
        return False

    async def __aenter__(self):
        return await self

    async def __aexit__(self, kind, error, traceback):
        return self.__exit__(kind, error, traceback)

    def __repr__(self):
        kind = "fail_after" if self._fail else "move_on_after"
        return f"<CancelScope {kind}({self.seconds:g}) caught={self.cancelled_caught}>"


def move_on_after(seconds):
    """A :class:`CancelScope` whose block just ends, ``seconds`` after it began.

    Afterwards, its ``cancelled_caught`` says whether the block ran out of time::

        with (yield from move_on_after(2)) as scope:
            poem = yield from get_poetry(host, port)
        if scope.cancelled_caught:
            poem = None
    """
    return CancelScope(seconds, fail=False)


def fail_after(seconds):
    """A :class:`CancelScope` that raises :exc:`TimeoutError` ``seconds`` after it began,
    if its block is still waiting: :func:`timeout_after` as a block of its own."""
    return CancelScope(seconds, fail=True)
