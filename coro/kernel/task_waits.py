"""Which task waits for which other tasks to end: join, wait_any, and cancel.

The kernel (:mod:`coro.kernel.loop`) keeps one :class:`TaskWaits`, the handlers of the
traps that relate a task to others. A task that waits for others to end is put in the
*joiners* of each of them, a list of ``(task, how)`` pairs; when a task ends, the
kernel calls :meth:`TaskWaits.ended`, which wakes its joiners, each the way it asked:
with the result (``join``), with the task that ended (``wait_any``), or with nothing
(a cancel that waits for the end).

A task is woken once, however it waits: it joins each task it waits for once, even
when ``wait_any`` is given the same task twice, and when the first of several ends it
leaves the joiners of the others before it is woken.

A task is cancelled once, too. The kernel delivers the first cancel; a second one, for
a task that is already cancelled or running its cleanup, does nothing, so a ``finally``
that waits (a goodbye to the peer) runs to its end.
"""

import enum

from coro.kernel.task import SUSPEND, TaskState, Waiting

_DONE = TaskState.DONE


class Woken(enum.Enum):
    """How a task waiting for another to end is woken when it does."""

    JOIN = "with its result, or its exception raised"
    QUIET = "with None (it cancelled the task and waited)"
    ANY = "with the task that ended first (of several)"


_JOIN, _QUIET, _ANY = Woken.JOIN, Woken.QUIET, Woken.ANY


class TaskWaits:
    """The kernel's handlers of :class:`~coro.kernel.traps.Join`,
    :class:`~coro.kernel.traps.WaitAny` and :class:`~coro.kernel.traps.Cancel`.

    Invariant: a task waiting for others (``Waiting.TASKS`` or
    ``Waiting.CANCELLED_TASK``) is in the joiners of each task its ``_wait_arg`` names,
    exactly once, and in no other task's joiners.

    Args:
        suspend: ``suspend(task, kind, arg)``, the kernel's first step of every wait.
        wake: ``wake(task, value, exc)``, the kernel's way to make a task ready.
        request_cancel: ``request_cancel(task)``, the kernel's one way to cancel a task
            (it delivers only the first cancel).
    """

    def __init__(self, suspend, wake, request_cancel):
        self._suspend, self._wake, self._request_cancel = suspend, wake, request_cancel

    def join(self, task, trap):
        """The handler of :class:`~coro.kernel.traps.Join`."""
        return self._wait_for(task, (trap.task,), _JOIN)

    def wait_any(self, task, trap):
        """The handler of :class:`~coro.kernel.traps.WaitAny`."""
        if not trap.tasks:
            raise ValueError("wait_any() needs at least one task")
        return self._wait_for(task, trap.tasks, _ANY)

    def cancel(self, task, trap):
        """The handler of :class:`~coro.kernel.traps.Cancel`: cancel, then maybe wait."""
        target = trap.task
        if target.state is _DONE:
            return None
        self._request_cancel(target)
        if target is task or not trap.wait:
            return None  # a task that cancels itself gets it at its next wait
        return self._wait_for(task, (target,), _QUIET)

    def ended(self, task):
        """Wake the tasks that wait for ``task``, which has just ended."""
        joiners, task._joiners = task._joiners, []
        for waiter, how in joiners:
            if how is _JOIN:
                task._retrieved = True
                self._wake(waiter, task._result, task._exception)
            elif how is _QUIET:
                self._wake(waiter, None, None)
            else:
                self.undo(waiter)  # out of the other tasks' joiners first
                self._wake(waiter, task, None)

    def undo(self, task):
        """Take ``task`` out of the joiners of every task it waits for."""
        for other in task._wait_arg:
            other._joiners = [(t, how) for t, how in other._joiners if t is not task]

    def _wait_for(self, task, targets, how):
        targets = tuple(dict.fromkeys(targets))  # each one once, however often it is named
        for target in targets:
            if target is task:
                raise RuntimeError(f"{task!r} cannot wait for itself to end")
            if target.state is _DONE:
                if how is _JOIN:
                    return target.result()
                return target if how is _ANY else None
        self._suspend(task, Waiting.CANCELLED_TASK if how is _QUIET else Waiting.TASKS,
                      targets)
        for target in targets:
            target._joiners.append((task, how))
        return SUSPEND
