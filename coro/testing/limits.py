"""Running a test's asynchronous code to its end, within a time limit.

A test of asynchronous code waits for something: a Deferred to fire, a task to end.
When that never comes, the test must not hang the run; it must fail, and say what it
was still waiting for. Two things can go wrong, and each gets its own message:

- *nothing can ever happen*: a kernel whose every task waits on another, with no socket,
  timer or thread to wake any of them, says so itself
  (:class:`~coro.kernel.loop.Deadlock`), at once;
- *something could happen, but does not*: a Deferred that never fires, a task reading a
  socket that never speaks, or, on a fake clock, a task that sleeps in a loop for ever,
  while the clock jumps from one wake-up to the next. Only a limit in real time catches
  those: simulated time is free, and a 600-second sleep on a fake clock takes no time.

A reactor measures the limit itself, with a timer that stops it. A kernel has no public
way to be stopped from outside its tasks, and a timer in it would change what it does
(a fake clock jumps to the next timer, and a kernel with a timer set never finds a
deadlock). So a :class:`WatchedKernel` watches from the one place every turn of its
loop goes through: the multiplexer it polls. The watchdog shortens each poll to the
time left, and when that is up, it notes what every task waits on and stops the run as
Ctrl-C would, every task cancelled.
"""

import inspect
import linecache
import time

from coro.deferred.failure import Failure
from coro.kernel.loop import Deadlock, Kernel
from coro.kernel.traps import current_task
from coro.testing.leftovers import running_tasks
from coro.testing.wrapped import WrappedMultiplexer


class Hung(Exception):
    """The test cannot end, or did not end within its limit; the message says on what it waits."""


class LeftBehind(Exception):
    """The test ended and left something running (the message says what)."""


def run_until_fired(reactor, deferred, *, seconds=None, body=None):
    """Run ``reactor`` until ``deferred`` fires; return its result, or raise its failure's.

    The result becomes the caller's: a failure counts as handled.

    Args:
        seconds: The limit, in the reactor's time; None for none.
        body: The generator or coroutine whose outcome ``deferred`` is, if any, so that
            a timeout can say where it waits.

    Raises:
        Hung: ``deferred`` had not fired when ``seconds`` passed.
        KeyboardInterrupt: a signal stopped the reactor.
    """
    __tracebackhide__ = True  # pytest leaves this frame out of a failed test's report
    outcome = []
    deferred.add_both(outcome.append)
    if not outcome:
        deferred.add_callback(lambda _: reactor.stop())
        expired = []
        alarm = None if seconds is None else reactor.call_later(seconds, _expire, reactor, expired)
        try:
            while not (outcome or expired):  # a test's own stop() does not end the wait
                reactor.run()
                if reactor.stopped_by is not None:
                    raise KeyboardInterrupt
        finally:
            if alarm is not None:
                alarm.cancel()
        if not outcome and body is None:
            raise Hung(f"the Deferred the test returned did not fire within {seconds:g}s: "
                       f"{deferred!r}")
        if not outcome:
            raise Hung(f"{body.__qualname__} did not end within {seconds:g}s; it waits at "
                       f"{_where(body)}, on {_awaited(deferred)!r}")
    if isinstance(outcome[0], Failure):
        raise outcome[0].value.with_traceback(outcome[0].tb)
    return outcome[0]


def _expire(reactor, expired):
    expired.append(True)
    reactor.stop()


def _awaited(deferred):
    """The Deferred that the generator or coroutine behind ``deferred`` waits on, which
    only the driver running it knows (:mod:`coro.deferred.inline`)."""
    return getattr(getattr(deferred, "_driver", None), "waiting_on", None)


def _where(body):
    """Where a suspended generator or coroutine waits: file, line, and the line itself."""
    frame = body.gi_frame if inspect.isgenerator(body) else body.cr_frame
    if frame is None:
        return "its end"
    code = frame.f_code
    line = linecache.getline(code.co_filename, frame.f_lineno).strip()
    return f"{code.co_filename}:{frame.f_lineno}: {line}"


class WatchedKernel(Kernel):
    """A :class:`~coro.kernel.loop.Kernel` whose :meth:`run_test` has a time limit in real time.

    It takes the Kernel's arguments; ``handle_signals`` is off by default, as a test
    runner handles Ctrl-C itself.
    """

    def __init__(self, multiplexer=None, *, handle_signals=False, **options):
        watchdog = _Watchdog(multiplexer)
        try:
            super().__init__(watchdog, handle_signals=handle_signals, **options)
        except BaseException:  # the kernel refused its options: close what was made here
            if multiplexer is None:
                watchdog.close()
            raise
        self._watchdog = watchdog
        self._stuck = None

    def run_test(self, body, *, seconds=None):
        """Run ``body``, a test's generator or coroutine, as the main task; return its result.

        The main task bears the test's name. When it ends, no task of its may still run.

        Args:
            seconds: The limit in real time, whatever the kernel's clock; None for none.

        Raises:
            Hung: every task waits and nothing can wake them, or ``seconds`` passed
                (the tasks, and what each waited on, are named).
            LeftBehind: ``body`` ended with tasks still running (they were cancelled).
            Exception: what ``body`` raised.
        """
        name = getattr(body, "__qualname__", repr(body))
        self._stuck, started = None, self.clock.now()
        if seconds is not None:
            self._watchdog.arm(seconds, self._time_is_up)
        try:
            return self.run(_as_main(self, body, name))
        except Deadlock as deadlock:
            raise Hung(f"{name} can never end: {deadlock}") from None
        except KeyboardInterrupt:
            if self._stuck is None:
                raise  # a real Ctrl-C
            moved = self.clock.now() - started
            raise Hung(f"{name} did not end within {seconds:g}s, while the kernel's clock "
                       f"moved {moved:g}s; still running then: {self._stuck}") from None
        finally:
            self._watchdog.disarm()

    def _time_is_up(self, seconds):
        # In the loop's own thread, between two steps of a turn: every task is ready or
        # waits on one thing, and its repr says which. Then stop as Ctrl-C does.
        self._stuck = ", ".join(map(repr, running_tasks(self)))
        self.stopped_by = "the test's time limit"
        self._watchdog.arm(seconds, self._cleanup_is_stuck)

    def _cleanup_is_stuck(self, seconds):
        raise Hung(f"the test's tasks did not end within {seconds:g}s, and their cleanup did "
                   f"not end in as long again: {', '.join(map(repr, running_tasks(self)))}")


def _as_main(kernel, body, name):
    """Run ``body`` as the main task, under its own name, and leave no task running."""
    main = yield from current_task()
    main.name = name
    result = yield from (body.__await__() if inspect.iscoroutine(body) else body)
    left = running_tasks(kernel, besides=main)
    if left:
        raise LeftBehind(f"{name} ended with tasks still running (cancelled now): "
                         f"{', '.join(map(repr, left))}")
    return result


class _Watchdog(WrappedMultiplexer):
    """A multiplexer (it wraps one) that also keeps a limit in real time.

    Invariant: while armed, no poll sleeps past the deadline, and the first poll that
    ends after it calls ``on_expiry(seconds)`` once, in the loop's thread.
    """

    def __init__(self, multiplexer):
        super().__init__(multiplexer)
        self._deadline = self._seconds = self._on_expiry = None

    def arm(self, seconds, on_expiry):
        self._deadline, self._seconds = time.monotonic() + seconds, seconds
        self._on_expiry = on_expiry

    def disarm(self):
        self._deadline = self._on_expiry = None

    def poll(self, timeout=None):
        if self._deadline is None:
            return self.multiplexer.poll(timeout)
        left = max(self._deadline - time.monotonic(), 0)
        events = self.multiplexer.poll(left if timeout is None else min(timeout, left))
        if time.monotonic() >= self._deadline:
            on_expiry, self._deadline = self._on_expiry, None
            on_expiry(self._seconds)
        return events
