"""How an error that nobody handled is reported, unless the program says otherwise.

The reactor and the kernel both take a ``report_error(exception, context)`` function;
this is the one they use when they are given none. An error is never dropped: a
callback that raised, a task that failed and was never joined, a Deferred whose failure
nobody handled, each ends up here with its whole traceback.
"""

import sys
import traceback


def print_error(exc, context):
    """The default error report: what failed, and the whole traceback, on stderr."""
    print(f"Unhandled error in {context}:", file=sys.stderr)
    traceback.print_exception(exc, file=sys.stderr)
