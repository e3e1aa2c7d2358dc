"""The Deferred layer: results that arrive later, and code that waits for them
(chapters 10, 11, 13 and 15).

- :mod:`~coro.deferred.failure`: an exception with its traceback, kept for later;
- :mod:`~coro.deferred.deferred`: the :class:`~coro.deferred.deferred.Deferred`, its chain and
  its firing rules;
- :mod:`~coro.deferred.deferred_list`: many Deferreds as one;
- :mod:`~coro.deferred.inline`: generators and coroutines that wait for Deferreds.

A Deferred needs no loop: it only runs callbacks. It imports nothing from the
reactor or the kernel.
"""

from coro.deferred.deferred import (AlreadyCalledError, CancelledError, Deferred, fail,
                                    maybe_deferred, succeed)
from coro.deferred.deferred_list import DeferredList, FirstError, gather
from coro.deferred.failure import Failure, NoCurrentExceptionError
from coro.deferred.inline import ensure_deferred, inline_callbacks

__all__ = [
    "AlreadyCalledError", "CancelledError", "Deferred", "DeferredList", "Failure", "FirstError",
    "NoCurrentExceptionError", "ensure_deferred", "fail", "gather", "inline_callbacks",
    "maybe_deferred", "succeed",
]
