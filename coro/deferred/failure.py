"""A Failure: an exception caught in one place, to be handled in another.

In synchronous code an exception travels up the stack to the ``except`` that handles
it. In a callback program the stack that raised is gone by the time anyone can
handle the error: the code that asked for the result returned long ago, and the
callback runs from the reactor's loop. So the error has to become a value that can
be passed along, to an errback, and still say what happened and where. That value is
a :class:`Failure`: the exception with its type and its traceback.

>>> from coro.deferred.failure import Failure
>>> try:
...     1 / 0
... except ZeroDivisionError:
...     failure = Failure()
>>> failure.check(KeyError, ArithmeticError)
<class 'ArithmeticError'>
>>> failure.get_error_message()
'division by zero'
"""

import sys
import traceback


class NoCurrentExceptionError(Exception):
    """``Failure()`` was called outside an ``except`` block, with nothing to wrap."""


class Failure:
    """An exception, its type and its traceback, kept so it can be handled later.

    A Failure always holds an exception instance; its traceback is the one it had when
    it was caught (None for an exception that was never raised).
    """

    __slots__ = ("value", "type", "tb")

    def __init__(self, exception=None):
        """Wrap ``exception``, or with no argument, the exception being handled now.

        Raises:
            NoCurrentExceptionError: No argument, and no exception is being handled.
            TypeError: ``exception`` is not an exception.
        """
        if exception is None:
            exception = sys.exception()
            if exception is None:
                raise NoCurrentExceptionError(
                    "Failure() with no argument wraps the exception being handled, "
                    "so it must be called inside an 'except' block")
        elif not isinstance(exception, BaseException):
            raise TypeError(f"a Failure wraps an exception, not {exception!r}")
        self.value = exception
        self.type = type(exception)
        self.tb = exception.__traceback__

    def check(self, *types):
        """Return the first of ``types`` that this failure is an instance of, else None."""
        for kind in types:
            if isinstance(self.value, kind):
                return kind
        return None

    def trap(self, *types):
        """Like :meth:`check`, but re-raise the exception when no type matches.

        An errback starts with ``failure.trap(ConnectionRefusedError)`` to handle that
        error and let any other go on down the chain, as an ``except`` clause would.
        """
        kind = self.check(*types)
        if kind is None:
            self.raise_exception()
        return kind

    def raise_exception(self):
        """Raise the wrapped exception again, with its original traceback."""
        raise self.value.with_traceback(self.tb)

    def get_error_message(self):
        """The exception's message: ``str(value)``, or its type's name when that is empty."""
        return str(self.value) or self.type.__name__

    def get_traceback(self):
        """The traceback as Python would print it, as one string."""
        return "".join(traceback.format_exception(self.type, self.value, self.tb))

    def __repr__(self):
        return f"<Failure {self.type.__qualname__}: {self.get_error_message()}>"
