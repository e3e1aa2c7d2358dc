"""The Deferred: a result that is not there yet, and what to do with it when it is.

A function that cannot answer at once returns a :class:`Deferred`. The caller adds
to it a chain of callbacks, for the success path, and errbacks, for the failure
path, and goes back to the loop. Later, one call to :meth:`Deferred.callback` (a
result) or :meth:`Deferred.errback` (a :class:`~coro.deferred.failure.Failure`) fires it, and
the result travels down the chain:

- each stage gets what the stage before it returned, and a callback or an errback
  runs depending on whether that is a Failure;
- a stage that raises turns the result into a Failure, so the next errback runs;
- an errback that returns a value puts the chain back on the success path, as an
  ``except`` clause that does not re-raise would;
- a stage that returns a Deferred pauses the chain until that one has fired, and
  the chain goes on with its result.

The rules are Twisted's; the names are in PEP 8 style. A Deferred that has already
fired runs each new callback at once, so a chain behaves the same whether it was
built before or after the result came.

>>> from coro.deferred.deferred import Deferred
>>> d = Deferred()
>>> _ = d.add_callback(str.upper).add_callback(print)
>>> d.callback("a result")
A RESULT
"""

import sys

from coro.deferred.failure import Failure


class AlreadyCalledError(Exception):
    """A Deferred was fired a second time: a result is given once."""


class CancelledError(Exception):
    """The Deferred was cancelled before its result arrived."""


class _NoResult:
    def __repr__(self):
        return "<no result yet>"


_NO_RESULT = _NoResult()

# The last stage of an inner Deferred that a chain waits on: not a function to call,
# but a mark that tells the loop to hand the result back to the waiting Deferred.
_RESUME = object()


def _pass(result):
    return result


def report_unhandled_failure(failure, deferred):
    """Print a Failure that nobody handled, with its traceback, to stderr.

    This is the default of :attr:`Deferred.report_unhandled`: it runs when a
    Deferred whose chain ended in a Failure is garbage-collected.
    """
    print(f"Unhandled error in {deferred!r}:\n{failure.get_traceback()}",
          end="", file=sys.stderr)


class Deferred:
    """A result to come, and the chain of callbacks and errbacks to run it through.

    A Deferred fires at most once. Its result is what the last stage returned; while
    it is paused (it waits on an inner Deferred, or :meth:`pause` was called) no stage
    runs. Stages are run by one loop, never by recursion.
    """

    #: Called as ``report_unhandled(failure, deferred)`` when a Deferred whose chain
    #: ended in a Failure is garbage-collected. Tests replace it to collect reports.
    report_unhandled = staticmethod(report_unhandled_failure)

    def __init__(self, canceller=None):
        """Make a Deferred that has not fired.

        Args:
            canceller: Called as ``canceller(deferred)`` by :meth:`cancel`, to stop
                the work that would have fired it (close a connection, cancel a timer).
        """
        self.called = False
        self.result = _NO_RESULT
        self._canceller = canceller
        self._stages = []
        self._next_stage = 0
        self._paused = 0
        self._waiting_on = None
        self._running = False
        self._ignore_one_late_result = False

    # Firing.

    def callback(self, result):
        """Fire with a result: the callbacks of the chain start running now.

        Raises:
            AlreadyCalledError: The Deferred has fired before.
            TypeError: ``result`` is a Deferred (return one from a callback instead).
        """
        if isinstance(result, Deferred):
            raise TypeError("callback() takes a result, not a Deferred: "
                            "to wait on one, return it from a callback")
        self._fire(result)

    def errback(self, failure=None):
        """Fire with a failure: the errbacks of the chain start running now.

        Args:
            failure: A :class:`~coro.deferred.failure.Failure` or an exception, which is wrapped
                in one; with no argument, the exception being handled now.

        Raises:
            AlreadyCalledError: The Deferred has fired before.
        """
        if not isinstance(failure, Failure):
            failure = Failure(failure)
        self._fire(failure)

    def _fire(self, result):
        if self.called:
            if self._ignore_one_late_result:
                self._ignore_one_late_result = False
                return
            raise AlreadyCalledError(f"{self!r} has already fired; a result is given once")
        self.called = True
        self.result = result
        self._run_stages()

    # Building the chain.

    def add_callbacks(self, callback, errback=None, *, callback_args=(),
                      callback_kwargs=None, errback_args=(), errback_kwargs=None):
        """Add one stage: ``callback`` for a result, ``errback`` for a Failure.

        Exactly one of the two runs, depending on what the stage before returned. A
        missing errback passes a Failure on unchanged. If the Deferred has fired and
        is not paused, the stage runs now.

        Returns:
            This Deferred, so that calls can be chained.
        """
        for fn in (callback, errback or _pass):
            if not callable(fn):
                raise TypeError(f"a stage of a Deferred must be callable, not {fn!r}")
        self._stages.append(((callback, callback_args, callback_kwargs or {}),
                             (errback or _pass, errback_args, errback_kwargs or {})))
        if self.called:
            self._run_stages()
        return self

    def add_callback(self, callback, *args, **kwargs):
        """Add a stage that runs ``callback(result, *args, **kwargs)`` on success."""
        return self.add_callbacks(callback, _pass, callback_args=args, callback_kwargs=kwargs)

    def add_errback(self, errback, *args, **kwargs):
        """Add a stage that runs ``errback(failure, *args, **kwargs)`` on failure."""
        return self.add_callbacks(_pass, errback, errback_args=args, errback_kwargs=kwargs)

    def add_both(self, fn, *args, **kwargs):
        """Add a stage that runs ``fn(result_or_failure, *args, **kwargs)`` either way,
        as a ``finally`` clause does (but what it returns goes on down the chain)."""
        return self.add_callbacks(fn, fn, callback_args=args, callback_kwargs=kwargs,
                                  errback_args=args, errback_kwargs=kwargs)

    def chain_deferred(self, other):
        """Fire ``other`` with this chain's result at this point; returns this Deferred."""
        return self.add_callbacks(other.callback, other.errback)

    # Pausing and cancelling.

    def pause(self):
        """Stop running stages until :meth:`unpause` is called as many times."""
        self._paused += 1

    def unpause(self):
        """Undo one :meth:`pause`; the chain goes on if nothing else holds it."""
        self._paused -= 1
        if not self._paused and self.called:
            self._run_stages()

    def cancel(self):
        """Say the result is no longer wanted.

        If the Deferred has not fired, its canceller (if any) runs; if that did not
        fire it, the Deferred errbacks with :exc:`CancelledError`. If the chain is
        waiting on an inner Deferred, that one is cancelled instead. A Deferred that
        has a result already is left alone.

        A Deferred with no canceller cannot stop the work that would fire it, so the
        one result that work may still give is ignored. A canceller stops the work:
        a result after it, like any second result, raises :exc:`AlreadyCalledError`.
        """
        # A cancel goes down a chain of waits to its innermost Deferred, found by a loop
        # rather than by recursion: ten thousand nested waits cost no stack.
        innermost = self
        while (inner := innermost._cancel_passes_to()) is not None:
            innermost = inner
        innermost._cancel_here()

    def _cancel_passes_to(self):
        """The Deferred that a cancel of this one goes on to, or None if it stops here."""
        return self._waiting_on if self.called else None

    def _cancel_here(self):
        if self.called:
            return  # it has a result: nothing is left to stop
        if self._canceller is not None:
            self._canceller(self)
        else:
            self._ignore_one_late_result = True
        if not self.called:
            self._fire(Failure(CancelledError(f"{self!r} was cancelled")))

    def add_timeout(self, seconds, reactor):
        """Cancel this Deferred if it has not fired within ``seconds`` on ``reactor``.

        The Deferred then fails with :exc:`TimeoutError` rather than
        :exc:`CancelledError`; if it fires in time, the timer is cancelled.

        Returns:
            This Deferred.
        """
        timed_out = False

        def time_out():
            nonlocal timed_out
            timed_out = True
            self.cancel()

        def translate(result):
            timer.cancel()
            if timed_out and isinstance(result, Failure) and result.check(CancelledError):
                return Failure(TimeoutError(f"timed out after {seconds:g} seconds"))
            return result

        timer = reactor.call_later(seconds, time_out)
        return self.add_both(translate)

    # The one loop that runs stages.

    def _run_stages(self):
        # A stage that returns an unfired Deferred parks this chain on it: the inner
        # Deferred gets a last stage that hands its result back and resumes us. So that
        # ten thousand nested Deferreds cost no stack, resuming is not a call: the
        # outer Deferred is pushed on `chain` and this same loop carries on with it.
        if self._running:
            return  # a stage fired its own Deferred or added a stage; the loop sees it
        chain = [self]
        while chain:
            current = chain[-1]
            if current._paused:
                chain.pop()  # it goes on when unpaused; what waited on it, then too
                continue
            current._waiting_on = None
            done = True
            while current._next_stage < len(current._stages):
                stages = current._stages[current._next_stage]
                current._next_stage += 1
                fn, args, kwargs = stages[isinstance(current.result, Failure)]
                if fn is _RESUME:
                    outer = args[0]
                    outer.result, current.result = current.result, None
                    outer._paused -= 1
                    chain.append(outer)
                    done = False
                    break
                current._running = True
                try:
                    current.result = fn(current.result, *args, **kwargs)
                except Exception:  # noqa: BLE001 - any error is the next errback's
                    current.result = Failure()
                finally:
                    current._running = False
                inner = current.result
                if inner is current:
                    current.result = Failure(TypeError(
                        "a stage of a Deferred returned that same Deferred"))
                elif isinstance(inner, Deferred):
                    if inner.called and not inner._paused and inner._waiting_on is None \
                            and inner._next_stage == len(inner._stages):
                        current.result, inner.result = inner.result, None  # take it
                    else:
                        current._paused += 1
                        current._waiting_on = inner
                        inner._stages.append(((_RESUME, (current,), {}),) * 2)
                        break
            if done:
                chain.pop()
                del current._stages[:current._next_stage]
                current._next_stage = 0

    def __await__(self):
        """``await d`` in an ``async def`` run by :func:`coro.deferred.inline.ensure_deferred`:
        the coroutine waits for this Deferred, then gets its result or raises its error.

        ``await`` hands the Deferred itself to whatever runs the coroutine, and that
        runner sends the result back in or throws the error in. Run by anything else,
        the coroutine hands it over all the same: a bare ``coro.send(None)`` returns
        the Deferred, and asyncio, which cannot wait for one, fails with RuntimeError.
        """
        return (yield self)

    def __repr__(self):
        if self._waiting_on is not None:
            state = f"waiting on {self._waiting_on!r}"
        elif self.called:
            state = f"current result: {self.result!r}"
        else:
            state = "not fired"
        return f"<Deferred at {id(self):#x} {state}>"

    def __del__(self):
        if isinstance(self.result, Failure) and not self._paused:
            self.report_unhandled(self.result, self)


def succeed(result):
    """A Deferred that has fired with ``result``."""
    d = Deferred()
    d.callback(result)
    return d


def fail(failure=None):
    """A Deferred that has fired with ``failure`` (a Failure or an exception)."""
    d = Deferred()
    d.errback(failure)
    return d


def maybe_deferred(fn, *args, **kwargs):
    """Call ``fn(*args, **kwargs)`` and return its outcome as a Deferred, whatever it is.

    A Deferred is returned as it is, a Failure or a raised exception becomes a failed
    Deferred, and any other value a fired one.
    """
    try:
        result = fn(*args, **kwargs)
    except Exception:  # noqa: BLE001 - the caller gets it as a failed Deferred
        return fail()
    if isinstance(result, Deferred):
        return result
    if isinstance(result, Failure):
        return fail(result)
    return succeed(result)
