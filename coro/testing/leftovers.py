"""What a test can leave behind: descriptors open, timers set, tasks running.

A test that leaves a socket open, or a timer that will go off in the next test, passes
itself and breaks another, far away, on some runs only. So after each test these say
what is left, by name, for the check that fails it: which descriptor (a path, or
``socket:[81234]``), which timer (the function it would call), which task (its repr
says what it waits on: "waiting to read descriptor 7", "waiting in Queue.get").

The reactor and the kernel count their timers (``pending_timers()``) but do not list
them, and the kernel does not list its tasks: the functions here read the heap and the
task set the loops keep, which a testing layer of the same package may do and a
program should not.
"""

import os

from coro.kernel.loop import Kernel

#: Where Linux lists a process's open descriptors, each a link to what it is.
_PROC_FDS = "/proc/self/fd"


def open_descriptors():
    """Each open descriptor and what it is, or None where the system does not say (no /proc).

    Returns:
        Each descriptor number, mapped to the target of its /proc link (a path, or
        ``socket:[inode]``, ``pipe:[inode]``, ``anon_inode:[eventpoll]``).
    """
    if not os.path.isdir(_PROC_FDS):
        return None
    found = {}
    for name in os.listdir(_PROC_FDS):
        try:
            found[int(name)] = os.readlink(f"{_PROC_FDS}/{name}")
        except FileNotFoundError:  # the descriptor listdir itself used, closed since
            continue
    return found


def opened_since(before):
    """The descriptors open now that were not open at ``before`` (or were something else).

    Args:
        before: What :func:`open_descriptors` returned then; None checks nothing.
    """
    now = open_descriptors()
    if before is None or now is None:
        return {}
    return {fd: what for fd, what in now.items() if before.get(fd) != what}


def pending_timers(loop):
    """A description of each timer ``loop`` (a reactor or a kernel) still has set, by deadline.

    A reactor's timer is named by the function it would call; a kernel's, by the task
    that sleeps, or whose deadline it is.
    """
    now = loop.clock.now()
    if isinstance(loop, Kernel):
        return [f"the {'sleep' if alarm.deadline is None else 'deadline'} of {alarm.task!r}, "
                f"due in {alarm.when - now:g}s" for alarm in _set(loop._alarms)]
    return [f"{timer!r}, due in {timer.when - now:g}s" for timer in _set(loop._timers)]


def running_tasks(kernel, *, besides=None):
    """The tasks of ``kernel`` that have not ended, but ``besides``, in the order they began."""
    return sorted((task for task in kernel._tasks if task is not besides), key=lambda t: t.id)


def _set(heap):
    """The timers of a :class:`~coro.io.timers.TimerHeap` not cancelled, by deadline."""
    return [timer for _, _, timer in sorted(heap._heap) if not timer.cancelled]
