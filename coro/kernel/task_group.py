"""Task groups: children that end before their parent, and never fail in silence.

A task that spawns children and forgets them leaks: a child that fails has nobody to
tell, and one that runs for ever outlives the work it was part of. A :class:`TaskGroup`
ties its children to the task that joins it:

- :meth:`TaskGroup.join` returns only when every child has ended;
- when a child fails, the group cancels the others at once (their ``finally`` blocks
  run), and ``join`` raises every failure, once, together, in an
  :exc:`ExceptionGroup` (so ``except*`` picks out the kinds it handles);
- when the joining task is itself cancelled, or times out, the children are
  cancelled first, and then the cancellation goes on.

In an ``async def`` task the group is a context manager that joins on the way out::

    async with TaskGroup() as group:
        await group.spawn(download(a))
        await group.spawn(download(b))
"""

import types

from coro.kernel.task import TaskCancelled
from coro.kernel.traps import cancel, spawn, wait_any


class TaskGroup:
    """A set of child tasks, joined together.

    Invariant: every child the group spawned is in ``_running`` until ``join`` has
    seen it end; then its failure, if any, is in ``_errors``.
    """

    def __init__(self):
        self._children, self._running, self._errors = [], [], []

    @types.coroutine
    def spawn(self, coro):
        """Start a child task running ``coro``; returns its Task."""
        task = yield from spawn(coro)
        self._children.append(task)
        self._running.append(task)
        return task

    @types.coroutine
    def join(self):
        """Wait for every child to end.

        Returns:
            The children's results, in the order they were spawned; None for a child
            that was cancelled (by ``cancel_remaining``, or by a cancel of its own).

        Raises:
            ExceptionGroup: with every child's failure, if any failed (the others
                were cancelled).
        """
        try:
            while self._running:
                task = yield from wait_any(self._running)
                self._running.remove(task)
                error = task.exception()
                if error is not None and not task.cancelled:
                    self._errors.append(error)
                    yield from self.cancel_remaining()
        except GeneratorExit:
            raise  # the generator is being closed: it may not wait for anything
        except BaseException:  # the joining task was cancelled, or timed out: children first
            yield from self._cancel_all_and_wait()
            raise
        if self._errors:
            raise ExceptionGroup("a task of the group failed", self._errors)
        return [None if task.cancelled else task.result() for task in self._children]

    @types.coroutine
    def cancel_remaining(self):
        """Ask every child still running to stop (``join`` waits for them to end)."""
        for task in self._running:
            yield from cancel(task, wait=False)

    @types.coroutine
    def _cancel_all_and_wait(self):
        # Every child is asked to stop before any is waited for: the first one's cleanup
        # may release a lock or a semaphore (chapter 16b), and a sibling still waiting for
        # it must not get it and run its body, after the group is over.
        yield from self.cancel_remaining()
        for task in self._running:
            yield from cancel(task)
            error = task.exception()
            if error is not None and not task.cancelled:
                self._errors.append(error)
        self._running.clear()

    async def __aenter__(self):
        return self

    async def __aexit__(self, kind, error, traceback):
        if error is None:
            await self.join()
            return False
        await self._cancel_all_and_wait()
        if isinstance(error, TaskCancelled) or not isinstance(error, Exception):
            return False  # let the cancellation (or Ctrl-C) go on
        raise ExceptionGroup("the body of a task group failed", [error, *self._errors])
