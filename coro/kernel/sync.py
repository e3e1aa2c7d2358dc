"""Events, locks and semaphores between the kernel's tasks, each on one wait queue.

Each object here is a little state (a flag, an owner, a count) and a
:class:`~coro.kernel.wait_queue.WaitQueue` of the tasks that wait for that state to
change. Waiting is a coroutine, a generator task writes ``yield from lock.acquire()``
and an ``async def`` task ``await lock.acquire()``, and it suspends only when it must:
an event already set, a free lock, a semaphore with a permit left, answer at once.
Everything else (``set``, ``release``) is a plain call, because it never waits.

They are fair. A lock or a semaphore released while tasks wait is *handed* to the
first of them, not left free for whoever asks next: the task that released it cannot
take it back at its next ``acquire`` and starve the others, as it could if the waiter
had to wake and try again. A task whose wait is cancelled, or times out, leaves the
line without a trace, and, if it had been handed the lock just before, it holds it:
its ``async with`` releases it on the way out.

They belong to one kernel and its thread. From a worker thread
(:func:`~coro.kernel.traps.run_in_thread`), hand results back by returning them.
"""

import types

from coro.kernel.wait_queue import WaitQueue


class Event:
    """A flag that tasks can wait for: ``wait`` returns once it is set.

    Invariant: no task is parked while the flag is set.
    """

    def __init__(self):
        self._set = False
        self._waiters = WaitQueue("Event.wait")

    def is_set(self):
        return self._set

    def set(self):
        """Set the flag, and wake every waiting task, in the order they came."""
        if not self._set:
            self._set = True
            self._waiters.unpark_all()

    def clear(self):
        """Unset the flag: the next ``wait`` waits again."""
        self._set = False

    @types.coroutine
    def wait(self):
        """Wait until the flag is set; at once if it is."""
        if not self._set:
            yield from self._waiters.park()

    def __repr__(self):
        state = "set" if self._set else f"unset, {len(self._waiters)} waiting"
        return f"<Event {state}>"


class Semaphore:
    """A count of permits: ``acquire`` takes one, waiting while there are none.

    Invariant: ``value`` is never below 0, and tasks are parked only while it is 0: a
    release while tasks wait hands its permit to the first of them.

    Args:
        value: How many permits there are to begin with (how many tasks may hold one
            at once).
    """

    _kind = "Semaphore"

    def __init__(self, value=1):
        if value < 0:
            raise ValueError(f"a {self._kind} starts with 0 permits or more, not {value}")
        self.value = value
        self._waiters = WaitQueue(f"{self._kind}.acquire")

    def locked(self):
        """Whether ``acquire`` would wait."""
        return self.value == 0

    @types.coroutine
    def acquire(self):
        """Take a permit, waiting in line while there is none."""
        if self.value > 0:
            self.value -= 1
        else:
            yield from self._waiters.park()  # woken holding the permit of a release

    def release(self):
        """Give a permit back: to the first waiting task, if any."""
        if self._waiters:
            self._waiters.unpark()
        else:
            self.value += 1

    async def __aenter__(self):
        await self.acquire()
        return self

    async def __aexit__(self, *exc_info):
        self.release()
        return False

    def __enter__(self):
        raise TypeError(f"a {self._kind} is held across waits: write `async with` in an "
                        f"async def task, or `yield from acquire()` and a `finally` that "
                        f"calls release() in a generator task")

    def __exit__(self, *exc_info):  # pragma: no cover (never entered)
        return False

    def __repr__(self):
        return f"<{self._kind} value={self.value}, {len(self._waiters)} waiting>"


class Lock(Semaphore):
    """Held by one task at a time: a semaphore of one permit that only a holder releases.

    Invariant: ``locked()`` while a task holds it; tasks are parked only while it is
    held, and a release hands it to the first of them, so it is never free while
    anyone waits.
    """

    _kind = "Lock"

    def __init__(self):
        super().__init__(1)

    def release(self):
        """Let the lock go: to the first waiting task, if any.

        Raises:
            RuntimeError: if the lock is not held.
        """
        if self.value:
            raise RuntimeError("release() of a Lock that is not held")
        super().release()

    def __repr__(self):
        state = "locked" if self.locked() else "unlocked"
        return f"<Lock {state}, {len(self._waiters)} waiting>"
