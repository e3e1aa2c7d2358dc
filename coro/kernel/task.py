"""Tasks: a coroutine the kernel runs, what it waits on, and how it ended.

A task wraps one generator or ``async def`` coroutine. The kernel (:mod:`coro.kernel.loop`)
resumes it with ``send`` (the answer to its last trap) or ``throw`` (an exception raised
at its ``yield``), and it runs until its next trap or its end. Its end is a result (its
``return`` value) or an exception. Cancelling a task raises :exc:`TaskCancelled` at the
wait it is suspended in, so its ``try``/``finally`` blocks run as they would for any
other exception.

:exc:`TaskCancelled` derives from :exc:`BaseException`, not :exc:`Exception`, as
asyncio's ``CancelledError`` does: an ``except Exception`` written to handle a failed
download must not stop a cancellation on its way out.
"""

import enum
import itertools

from coro.io.timers import Timer

#: What a trap handler returns when the task now waits, to be woken later.
SUSPEND = object()


class TaskCancelled(BaseException):
    """Raised in a task, at a wait, to make it stop."""


class DeadlineExpired(TaskCancelled):
    """Raised at a wait when one of the task's deadlines has passed.

    :func:`~coro.kernel.timeouts.timeout_after` turns it into :exc:`TimeoutError` at the edge
    of the block whose deadline it is; the blocks inside it let it through.

    Attributes:
        deadline: The :class:`Deadline` that passed.
    """

    def __init__(self, deadline):
        super().__init__(f"the deadline of {deadline.seconds:g}s passed")
        self.deadline = deadline


class TaskState(enum.Enum):
    READY = "ready"
    WAITING = "waiting"
    DONE = "done"


class Waiting(enum.Enum):
    """What a waiting task waits on; the task's ``_wait_arg`` says which one."""

    READABLE = "to read descriptor"
    WRITABLE = "to write descriptor"
    SLEEP = "for its sleep to end"
    TASKS = "for a task to end"
    CANCELLED_TASK = "for a cancelled task to end"  # cleanup: never interrupted
    PARKED = "in a wait queue"  # chapter 16b's WaitQueue: "waiting in Queue.get"
    THREAD = "for a thread to call"  # a Call of the ThreadPool


class Deadline:
    """A time after which every wait of one task fails, until it is cleared."""

    __slots__ = ("when", "seconds", "_deadlines", "_alarm")

    def __init__(self, when, seconds, deadlines, alarm):
        self.when, self.seconds = when, seconds
        self._deadlines, self._alarm = deadlines, alarm

    def clear(self):
        """End the rule: the task's waits no longer fail because of this deadline."""
        if self in self._deadlines:
            self._deadlines.remove(self)
            self._alarm.cancel()


class Alarm(Timer):
    """A kernel timer: at ``when``, end ``task``'s sleep, or check its ``deadline``."""

    __slots__ = ("task", "deadline")

    def __init__(self, when, task, deadline=None):
        super().__init__(when)
        self.task, self.deadline = task, deadline


class Task:
    """A coroutine run by the kernel.

    Invariant: a task is READY (queued, with what to send or throw in next), WAITING on
    exactly one thing (``_wait_kind`` and ``_wait_arg`` say what, so that the kernel can
    undo the wait), or DONE, with a result or an exception that never changes again.
    It is cancelled at most once: the first cancel sets ``cancel_requested`` and is
    raised at a wait; later ones do nothing, so its cleanup runs to its end.
    """

    __slots__ = ("id", "name", "coro", "state", "_send", "_value", "_exc", "_wait_kind",
                 "_wait_arg", "cancel_requested", "cancel_pending", "_deadlines", "_joiners",
                 "_result", "_exception", "_retrieved", "_report")

    _ids = itertools.count(1)

    def __init__(self, coro, report_error):
        self.id = next(Task._ids)
        self.name = getattr(coro, "__qualname__", type(coro).__name__)
        self.coro = coro
        self.state = TaskState.READY
        self._send = coro.send
        self._value = self._exc = None  # what to send, or throw, into it next
        self._wait_kind = self._wait_arg = None
        self.cancel_requested = False  # it was cancelled: the next cancels do nothing
        self.cancel_pending = False  # a cancel to raise at its next wait
        self._deadlines = []  # Deadline objects, outermost first
        self._joiners = []  # (task, how) pairs to wake when this one ends (task_waits)
        self._result = self._exception = None
        self._retrieved = False
        self._report = report_error

    @property
    def done(self):
        """Whether the task has ended."""
        return self.state is TaskState.DONE

    @property
    def cancelled(self):
        """Whether the task ended because it was cancelled."""
        return isinstance(self._exception, TaskCancelled)

    def result(self):
        """The task's return value; if it failed, its exception is raised instead.

        Raises:
            RuntimeError: if the task has not ended yet.
        """
        exception = self.exception()
        if exception is not None:
            raise exception
        return self._result

    def exception(self):
        """The exception the task ended with, or None; asking counts as handling it."""
        if self.state is not TaskState.DONE:
            raise RuntimeError(f"{self!r} has not ended yet")
        self._retrieved = True
        return self._exception

    def __repr__(self):
        if self.state is TaskState.WAITING:
            what = self._wait_kind.value
            if self._wait_kind is Waiting.PARKED:
                what = f"in {self._wait_arg}"  # the queue's name: "in Queue.get"
            elif self._wait_kind in (Waiting.READABLE, Waiting.WRITABLE, Waiting.THREAD):
                what += f" {self._wait_arg}"
            state = f"waiting {what}"
        elif self.state is TaskState.DONE and self._exception is not None:
            state = "cancelled" if self.cancelled else f"failed: {self._exception!r}"
        else:
            state = self.state.value
        return f"<Task {self.id} {self.name} {state}>"

    def __del__(self):
        # An error that nobody asked for is reported, at the latest when the task is
        # garbage-collected: a crashed connection handler must not fail in silence.
        if self._exception is not None and not self._retrieved and not self.cancelled:
            self._report(self._exception, f"{self!r}, which nobody joined")
