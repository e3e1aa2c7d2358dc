"""Errors that nobody handled, kept for a test to claim.

An error that no code handled is never dropped (:mod:`coro.io.report`): a reactor or a
kernel passes it to its ``report_error(exception, context)`` function, and a Deferred
garbage-collected with a failure nobody handled passes that to
:attr:`Deferred.report_unhandled <coro.deferred.deferred.Deferred.report_unhandled>`.
Both print to stderr by default, where a test run hides them. A test gives them a
collector instead: it takes out with ``take()`` the errors it expected, and whatever is
left at its end fails it.

>>> from coro.testing.errors import ReportedErrors
>>> errors = ReportedErrors()
>>> errors.report(ValueError("no poem"), "callback got_poem")
>>> print(errors.describe())
ValueError('no poem') in callback got_poem
>>> [str(exc) for exc, context in errors.take()], errors
(['no poem'], [])
"""

import contextlib
import gc
import traceback

from coro.deferred.deferred import Deferred


class ReportedErrors(list):
    """The ``(exception, context)`` pairs a reactor or a kernel reported, in order.

    Give a loop :meth:`report` as its ``report_error``.
    """

    def report(self, exception, context):
        """Keep one error, and what the loop was doing when it happened."""
        self.append((exception, context))

    def take(self):
        """Return the errors reported so far, and forget them: the test claims them."""
        taken = list(self)
        self.clear()
        return taken

    def describe(self, *, tracebacks=False):
        """One line per error (its exception, and where), each with its traceback if asked."""
        lines = []
        for exception, context in self:
            lines.append(f"{exception!r} in {context}")
            if tracebacks:
                lines.append("".join(traceback.format_exception(exception)).rstrip())
        return "\n".join(lines)


class UnhandledFailures(list):
    """The Failures that Deferreds were garbage-collected with, unhandled, in order."""

    def report(self, failure, deferred):
        """What :attr:`~coro.deferred.deferred.Deferred.report_unhandled` calls while the
        collector is in place."""
        self.append(failure)

    def take(self):
        """Collect garbage now, and return (and forget) what was reported."""
        gc.collect()
        taken = list(self)
        self.clear()
        return taken

    def describe(self):
        """Each Failure's traceback, the one it was caught with."""
        return "\n".join(failure.get_traceback().rstrip() for failure in self)


@contextlib.contextmanager
def collecting_unhandled_failures():
    """Within the block, Deferreds report their unhandled failures to an
    :class:`UnhandledFailures`, which the block gets; at its end, garbage is collected
    so that those dropped in reference cycles report too.

    What was alive before the block is set aside while it runs (:func:`gc.freeze`), so
    that the collections that find dropped Deferreds go through the objects made since:
    a full collection of a test session's heap after every test would cost a tenth of a
    second each, a third of a large suite's time. Blocks do not nest: the inner one's
    end would unfreeze what the outer one set aside.
    """
    found = UnhandledFailures()
    previous = vars(Deferred)["report_unhandled"]
    Deferred.report_unhandled = found.report
    gc.freeze()
    try:
        yield found
        gc.collect()
    finally:
        gc.unfreeze()
        Deferred.report_unhandled = previous
