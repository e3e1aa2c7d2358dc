"""The reactor: chapter 5's loop, pulled out of the client and given a name.

A program built on a reactor never waits itself. It tells the reactor what it is
interested in (this socket is readable, these seconds have passed) and which
function to call then, and returns. The reactor does the waiting for everyone, in
one place, and calls these *event handlers* back; they never call the loop.

Each turn of the loop, a *tick*, has three steps:

1. work out how long the poll may sleep: not at all if something is ready to run,
   else until the nearest timer is due, else for ever;
2. poll the multiplexer, and queue the handler of each descriptor that is ready;
3. queue the timers that are due, then run what was queued when the tick began.

Callbacks scheduled while step 3 runs wait for the next tick, after the next poll,
so a callback that keeps scheduling itself cannot starve the sockets.
"""

import collections
import math

from coro.io import multiplexer as _multiplexer
from coro.io.clock import MonotonicClock
from coro.io.multiplexer import READ, WRITE
from coro.io.report import print_error
from coro.io.self_pipe import SelfPipe
from coro.io.timers import TimerHeap
from coro.reactor.handles import Handle, Timer, describe


class Reactor:
    """An event loop over a multiplexer and a clock, both passed in.

    Invariants: a descriptor has at most one reader and one writer, and it is
    registered with the multiplexer for exactly the directions that have one. Timers
    sit in a heap ordered by ``(deadline, sequence)``, so equal deadlines fire in the
    order they were set. Exactly one place, :meth:`run_once`, calls callbacks.

    Args:
        multiplexer: A :class:`coro.io.multiplexer.Multiplexer`; the best backend of
            this system by default. The reactor owns it and closes it.
        clock: An object with ``now()``; a :class:`~coro.io.clock.MonotonicClock` by default.
        report_error: ``report_error(exception, context)`` is called with each
            exception a callback, or closing, raises; by default it prints the traceback.
        handle_signals: Whether :meth:`run`, in the main thread, stops on SIGINT
            (Ctrl-C) and SIGTERM instead of dying with a traceback.

    Attributes:
        stopped_by: The signal that stopped the last :meth:`run`, or None.
    """

    def __init__(self, multiplexer=None, *, clock=None, report_error=None,
                 handle_signals=True):
        # "is None", not "or": a multiplexer watching nothing has len() 0, so is false.
        self.clock = MonotonicClock() if clock is None else clock
        self._now = self.clock.now
        self._multiplexer = _multiplexer.create() if multiplexer is None else multiplexer
        self.report_error = report_error or print_error
        self._handle_signals = handle_signals
        self._ready = collections.deque()
        self._timers = TimerHeap()
        self._readers = {}  # fd -> Handle
        self._writers = {}
        self._when_running = []
        self._owned = {}  # resource -> a function that closes it
        self._running = self._stopping = self._closed = False
        self.stopped_by = None
        # The self-pipe: a signal or another thread writes a byte to it to wake the poll.
        self._self_pipe = SelfPipe()
        try:
            self.add_reader(self._self_pipe, self._self_pipe.drain)
        except BaseException:  # select cannot watch it, say: leave nothing open
            self._self_pipe.close()
            raise

    # -- scheduling -----------------------------------------------------------

    def time(self):
        """The reactor's idea of now, from its clock."""
        return self.clock.now()

    def call_soon(self, fn, *args):
        """Call ``fn(*args)`` in the next tick; returns a :class:`~coro.reactor.handles.Handle`."""
        handle = Handle(fn, args)
        self._ready.append(handle)
        return handle

    def call_soon_threadsafe(self, fn, *args):
        """Like :meth:`call_soon`, from any thread (or a signal handler): wakes the poll."""
        if self._closed:
            raise RuntimeError("the reactor is closed")
        handle = self.call_soon(fn, *args)
        self._wake_up()
        return handle

    def call_later(self, delay, fn, *args):
        """Call ``fn(*args)`` once ``delay`` seconds have passed; returns a
        :class:`~coro.reactor.handles.Timer`."""
        if math.isnan(delay):
            raise ValueError(f"a delay must be a number of seconds, not {delay!r}")
        return self._timers.push(Timer(fn, args, self._now() + delay))

    def call_at(self, when, fn, *args):
        """Call ``fn(*args)`` when the clock reads ``when`` or later."""
        return self._timers.push(Timer(fn, args, when))

    def call_when_running(self, fn, *args):
        """Call ``fn(*args)`` as soon as :meth:`run` starts (at once if it has)."""
        if self._running:
            self.call_soon(fn, *args)
        else:
            self._when_running.append(Handle(fn, args))

    def pending_timers(self):
        """How many timers are set and not cancelled."""
        return len(self._timers)

    # -- descriptors ----------------------------------------------------------

    def add_reader(self, fd, fn, *args):
        """Call ``fn(*args)`` each tick in which ``fd`` is readable."""
        self._add(self._readers, fd, "reader", fn, args)

    def add_writer(self, fd, fn, *args):
        """Call ``fn(*args)`` each tick in which ``fd`` is writable."""
        self._add(self._writers, fd, "writer", fn, args)

    def remove_reader(self, fd):
        """Stop watching ``fd`` for reading; returns whether it was watched.

        Call it before closing the descriptor: a closed descriptor cannot be
        unregistered, and its number will soon belong to another socket.
        """
        return self._remove(self._readers, fd)

    def remove_writer(self, fd):
        """Stop watching ``fd`` for writing; returns whether it was watched."""
        return self._remove(self._writers, fd)

    def _add(self, handlers, fd, role, fn, args):
        fd = _multiplexer._fileno(fd)
        if fd in handlers:
            raise ValueError(f"descriptor {fd} already has a {role}; remove it first")
        handlers[fd] = Handle(fn, args)
        try:
            self._watch(fd)
        except BaseException:
            del handlers[fd]
            raise

    def _remove(self, handlers, fd):
        fd = _multiplexer._fileno(fd)
        handle = handlers.pop(fd, None)
        if handle is None:
            return False
        handle.cancel()  # it may already be queued in this tick: it must not run
        self._watch(fd)
        return True

    def _watch(self, fd):
        """Tell the multiplexer what ``fd`` is now watched for."""
        interest = (READ if fd in self._readers else 0) | (WRITE if fd in self._writers else 0)
        if fd in self._multiplexer:
            if interest:
                self._multiplexer.modify(fd, interest)
            else:
                self._multiplexer.unregister(fd)
        elif interest:
            self._multiplexer.register(fd, interest)

    # -- the loop -------------------------------------------------------------

    def run(self):
        """Run ticks until :meth:`stop` (or SIGINT, SIGTERM) is called.

        Raises:
            RuntimeError: if the reactor is already running, or closed.
        """
        if self._running:
            raise RuntimeError("the reactor is already running")
        if self._closed:
            raise RuntimeError("the reactor is closed")
        # Handlers first: a Ctrl-C before them finds the reactor not running, so it can
        # close; one just after them is kept in stopped_by, which is cleared before.
        self.stopped_by = None
        restore_signals = self._install_signal_handlers()
        try:
            self._running = True
            self._ready.extend(self._when_running)
            self._when_running.clear()
            self.run_once()  # at least one tick: a stop() that came before run() gets one
            while not self._stopping:
                self.run_once()
        finally:
            self._running = self._stopping = False  # a stop() is used up by one run
            restore_signals()

    def stop(self):
        """Make :meth:`run` return at the end of the current tick. Any thread may call it.

        A stop before :meth:`run` is kept, and that run returns after one tick, as in
        asyncio (Twisted raises; yet work that may end at once can end before ``run``).
        """
        self._stopping = True
        self._wake_up()

    def run_once(self, timeout=None):
        """One tick: work out the timeout, poll, run what was ready when the tick began.

        Args:
            timeout: The longest the poll may sleep, in seconds; ``None`` lets the
                timers decide. A test with a fake clock passes 0.
        """
        # 1. How long may the poll sleep?
        if self._ready or self._stopping:
            timeout = 0
        elif self._timers:
            until_due = max(self._timers.next_time() - self._now(), 0)
            timeout = until_due if timeout is None else min(timeout, until_due)
        # 2. Poll, and queue the handlers of the descriptors that are ready.
        ready, readers, writers = self._ready, self._readers, self._writers
        for fd, interest in self._multiplexer.poll(timeout):
            if interest & READ and fd in readers:
                ready.append(readers[fd])
            if interest & WRITE and fd in writers:
                ready.append(writers[fd])
        # 3. Queue the timers that are due, then run what is queued now, and no more.
        ready.extend(self._timers.pop_due(self._now()))
        for _ in range(len(ready)):
            handle = ready.popleft()
            if handle.cancelled:
                continue
            try:
                handle.fn(*handle.args)
            except Exception as exc:  # reported, never swallowed; the loop goes on
                self.report_error(exc, f"callback {describe(handle.fn)}")

    # -- waking up, signals, closing ------------------------------------------

    def _wake_up(self):
        self._self_pipe.wake()

    def _install_signal_handlers(self):
        """Stop on SIGINT and SIGTERM while running: the handler only sets a flag (it may
        run in the middle of a callback), and the self-pipe wakes the poll. Returns the undo."""
        if not self._handle_signals:
            return lambda: None
        return self._self_pipe.catch_stop_signals(self._on_stop_signal)

    def _on_stop_signal(self, signum):
        self.stopped_by = signum
        self._stopping = True

    def own(self, resource, close):
        """Have :meth:`close` call ``close()`` for ``resource`` unless it is disowned first."""
        self._owned[resource] = close

    def disown(self, resource):
        """``resource`` closed itself: the reactor no longer needs to."""
        self._owned.pop(resource, None)

    def close(self):
        """Close everything the reactor owns, let their last callbacks run, release it.

        An error closing one resource is reported, and closing goes on. A BaseException
        (KeyboardInterrupt) skips the callbacks and propagates once the rest is closed.

        Raises:
            RuntimeError: if the reactor is running.
        """
        if self._running:
            raise RuntimeError("a running reactor cannot be closed; stop it first")
        if self._closed:
            return
        try:
            self._close_owned()
            self.run_once(0)  # the callbacks that closing scheduled (connection_lost, say)
        finally:
            self._closed = True
            try:
                self._multiplexer.close()  # first, so the self-pipe is closed unregistered
            finally:
                self._self_pipe.close()

    def _close_owned(self):
        while self._owned:
            resource, close = self._owned.popitem()
            try:
                close()
            except Exception as exc:  # reported; the others are closed all the same
                self.report_error(exc, f"closing {resource!r} with {describe(close)}")
            except BaseException:
                self._close_owned()  # the rest first, then it goes on up
                raise

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
