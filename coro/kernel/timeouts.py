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
