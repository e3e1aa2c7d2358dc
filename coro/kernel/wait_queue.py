"""A wait queue: the one primitive that events, locks, semaphores and queues stand on.

Every synchronisation object of :mod:`coro.kernel.sync` has the same shape. A task
asks for something it cannot have yet (the event is not set, the lock is held, the
queue is empty) and must wait, in line, until another task makes it possible. So each
object keeps a :class:`WaitQueue`: a task that must wait *parks* in it, with the
:class:`~coro.kernel.traps.Park` trap, and is suspended; a task that makes progress
possible *unparks* the first one in line, or all of them, and may hand it a value as
the answer to its wait (an item, the lock itself).

Parking suspends a task, so it is a trap, like every other wait. Unparking is not:
it never suspends the task that does it, only moves a parked task to the kernel's
ready queue, so it is a plain method call. The queue learns how to do that from the
kernel, the first time a task parks in it. That is why ``event.set()`` and
``lock.release()`` are plain calls here, as they are in trio and asyncio.

A task leaves the queue in one of two ways: it is unparked, in the order it came, or
the kernel takes it out because it was cancelled or its deadline passed. Either way it
leaves no trace: nothing still thinks it waits, and nothing it left there (a putter's
item) stays behind. trio's ``ParkingLot`` and curio's ``KernelSyncBase`` are built the
same way.
"""

import collections

from coro.kernel.traps import park


class WaitQueue:
    """Tasks parked until another task unparks them, first in, first out.

    Invariant: each task in ``_parked`` waits here (it is WAITING, and its wait is
    this queue), with the payload it parked with; it leaves in the order it came, or
    when the kernel undoes its wait, and then it is in no queue at all.

    Not thread-safe: only the kernel's tasks (on the kernel's thread) park and unpark.

    Args:
        name: What waiting here means, for a waiting task's repr: ``"Queue.get"``.
    """

    __slots__ = ("name", "_parked", "_wake")

    def __init__(self, name="a wait queue"):
        self.name = name
        self._parked = collections.OrderedDict()  # task -> payload, in the order they came
        self._wake = None  # the kernel's wake(task, value, exc), from the first park

    def __len__(self):
        """How many tasks are parked here."""
        return len(self._parked)

    def park(self, payload=None):
        """Suspend the calling task here until it is unparked; returns what the unparker gives.

        A coroutine: ``yield from queue.park()``, or ``await queue.park()``.
        """
        return park(self, payload)

    def unpark(self, value=None, *, exc=None):
        """Wake the task parked first: its wait answers ``value``, or raises ``exc``.

        Returns:
            The payload that task parked with.

        Raises:
            LookupError: if no task is parked.
        """
        if not self._parked:
            raise LookupError(f"no task waits in {self.name}")
        task, payload = self._parked.popitem(last=False)
        self._wake(task, value, exc)
        return payload

    def unpark_all(self, value=None):
        """Wake every parked task, in the order they came, each with ``value``."""
        while self._parked:
            self.unpark(value)

    def __repr__(self):
        return f"<WaitQueue {self.name}: {len(self._parked)} parked>"

    def __str__(self):
        return self.name

    # -- the kernel's side ----------------------------------------------------------

    def _add(self, task, payload, wake):
        """The kernel parks ``task``, which is now WAITING on this queue."""
        if self._wake != wake:  # a bound method: a new object each time, equal to the last
            if self._parked:
                raise RuntimeError(f"{self.name} has tasks of another kernel parked in it")
            self._wake = wake
        self._parked[task] = payload

    def _remove(self, task):
        """The kernel undoes ``task``'s wait (a cancel, a deadline): it leaves no trace."""
        del self._parked[task]
