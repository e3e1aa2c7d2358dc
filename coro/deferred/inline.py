"""Chapter 15: inline callbacks, code that waits for Deferreds as if it blocked.

Chapter 12's client says "download, then transform, and keep the poem if that fails"
in three functions: a callback that starts the transform, an errback that keeps the
poem, and the chain that joins them. Chapter 14's generators can stop in the middle
of a function and be resumed later with a value, or with an exception. Put the two
together: a generator *yields* a Deferred where it wants to wait, and a driver adds
to that Deferred a callback that resumes the generator with the result, or throws
the failure in at the ``yield``:

>>> from coro.deferred.deferred import Deferred
>>> from coro.deferred.inline import inline_callbacks
>>> @inline_callbacks
... def shout(d):
...     text = yield d
...     return text.upper()
>>> d = Deferred()
>>> shouted = shout(d)  # runs up to its first yield, and waits there
>>> _ = shouted.add_callback(print)
>>> d.callback("tyger tyger")
TYGER TYGER

The function reads from top to bottom, with ``try``/``except`` for errors, and
still runs on the reactor, one step per event, without threads. A native coroutine
(``async def``) can do the same with ``await``, run by :func:`ensure_deferred`.

What it still lacks: the reactor and the Deferreds are still underneath, and every
wait is a Deferred with its chain. Chapter 16 drops both: a kernel whose tasks are
generators, and where waiting is a request to the kernel.
"""

import collections
import functools
import inspect
import threading

from coro.deferred.deferred import Deferred
from coro.deferred.failure import Failure


def inline_callbacks(genfunc):
    """Decorate a generator function so that it can wait for Deferreds by yielding them.

    Calling the decorated function runs the generator at once, up to its first wait,
    and returns a Deferred of its outcome. Inside it:

    - ``result = yield d`` waits for the Deferred ``d``: its result is sent in, or its
      failure's exception is raised at the ``yield``, with its traceback. ``d`` is
      used up (its result is None afterwards), and a failure it had counts as handled;
    - ``yield`` of anything that is not a Deferred gives it straight back;
    - ``return value`` fires the returned Deferred with ``value``; an exception that
      escapes the generator fails it, with the exception's traceback.

    Cancelling the returned Deferred cancels the Deferred the generator waits on, and
    the generator gets what that one fires with at its ``yield``: usually a
    :exc:`~coro.deferred.deferred.CancelledError`, which it may catch, to return a
    fallback or wait for some cleanup. The returned Deferred fires when it ends.

    Raises:
        TypeError: ``genfunc`` is not a generator function.
    """
    if not inspect.isgeneratorfunction(genfunc):
        if inspect.iscoroutinefunction(genfunc):
            raise TypeError(f"inline_callbacks takes a generator function, and "
                            f"{genfunc.__qualname__} is an 'async def' function: call it and "
                            f"run what it returns with ensure_deferred() instead")
        name = getattr(genfunc, "__qualname__", repr(genfunc))
        raise TypeError(f"inline_callbacks takes a generator function, and {name} is not "
                        f"one: did you forget a yield?")

    @functools.wraps(genfunc)
    def start(*args, **kwargs):
        return _Driver(genfunc(*args, **kwargs)).start()

    return start


def ensure_deferred(coro):
    """Run the native coroutine ``coro`` (what an ``async def`` function returns) over
    Deferreds, and return a Deferred of its outcome.

    Inside it, ``await d`` on a Deferred waits for it as ``yield d`` does under
    :func:`inline_callbacks`; the same driver runs both. Awaiting anything else that
    suspends (an asyncio future, say) raises :exc:`TypeError` at the ``await``: this
    driver knows nothing of other loops.

    Args:
        coro: A coroutine, or a Deferred, which is returned as it is.

    Raises:
        TypeError: ``coro`` is neither.
    """
    if isinstance(coro, Deferred):
        return coro
    if inspect.iscoroutine(coro):
        return _Driver(coro, only_deferreds=True).start()
    if inspect.iscoroutinefunction(coro):
        raise TypeError(f"ensure_deferred takes a coroutine, and {coro.__qualname__} is a "
                        f"coroutine function: call it, and pass what it returns")
    if inspect.isgenerator(coro):
        raise TypeError("ensure_deferred takes a coroutine, not a generator: decorate the "
                        "generator function with @inline_callbacks instead")
    raise TypeError(f"ensure_deferred takes a coroutine or a Deferred, not {coro!r}")


class _Nothing:
    def __repr__(self):
        return "<nothing yet>"


_NOTHING = _Nothing()


class _Driver:
    """Runs one generator (or coroutine) over Deferreds and fires ``deferred`` with how
    it ended.

    The generator is always in one of three states: running (in :meth:`_run`), waiting
    on exactly one Deferred that had not fired (``waiting_on``), or finished, when
    ``deferred`` is None (fired, or handed over to be fired). Only the Deferred it
    waits on resumes it: a cancel, too, reaches it through that one.
    """

    def __init__(self, gen, *, only_deferreds=False):
        self.gen = gen
        self.only_deferreds = only_deferreds
        self.deferred = _GeneratorDeferred(self)
        self.waiting_on = None
        self._taking = False  # inside add_both: a result that comes now is the loop's
        self._taken = _NOTHING

    def start(self):
        deferred = self.deferred
        self._run(None)
        return deferred

    # The loop. Each turn sends a result in (or throws a failure in) and looks at what
    # the generator yielded. A Deferred that has fired already gives its result at once,
    # and the loop goes round again: ten thousand ready yields cost one stack frame, not
    # ten thousand. Only a Deferred that has not fired ends the loop; its callback,
    # _resume, starts a new one when it fires.

    def _run(self, result, resumed_by=None):
        while True:
            try:
                if isinstance(result, Failure):
                    yielded = self.gen.throw(result.value.with_traceback(result.tb))
                else:
                    yielded = self.gen.send(result)
            except StopIteration as stop:
                self._finish(stop.value, resumed_by)
                return
            except Exception:  # noqa: BLE001 - the generator's error: a failure
                self._finish(Failure(), resumed_by)
                return
            if not isinstance(yielded, Deferred):
                result = self._not_a_deferred(yielded)
                continue
            self._taking = True
            try:
                yielded.add_both(self._resume)
            finally:
                self._taking = False
            if self._taken is _NOTHING:
                self.waiting_on = yielded
                return  # it has not fired: _resume goes on from here when it does
            result, self._taken = self._taken, _NOTHING

    def _resume(self, result):
        """The last callback of the Deferred the generator waits on."""
        if self._taking:
            self._taken = result  # it had fired already: the loop that yielded it goes on
        else:
            resumed_by, self.waiting_on = self.waiting_on, None
            self._run(result, resumed_by)
        return None  # the result is the generator's now; a failure counts as handled

    def _not_a_deferred(self, yielded):
        if not self.only_deferreds:
            return yielded  # inline_callbacks sends it straight back, as Twisted's does
        return Failure(TypeError(
            f"a coroutine run by ensure_deferred can await Deferreds only, and this one "
            f"awaited something that yielded {yielded!r} (an awaitable of another loop?)"))

    def _finish(self, outcome, resumed_by):
        deferred, self.deferred = self.deferred, None
        _fire(deferred, outcome, resumed_by)


class _GeneratorDeferred(Deferred):
    """The Deferred a driver returns: it fires with how the generator ended.

    Cancelling it does not stop the generator; it cancels the Deferred the generator
    waits on, and the generator gets that one's outcome at its ``yield``, as it would
    any other: a CancelledError that it may catch, or what the canceller fired it with.
    This Deferred fires when the generator ends, however late that is.
    """

    def __init__(self, driver):
        super().__init__()
        self._driver = driver

    def _cancel_passes_to(self):
        if self.called:
            return super()._cancel_passes_to()  # it has the generator's outcome
        return self._driver.waiting_on  # None while it runs: a cancel then stops here

    def _cancel_here(self):
        """Nothing: a generator hears of a cancel only through the Deferred it waits on.

        One that is running (it cancelled itself) waits on nothing, and a wait it comes
        to later was not there to be cancelled.
        """


# Firing a finished generator's Deferred can resume a generator that waits on it,
# which may finish in turn and fire its own, and so on: ten thousand generators, each
# waiting on the one before, would nest ten thousand calls deep. So one loop per
# thread does the firing, as the Deferred's own loop does for chains: while it fires
# a Deferred, a generator resumed *by that Deferred* that finishes leaves its outcome
# in the loop's queue, and the loop fires it next, from the same stack frame.

class _FiringLoop(threading.local):
    queue = None  # while a loop runs in this thread: the Deferreds it fires next
    deferred = None  # the Deferred it is firing now


_firing = _FiringLoop()


def _fire(deferred, outcome, resumed_by):
    """Fire ``deferred`` with ``outcome``: now, or next in the loop that is firing
    ``resumed_by``, the Deferred whose result resumed the generator that just ended."""
    if _firing.queue is not None and resumed_by is _firing.deferred:
        _firing.queue.append((deferred, outcome))
        return
    saved = _firing.queue, _firing.deferred  # a loop further up the stack, if any
    _firing.queue = queue = collections.deque([(deferred, outcome)])
    try:
        while queue:
            _firing.deferred, outcome = queue.popleft()
            if isinstance(outcome, Failure):
                _firing.deferred.errback(outcome)
            else:
                _firing.deferred.callback(outcome)
    finally:
        _firing.queue, _firing.deferred = saved
