"""Blocking calls in worker threads, for tasks that wait for them like for anything else.

A kernel task must never block: a ``time.sleep``, a write to a slow disk or a library
that only knows blocking sockets stops every task (chapter 16). Regular files cannot
even be waited for: ``select`` and ``epoll`` call a file always ready, and the read
blocks anyway. So such a call goes to a worker thread.
:func:`~coro.kernel.traps.run_in_thread` hands the kernel the call in a
:class:`~coro.kernel.traps.RunInThread` trap; the task waits; a worker makes the call
and puts what happened (its result or its exception) on a list of finished calls, then
writes a byte to the kernel's self-pipe, the one chapter 8 built for Ctrl-C, so that a
poll asleep returns. The kernel drains the pipe, then the list, and wakes each task
with its answer. The worker touches nothing else of the kernel's.

At most ``max_threads`` calls run at once for the tasks that wait for them, and the
threads are made as they are needed. The calls past that wait their turn in order, on
the kernel's side, so a task cancelled while its call waits simply takes it out of the
line: it never runs.

A call already running cannot be stopped: Python cannot stop a thread. So a task
cancelled then, or whose deadline passes, is woken at once, and its call is
*abandoned*: it runs to its end, its result is dropped, and an error it raised is
reported. An abandoned call must not keep the pool from the tasks still waiting (it may
never return), so it stops counting against ``max_threads`` at once, and its thread
ends with it instead of taking another call. The next call gets a new thread. curio's
pool does the same. So the threads alive are at most ``max_threads``, plus one for
each abandoned call still running.

The workers are daemon threads that never take Ctrl-C: a call that blocks for ever
cannot keep the program from exiting, and the signal always reaches the kernel.
"""

import collections
import os
import queue
import threading

from coro.io.threads import signals_for_the_main_thread_only


def pool_size(max_threads):
    """How many calls may run at once: ``max_threads``, or by default, as in asyncio, the
    number of processors plus four, and 32 at most.

    Raises:
        ValueError: for fewer than 1.
    """
    if max_threads is None:
        return min(32, (os.cpu_count() or 1) + 4)
    if max_threads < 1:
        raise ValueError(f"a kernel needs at least 1 thread for run_in_thread, "
                         f"not {max_threads}")
    return max_threads


class Call:
    """One blocking call: for which task, and how it ended.

    Attributes:
        task: The task waiting for it; None once that task stopped waiting.
        result, error: What the call returned, or raised (set by the worker).
        finished: Whether the worker has put it on the finished list.
        abandoned: Whether its task stopped waiting while it ran: its thread then ends.
    """

    __slots__ = ("fn", "args", "task", "result", "error", "finished", "abandoned")

    def __init__(self, task, fn, args):
        self.fn, self.args, self.task = fn, args, task
        self.result = self.error = None
        self.finished = self.abandoned = False

    def __str__(self):
        return getattr(self.fn, "__qualname__", repr(self.fn))


class ThreadPool:
    """Worker threads for the blocking calls of one kernel's tasks.

    Invariant: ``_running`` calls, at most ``max_threads``, are counted for their
    tasks: in the workers' inbox, being made, or finished and not yet collected; there
    are ``_workers`` threads to make them (never fewer than ``_running``), besides the
    threads of abandoned calls, which end with their call. ``_waiting`` holds the next
    calls in order, and is empty while fewer than ``max_threads`` run. A worker and the
    kernel share only ``_finished`` and the calls' ``finished`` and ``abandoned``, under
    ``_lock``.

    Args:
        max_threads: How many calls may run at once.
        wake_kernel: Makes the kernel's poll return (the self-pipe's ``wake``); a worker
            calls it once it has put its call on the finished list.
        wake_task: ``wake_task(task, value, exc)``, the kernel's way to make a task ready.
        report_error: ``report_error(exception, context)``, for an abandoned call's error.
    """

    def __init__(self, max_threads, wake_kernel, wake_task, report_error):
        self.max_threads = pool_size(max_threads)
        self._wake_kernel, self._wake_task = wake_kernel, wake_task
        self._report_error = report_error
        self._workers = 0
        self._made = 0  # threads made so far, to name the next one
        self._inbox = queue.SimpleQueue()  # calls for the workers, and None: "stop"
        self._waiting = collections.deque()
        self._running = 0
        self._lock = threading.Lock()
        self._finished = []
        self._closed = False

    def __bool__(self):
        """Whether a task waits for a call (so a thread may yet wake the kernel)."""
        return self._running > 0 or bool(self._waiting)

    def submit(self, task, fn, args):
        """Start ``fn(*args)`` for ``task`` now, or as soon as a thread is free; returns its Call."""
        call = Call(task, fn, args)
        if self._running < self.max_threads:
            self._start(call)
        else:
            self._waiting.append(call)
        return call

    def abandon(self, call):
        """``call``'s task stopped waiting for it (a cancel, a deadline): a call that has
        not started never will; one that runs goes on for nobody, and frees its place."""
        try:
            self._waiting.remove(call)
            return
        except ValueError:
            pass  # it has started
        with self._lock:
            call.task = None
            if call.finished:
                return  # collect() drops it, and counts it out
            call.abandoned = True  # its thread ends after it
        self._running -= 1
        self._workers -= 1
        self._start_waiting()

    def collect(self):
        """Wake the task of each finished call, and start the calls waiting for a thread.

        The kernel calls it after draining its self-pipe, so that a call finished after
        this look writes a byte that the next poll sees.
        """
        with self._lock:
            finished, self._finished = self._finished, []
        for call in finished:
            if not call.abandoned:
                self._running -= 1
            if call.task is not None:
                self._wake_task(call.task, call.result, call.error)
            elif isinstance(call.error, Exception):
                self._report_error(call.error, f"run_in_thread({call}), whose task had "
                                               f"stopped waiting for it")
            call.task = call.result = call.error = None
        self._start_waiting()

    def close(self):
        """Let the idle workers end; a worker still in a call ends after it, and what
        it finishes is no one's business any more."""
        with self._lock:
            self._closed = True
            finished, self._finished = self._finished, []
        for call in finished:  # abandoned, since run() ended: only an error is news
            if isinstance(call.error, Exception):
                self._report_error(call.error, f"run_in_thread({call}), whose task had "
                                               f"stopped waiting for it")
        self._waiting.clear()
        for _ in range(self._workers):
            self._inbox.put(None)  # one "stop" for each worker
        self._workers = 0

    def _start_waiting(self):
        while self._waiting and self._running < self.max_threads:
            self._start(self._waiting.popleft())

    def _start(self, call):
        self._running += 1
        if self._running > self._workers:  # every thread has a call: one more
            self._made += 1
            with signals_for_the_main_thread_only():
                threading.Thread(target=self._work, daemon=True,
                                 name=f"coro-kernel-worker-{self._made}").start()
            self._workers += 1
        self._inbox.put(call)

    def _work(self):
        """A worker: take a call, make it, put it on the finished list, wake the kernel."""
        while True:
            call = self._inbox.get()
            if call is None:
                return
            try:
                call.result = call.fn(*call.args)
            except BaseException as error:  # SystemExit too: the waiting task raises it
                call.error = error
            with self._lock:
                closed = self._closed
                if not closed:
                    call.finished = True
                    self._finished.append(call)
            if not closed:
                self._wake_kernel()
            elif isinstance(call.error, Exception):  # the kernel is gone: say it here
                self._report_error(call.error, f"run_in_thread({call}), which ended after "
                                               f"its kernel closed")
            if closed or call.abandoned:
                return
