"""Fixtures for Deferred tests that run the same scenario on Twisted: a Deferred left with
an unhandled Failure fails the test in Twisted too, as the plugin's ``unhandled_failures``
(:mod:`coro.testing.plugin`) makes it fail in coro.

:class:`Library` gives coro.deferred and twisted.internet.defer one set of names, so that
one scenario runs on both: coro's PEP 8 names, each mapped to Twisted's camelCase.
"""

import gc
from dataclasses import dataclass
from typing import Callable

import pytest

import coro.deferred as coro_deferred


@pytest.fixture
def twisted_logs_no_error():
    """Fail the test if Twisted logged an error: it logs a Deferred that is
    garbage-collected with an unhandled Failure, where coro calls report_unhandled."""
    from twisted.logger import LogLevel, globalLogPublisher

    logged = []

    def observe(event):
        if "log_failure" in event or event.get("log_level") in (LogLevel.error,
                                                                 LogLevel.critical):
            logged.append(event)

    globalLogPublisher.addObserver(observe)
    try:
        yield
        gc.collect()
    finally:
        globalLogPublisher.removeObserver(observe)
    assert not logged, f"Twisted logged errors: {[event.get('log_format') for event in logged]}"


@dataclass(frozen=True)
class Library:
    """One Deferred library under one set of names (coro's)."""

    name: str
    Deferred: type  # Deferred(canceller) with the canceller positional, as both take it
    Failure: type
    CancelledError: type
    AlreadyCalledError: type
    succeed: Callable
    fail: Callable
    inline_callbacks: Callable
    ensure_deferred: Callable
    add_callback: Callable  # (deferred, fn)
    add_errback: Callable
    add_both: Callable

    def error_name(self, exception):
        """The name both libraries agree on: "CancelledError" for either one's, say."""
        for name in ("CancelledError", "AlreadyCalledError"):
            if isinstance(exception, getattr(self, name)):
                return name
        return type(exception).__name__

    def __repr__(self):
        return self.name


CORO = Library(
    name="coro", Deferred=coro_deferred.Deferred, Failure=coro_deferred.Failure,
    CancelledError=coro_deferred.CancelledError,
    AlreadyCalledError=coro_deferred.AlreadyCalledError,
    succeed=coro_deferred.succeed, fail=coro_deferred.fail,
    inline_callbacks=coro_deferred.inline_callbacks,
    ensure_deferred=coro_deferred.ensure_deferred,
    add_callback=lambda d, fn: d.add_callback(fn),
    add_errback=lambda d, fn: d.add_errback(fn),
    add_both=lambda d, fn: d.add_both(fn),
)


def twisted_library():
    """twisted.internet.defer under coro's names (imported here: only these tests need it)."""
    from twisted.internet import defer
    from twisted.python.failure import Failure

    return Library(
        name="twisted", Deferred=defer.Deferred, Failure=Failure,
        CancelledError=defer.CancelledError, AlreadyCalledError=defer.AlreadyCalledError,
        succeed=defer.succeed, fail=defer.fail,
        inline_callbacks=defer.inlineCallbacks, ensure_deferred=defer.ensureDeferred,
        add_callback=lambda d, fn: d.addCallback(fn),
        add_errback=lambda d, fn: d.addErrback(fn),
        add_both=lambda d, fn: d.addBoth(fn),
    )
