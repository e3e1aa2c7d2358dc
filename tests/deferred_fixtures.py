"""A fixture for every test: a Deferred left with an unhandled Failure fails the test."""

import gc

import pytest

from coro.deferred.deferred import Deferred


class Unhandled(list):
    """The Failures that Deferreds reported, unhandled, when garbage-collected."""

    def report(self, failure, deferred):
        self.append(failure)

    def take(self):
        """Collect garbage now, and return (and forget) what was reported."""
        gc.collect()
        taken = list(self)
        self.clear()
        return taken


@pytest.fixture(autouse=True)
def unhandled_failures(monkeypatch):
    """The unhandled Failures of the test's Deferreds; any left unclaimed fails it."""
    found = Unhandled()
    monkeypatch.setattr(Deferred, "report_unhandled", found.report)
    yield found
    gc.collect()
    assert not found, f"Deferreds were dropped with unhandled failures: {found}"
