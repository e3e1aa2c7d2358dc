"""Traps: the one way a task asks the kernel for something.

A task of the kernel (:mod:`coro.kernel.loop`) is a generator, or an ``async def``
coroutine. It runs until it needs something only the kernel can give: wake me when
this socket is readable, or in two seconds; start this other task; wait for that one
to end. Then it *yields a trap*, a small object that names the request, and is
suspended. The kernel looks the trap's type up in a table, does what it asks, and
resumes the task with the answer, which becomes the value of the ``yield``, or with
an exception raised at the ``yield``.

Nothing else crosses between a task and the kernel: no callbacks, no shared queues.
Every function here goes through :func:`kernel_trap`, the only ``yield`` in the runtime's
coroutines, and is marked with :func:`types.coroutine`, so the same call works in
both kinds of task::

    yield from sleep(1)      # in a generator task
    await sleep(1)           # in an async def task
"""

import inspect
import types


class Trap:
    """A request to the kernel. Subclasses name their fields in ``__slots__``."""

    __slots__ = ()

    def __repr__(self):
        names = [name for cls in reversed(type(self).__mro__)
                 for name in getattr(cls, "__slots__", ())]
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__name__}({fields})"


class _WaitIO(Trap):
    __slots__ = ("fileobj", "fd")

    def __init__(self, fileobj):
        self.fileobj = fileobj
        self.fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()


class WaitReadable(_WaitIO):
    """Suspend the task until ``fileobj`` is readable, or its peer has hung up.

    ``fileobj`` is a descriptor, or an object with ``fileno()``. The answer is None; the
    read is the task's to make. A descriptor has at most one reading task.
    """

    __slots__ = ()
    reading = True


class WaitWritable(_WaitIO):
    """Suspend the task until ``fileobj`` has room to write, or a connect has finished.

    The answer is None; the write is the task's to make. A descriptor has at most one
    writing task.
    """

    __slots__ = ()
    reading = False


class Sleep(Trap):
    """Suspend the task until ``seconds`` have passed on the kernel's clock.

    The answer is None. With 0, the task goes to the back of the ready queue: every
    other ready task runs, and the sockets are polled, before it goes on.
    """

    __slots__ = ("seconds",)

    def __init__(self, seconds):
        self.seconds = seconds


class Spawn(Trap):
    """Start a new task running ``coro``, and answer at once with its Task.

    ``coro`` is a generator or a coroutine. The new task first runs in the kernel's next
    turn; the answer is its :class:`~coro.kernel.task.Task`, to join or cancel.
    """

    __slots__ = ("coro",)

    def __init__(self, coro):
        self.coro = coro


class Join(Trap):
    """Suspend the task until ``task`` ends, and answer with what it returned.

    If ``task`` raised, that exception is raised at the wait instead; a task already
    ended is answered at once.
    """

    __slots__ = ("task",)

    def __init__(self, task):
        self.task = task


class WaitAny(Trap):
    """Suspend the task until one of ``tasks`` ends, and answer with that task.

    Its result is not taken: join it for that. The waiting task is woken once, by the
    first to end, and leaves the others' lists of joiners.
    """

    __slots__ = ("tasks",)

    def __init__(self, tasks):
        self.tasks = tasks


class Cancel(Trap):
    """Raise TaskCancelled in ``task`` at its (next) wait; with ``wait``, suspend until it ends.

    A task is cancelled once: a second cancel leaves it to finish its cleanup. The
    wait for the end is cleanup too, so no cancel or deadline interrupts it. The answer
    is None.
    """

    __slots__ = ("task", "wait")

    def __init__(self, task, wait):
        self.task, self.wait = task, wait


class CurrentTask(Trap):
    """Answer at once with the task that asks: its :class:`~coro.kernel.task.Task`."""

    __slots__ = ()


class AddDeadline(Trap):
    """Make every wait of the task fail once ``seconds`` have passed; answer at once.

    The answer is a :class:`~coro.kernel.task.Deadline`; clearing it ends the rule. Past
    the deadline, each wait raises :exc:`~coro.kernel.task.DeadlineExpired`;
    :func:`~coro.kernel.timeouts.timeout_after` is the way to use it.
    """

    __slots__ = ("seconds",)

    def __init__(self, seconds):
        self.seconds = seconds


class Park(Trap):
    """Suspend the task in ``queue`` until another task unparks it; answer with what it gives.

    ``queue`` is a :class:`~coro.kernel.wait_queue.WaitQueue`, and ``payload`` what the
    task leaves there for the task that wakes it (a queue's putter leaves its item).
    Waking needs no trap: it never suspends the waker (chapter 16b).
    """

    __slots__ = ("queue", "payload")

    def __init__(self, queue, payload):
        self.queue, self.payload = queue, payload


class RunInThread(Trap):
    """Suspend the task while a worker thread calls ``fn(*args)``; answer with its result.

    If the call raised, that exception is raised at the wait instead. The kernel's
    threads are few (``Kernel(max_threads=...)``): past that many calls at once, the next
    wait their turn, in order.
    """

    __slots__ = ("fn", "args")

    def __init__(self, fn, args):
        self.fn, self.args = fn, args


@types.coroutine
def kernel_trap(request):
    """The door: hand ``request`` (a :class:`Trap`) to the kernel; return its answer.

    Traps hold no state of their own, so one object may be handed over many times:
    a :class:`~coro.kernel.sockets.Socket` makes its two waits once, not once per wait.
    """
    return (yield request)


def wait_readable(fileobj):
    """Suspend the task until ``fileobj`` is readable (or has hung up)."""
    return kernel_trap(WaitReadable(fileobj))


def wait_writable(fileobj):
    """Suspend the task until ``fileobj`` is writable."""
    return kernel_trap(WaitWritable(fileobj))


def sleep(seconds):
    """Suspend the task for ``seconds`` of the kernel's clock.

    ``sleep(0)`` lets every other ready task run, and the sockets be polled, first.
    """
    return kernel_trap(Sleep(seconds))


def spawn(coro):
    """Start a task running ``coro`` (a generator or a coroutine); returns its Task.

    The new task starts in the kernel's next round; the caller goes on at once.
    """
    return kernel_trap(Spawn(coro))


def join(task):
    """Wait until ``task`` ends; return its result, or raise its exception.

    Raises:
        TaskCancelled: if the task was cancelled.
    """
    return kernel_trap(Join(task))


def wait_any(tasks):
    """Wait until one of ``tasks`` has ended, and return it (without its result)."""
    return kernel_trap(WaitAny(tuple(tasks)))


def cancel(task, *, wait=True):
    """Raise :exc:`~coro.kernel.task.TaskCancelled` in ``task`` at its current (or next) wait.

    A task is cancelled once: cancelling a task that was cancelled already, and may be
    running its cleanup, raises nothing more in it, so a ``finally`` that waits runs to
    its end (a task that catches its cancel and goes on has chosen to).

    Args:
        wait: Whether to wait until the task has ended (its ``finally`` blocks have run).
            That wait is cleanup, so no cancel or deadline of the caller interrupts it.
    """
    return kernel_trap(Cancel(task, wait))


def current_task():
    """The Task that calls it."""
    return kernel_trap(CurrentTask())


def add_deadline(seconds):
    """Make every wait of this task fail once ``seconds`` have passed.

    The answer is a :class:`~coro.kernel.task.Deadline`; :func:`~coro.kernel.timeouts.timeout_after`
    is the way to use it.
    """
    return kernel_trap(AddDeadline(seconds))


def park(queue, payload=None):
    """Suspend the task in ``queue`` (a :class:`~coro.kernel.wait_queue.WaitQueue`)
    until another task unparks it; return what that task gave."""
    return kernel_trap(Park(queue, payload))


def run_in_thread(fn, *args):
    """Call ``fn(*args)`` in one of the kernel's worker threads, and wait for it to return.

    The other tasks run meanwhile. Use it for what would block the kernel: a file on a
    slow disk, a library that only blocks, a long computation in C that lets go of the GIL.

    Returns:
        What ``fn`` returned.

    Raises:
        Exception: what ``fn`` raised. When the wait is cancelled, or times out, the task
            goes on at once, but the thread cannot be stopped: the call runs to its end,
            and its result is dropped (an error it raised is reported).
    """
    return kernel_trap(RunInThread(fn, args))


def not_a_trap(value):
    """The error for a task that yielded ``value``, which is not a trap: it says what
    was probably meant, and the kernel raises it at that ``yield``."""
    if inspect.isgenerator(value):
        hint = f"yielded a generator ({value.__qualname__}): did you mean `yield from`?"
    elif inspect.iscoroutine(value):
        hint = f"yielded a coroutine ({value.__qualname__}): did you mean `await` it?"
    elif hasattr(value, "add_callbacks"):
        hint = ("yielded a Deferred: Deferreds fire on a reactor; the kernel's tasks "
                "wait with traps (coro.kernel.traps)")
    elif value is None:
        hint = "yielded None: a bare `yield` is not a trap; `yield from sleep(0)` lets others run"
    else:
        hint = f"yielded {value!r}, which is not a trap (coro.kernel.traps)"
    return TypeError(f"a task {hint}")
