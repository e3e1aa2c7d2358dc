"""The kernel layer: tasks that are plain generators and coroutines (chapter 16).

- :mod:`~coro.kernel.loop`: the :class:`~coro.kernel.loop.Kernel`, the only thing that runs a task;
- :mod:`~coro.kernel.traps`: the requests a task yields to the kernel;
- :mod:`~coro.kernel.task`: a task, what it waits on, how it ended;
- :mod:`~coro.kernel.task_group`: tasks that end together;
- :mod:`~coro.kernel.task_waits`: which task waits for which others (join, wait_any, cancel);
- :mod:`~coro.kernel.timeouts`: deadlines around a block of waits;
- :mod:`~coro.kernel.io_waits`: which task waits on which descriptor;
- :mod:`~coro.kernel.sockets`: sockets that try first and wait only when they must;
- :mod:`~coro.kernel.wait_queue`: tasks parked until another wakes them (chapter 16b);
- :mod:`~coro.kernel.sync`: events, locks and semaphores, on wait queues;
- :mod:`~coro.kernel.queues`: a bounded queue between producers and consumers;
- :mod:`~coro.kernel.threads`: blocking calls in worker threads.

It stands on :mod:`coro.io` and imports nothing from the reactor or Deferreds.
"""

from coro.kernel.loop import Kernel, run
from coro.kernel.queues import Queue, QueueClosed, QueueEmpty, QueueFull
from coro.kernel.sockets import Socket, listen, open_connection
from coro.kernel.sync import Event, Lock, Semaphore
from coro.kernel.task import Task, TaskCancelled
from coro.kernel.task_group import TaskGroup
from coro.kernel.timeouts import CancelScope, fail_after, move_on_after, timeout_after
from coro.kernel.traps import (cancel, current_task, join, run_in_thread, sleep, spawn, wait_any,
                               wait_readable, wait_writable)
from coro.kernel.wait_queue import WaitQueue

__all__ = [
    "CancelScope", "Event", "Kernel", "Lock", "Queue", "QueueClosed", "QueueEmpty", "QueueFull",
    "Semaphore", "Socket", "Task", "TaskCancelled", "TaskGroup", "WaitQueue", "cancel",
    "current_task", "fail_after", "join", "listen", "move_on_after", "open_connection", "run",
    "run_in_thread", "sleep", "spawn", "timeout_after", "wait_any", "wait_readable",
    "wait_writable",
]
