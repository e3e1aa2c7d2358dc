"""The kernel: a scheduler of tasks that are plain generators and coroutines.

Chapter 14's round robin could only take turns; this loop can also wait. A task runs
until it yields a *trap* (:mod:`coro.kernel.traps`), a request the kernel looks up in a table:
wait for a socket, sleep, spawn, join, cancel. The task is then suspended until the
kernel can answer, and the loop goes on with the next ready task. User code never
registers a callback: the waiting is written where it happens, ``data = yield from
sock.recv(1024)``, and the kernel is the only thing that calls anyone back.

Each turn of the loop has the reactor's three steps, on the same multiplexers and
clocks: work out how long the poll may sleep; poll, and make ready every task whose
socket is ready; make ready the tasks whose timers are due, then step each task that
was ready when the turn began. Which task waits on which descriptor is kept by
:class:`~coro.kernel.io_waits.IOWaits`, and which task waits for which other tasks by
:class:`~coro.kernel.task_waits.TaskWaits`.
"""

import collections
import inspect
import sys

from coro.io import multiplexer as _multiplexer
from coro.io.clock import MonotonicClock
from coro.io.multiplexer import READ
from coro.io.report import print_error
from coro.io.self_pipe import SelfPipe
from coro.io.timers import TimerHeap
from coro.kernel import traps
from coro.kernel.io_waits import IOWaits
from coro.kernel.task import (SUSPEND, Alarm, Deadline, DeadlineExpired, Task, TaskCancelled,
                              TaskState, Waiting)
from coro.kernel.task_waits import TaskWaits
from coro.kernel.threads import ThreadPool, pool_size

_READY, _WAITING, _DONE = TaskState.READY, TaskState.WAITING, TaskState.DONE


class Kernel:
    """Runs tasks over a multiplexer and a clock, both passed in.

    Invariant: every live task is in ``_tasks``; a READY one is in the ready queue
    exactly once; a WAITING one is in exactly one waiting place (a reader or writer
    slot, a timer, the joiners of the tasks it waits for, once in each, a wait queue,
    or a call of the thread pool). A descriptor has at most one reading and one
    writing task.

    Args:
        multiplexer: A :class:`coro.io.multiplexer.Multiplexer`; the best backend by default.
        clock: An object with ``now()``. With a :class:`~coro.io.clock.FakeClock` the kernel
            never sleeps for a timer: when no task is ready and no socket is, it moves
            the clock on to the next timer, so a test of a 60-second sleep takes no time
            (it does not wait for bytes still in flight: pair it with socketpairs).
        report_error: ``report_error(exception, context)``, for errors nobody handled
            (a task that failed and was never joined); stderr by default.
        handle_signals: Whether :meth:`run`, in the main thread, cancels every task and
            raises :exc:`KeyboardInterrupt` on SIGINT or SIGTERM.
        slow_task: A debug aid: report each task step that keeps the loop for longer
            than this many seconds (a blocking call in a task stops every task).
        warn: ``warn(message)`` reports a slow step; stderr by default.
        max_threads: How many :func:`~coro.kernel.traps.run_in_thread` calls may run at
            once (as many threads, made as they are needed); the next wait their turn.
    """

    def __init__(self, multiplexer=None, *, clock=None, report_error=None,
                 handle_signals=True, slow_task=None, warn=None, max_threads=None):
        max_threads = pool_size(max_threads)  # a wrong size is refused before anything opens
        self.clock = MonotonicClock() if clock is None else clock
        self._now = self.clock.now
        self._jump = getattr(self.clock, "advance", None)
        self._multiplexer = _multiplexer.create() if multiplexer is None else multiplexer
        self.report_error = report_error or print_error
        self.slow_task, self.warn = slow_task, warn or _print_warning
        self._handle_signals = handle_signals
        self._ready = collections.deque()
        self._tasks = set()
        self._alarms = TimerHeap()  # every sleep and deadline, as Alarms
        self._io = IOWaits(self._multiplexer, self._checkpoint, self._wake)
        self._task_waits = TaskWaits(self._suspend, self._wake, self._request_cancel)
        self._running = self._closed = False
        self.stopped_by = None
        self._traps = {
            traps.WaitReadable: self._io.wait,
            traps.WaitWritable: self._io.wait,
            traps.Sleep: self._trap_sleep,
            traps.Spawn: self._trap_spawn,
            traps.Join: self._task_waits.join,
            traps.WaitAny: self._task_waits.wait_any,
            traps.Cancel: self._task_waits.cancel,
            traps.CurrentTask: self._trap_current_task,
            traps.AddDeadline: self._trap_add_deadline,
            traps.Park: self._trap_park,
            traps.RunInThread: self._trap_run_in_thread,
        }
        self._self_pipe = SelfPipe()  # Ctrl-C, and a thread's finished call, wake the poll
        self._wake_fd = self._self_pipe.fileno()
        self._threads = ThreadPool(max_threads, self._self_pipe.wake, self._wake,
                                   self.report_error)
        try:
            self._multiplexer.register(self._wake_fd, READ)
        except BaseException:  # select cannot watch it, say: leave nothing open
            self._self_pipe.close()
            raise

    def pending_timers(self):
        """How many timers (sleeps and deadlines) are set and not cancelled."""
        return len(self._alarms)

    # -- running --------------------------------------------------------------

    def run(self, main):
        """Run ``main`` (a generator or coroutine) and every task it spawns; return its result.

        When ``main`` ends, the tasks still running are cancelled, and their ``finally``
        blocks run, before this returns. A second Ctrl-C during that cleanup is a plain
        :exc:`KeyboardInterrupt`: a task that will not stop cannot hold the program.

        Raises:
            Exception: what ``main`` raised.
            KeyboardInterrupt: after SIGINT or SIGTERM, once every task was cancelled.
        """
        if self._running or self._closed:
            raise RuntimeError("the kernel is already running, or closed")
        self.stopped_by = None
        # Handlers first: a Ctrl-C before them finds the kernel not running, so it can close.
        restore_signals = self._install_signal_handlers()
        try:
            self._running = True
            try:
                main_task = self._new_task(main)
                while main_task.state is not _DONE and self.stopped_by is None:
                    self._tick()
            except Deadlock:
                self._cancel_the_rest()  # their cleanup runs now, not in the collector
                raise
            finally:
                restore_signals()
            self._cancel_the_rest()
        finally:
            self._running = False
        if self.stopped_by is not None:
            main_task.exception()
            raise KeyboardInterrupt
        return main_task.result()

    def _tick(self):
        # 1. How long may the poll sleep?
        ready, next_alarm = self._ready, self._alarms.next_time()
        if ready:
            timeout = 0
        elif next_alarm is not None:
            timeout = 0 if self._jump is not None else max(next_alarm - self._now(), 0)
        elif self._io or self._threads:
            timeout = None
        else:
            raise Deadlock(f"every task waits on another and nothing can wake them: "
                           f"{sorted(self._tasks, key=lambda t: t.id)}")
        # 2. Poll, and make ready the tasks whose descriptors are.
        events = self._io.poll(timeout)
        if events:
            if (self._wake_fd, READ) in events:  # a signal (run() sees stopped_by), or a thread
                self._self_pipe.drain()
                self._threads.collect()
            self._io.collect(events, ready)
        # 3. Make ready the tasks whose timers are due; then step each task ready now.
        if next_alarm is not None:
            if not events and not ready and self._jump is not None:
                self._jump(max(next_alarm - self._now(), 0))  # a fake clock: no sleeping
            self._fire_due_alarms()
        if self.slow_task is None:
            step, next_task = self._step, ready.popleft
            for _ in range(len(ready)):
                step(next_task())
        else:
            for _ in range(len(ready)):
                task, start = ready.popleft(), self._now()
                self._step(task)
                elapsed = self._now() - start
                if elapsed > self.slow_task:
                    self.warn(f"task {task.id} ({task.name}) kept the kernel for {elapsed:.3g}s "
                              f"without a trap (more than {self.slow_task:g}s): "
                              f"a blocking call in a task stops every task")

    def _step(self, task):
        """Resume ``task`` and run it until it waits or ends: the only place tasks run."""
        value, exc = task._value, task._exc
        if value is not None or exc is not None:
            task._value = task._exc = None  # do not keep them alive
        send, handlers = task._send, self._traps
        while True:
            try:
                trap = send(value) if exc is None else task.coro.throw(exc)
            except StopIteration as stop:
                self._finish(task, stop.value, None)
                return
            except BaseException as error:
                # Not this frame in its traceback: it refers to the task, and would keep a
                # task that nobody joined alive, unreported, until the cycle collector ran.
                error.__traceback__ = error.__traceback__.tb_next
                self._finish(task, None, error)
                if not isinstance(error, (Exception, TaskCancelled)):
                    task._retrieved = True  # it goes on up, out of run(): not lost
                    raise  # KeyboardInterrupt, SystemExit: stop the kernel itself
                return
            handler = handlers.get(type(trap))
            if handler is None:
                value, exc = None, traps.not_a_trap(trap)
                continue
            try:
                value = handler(task, trap)
            except BaseException as error:  # thrown in at the yield, where the task asked
                value, exc = None, error
                continue
            if value is SUSPEND:
                return
            exc = None

    def _finish(self, task, result, exception):
        task.state, task._result, task._exception = _DONE, result, exception
        task._send = task._value = task._exc = None
        self._tasks.discard(task)
        for deadline in task._deadlines:
            deadline._alarm.cancel()
        self._task_waits.ended(task)

    def _new_task(self, coro):
        if not (inspect.isgenerator(coro) or inspect.iscoroutine(coro)):
            hint = " (call it: spawn(f(...)), not spawn(f))" if callable(coro) else ""
            raise TypeError(f"a task runs a generator or a coroutine, not {coro!r}{hint}")
        task = Task(coro, self.report_error)
        self._tasks.add(task)
        self._ready.append(task)
        return task

    def _cancel_the_rest(self):
        while self._tasks:
            for task in sorted(self._tasks, key=lambda t: t.id):  # in order: a run replays
                if task.state is _WAITING:
                    self._request_cancel(task)
            self._tick()

    # -- waking and waiting ---------------------------------------------------

    def _wake(self, task, value=None, exc=None):
        task.state, task._value, task._exc = _READY, value, exc
        self._ready.append(task)

    def _suspend(self, task, kind, arg):
        """A blocking trap's first step: check the task may wait, then mark it waiting."""
        if kind is not Waiting.CANCELLED_TASK:  # cleanup after a cancel is never interrupted
            self._checkpoint(task)
        task.state, task._wait_kind, task._wait_arg = _WAITING, kind, arg

    def _checkpoint(self, task):
        """Raise a pending cancel, or a passed deadline, at the wait the task asks for."""
        if task.cancel_pending:
            task.cancel_pending = False
            raise self._deliver_cancel(task)
        if task._deadlines:
            now = self._now()
            for deadline in task._deadlines:  # outermost first: it wins a tie
                if deadline.when <= now:
                    raise DeadlineExpired(deadline)

    def _undo_wait(self, task):
        """Take a waiting task out of the place it waits in."""
        kind, arg = task._wait_kind, task._wait_arg
        if kind is Waiting.READABLE or kind is Waiting.WRITABLE:
            self._io.undo(task)
        elif kind is Waiting.SLEEP:
            arg.cancel()
        elif kind is Waiting.PARKED:
            arg._remove(task)
        elif kind is Waiting.THREAD:
            self._threads.abandon(arg)
        else:
            self._task_waits.undo(task)

    def _request_cancel(self, task):
        """Cancel ``task``, once: a task already cancelled is left to finish its cleanup.

        A waiting task is woken with the cancel at once; any other (one that runs, is
        ready, or waits for a task it cancelled) gets it at its next wait.
        """
        if task.cancel_requested:
            return
        task.cancel_requested = True
        if task.state is _WAITING and task._wait_kind is not Waiting.CANCELLED_TASK:
            self._undo_wait(task)
            self._wake(task, exc=self._deliver_cancel(task))
        else:
            task.cancel_pending = True

    def _deliver_cancel(self, task):
        """The :exc:`TaskCancelled` to raise in ``task`` now; its deadlines end here.

        The cancel ends the blocks those deadlines bound, so a deadline set before it
        must neither cut its cleanup short nor turn it into a TimeoutError on the way
        out. A cleanup that needs a limit sets its own with ``timeout_after``.
        """
        for deadline in task._deadlines:
            deadline._alarm.cancel()
        task._deadlines.clear()
        return TaskCancelled()

    # -- the traps --------------------------------------------------------------

    def _trap_sleep(self, task, trap):
        self._suspend(task, Waiting.SLEEP, None)
        if trap.seconds <= 0:
            self._wake(task)  # at the back of the queue: it runs in the next turn
        else:
            task._wait_arg = self._alarms.push(Alarm(self._now() + trap.seconds, task))
        return SUSPEND

    def _trap_spawn(self, task, trap):
        return self._new_task(trap.coro)

    def _trap_park(self, task, trap):
        self._suspend(task, Waiting.PARKED, trap.queue)
        trap.queue._add(task, trap.payload, self._wake)
        return SUSPEND

    def _trap_run_in_thread(self, task, trap):
        self._suspend(task, Waiting.THREAD, None)
        task._wait_arg = self._threads.submit(task, trap.fn, trap.args)
        return SUSPEND

    def _trap_current_task(self, task, trap):
        return task

    def _trap_add_deadline(self, task, trap):
        when = self._now() + trap.seconds
        deadline = Deadline(when, trap.seconds, task._deadlines, None)
        deadline._alarm = self._alarms.push(Alarm(when, task, deadline))
        task._deadlines.append(deadline)
        return deadline

    # -- alarms ---------------------------------------------------------------

    def _fire_due_alarms(self):
        now = self._now()
        for alarm in self._alarms.pop_due(now):
            if alarm.cancelled:  # by one that went off before it, in this same walk
                continue
            task = alarm.task
            if alarm.deadline is None:
                self._wake(task)  # a sleep has ended
            elif task.state is _WAITING and task._wait_kind is not Waiting.CANCELLED_TASK:
                self._undo_wait(task)
                expired = next(d for d in task._deadlines if d.when <= now)  # outermost
                self._wake(task, exc=DeadlineExpired(expired))
            # else the task is running or ready: its next wait raises, in _checkpoint

    # -- signals, closing ---------------------------------------------------------

    def _install_signal_handlers(self):
        if not self._handle_signals:
            return lambda: None
        return self._self_pipe.catch_stop_signals(self._on_stop_signal)

    def _on_stop_signal(self, signum):
        self.stopped_by = signum

    def close(self):
        """Release the multiplexer and the wake-up sockets."""
        if self._running:
            raise RuntimeError("a running kernel cannot be closed")
        if not self._closed:
            self._closed = True
            self._threads.close()
            self._multiplexer.unregister(self._wake_fd)
            self._self_pipe.close()
            self._io.close()
            self._multiplexer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class Deadlock(RuntimeError):
    """Every task waits, and nothing (no socket, timer or thread) can wake any of them."""


def _print_warning(message):
    print(f"Warning: {message}", file=sys.stderr, flush=True)


def run(main, *, multiplexer=None, clock=None, **options):
    """Run ``main`` on a new :class:`Kernel`, close it, and return ``main``'s result."""
    with Kernel(multiplexer, clock=clock, **options) as kernel:
        return kernel.run(main)
