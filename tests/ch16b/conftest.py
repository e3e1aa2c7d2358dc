"""Chapter 16b's fixtures: chapter 16's kernel on a fake clock, whose reported errors
are checked, and a log of what the tasks did, and when."""

import pytest

from tests.ch16.conftest import kernel  # noqa: F401 (a fixture: the same kernel as chapter 16's)


@pytest.fixture
def log(clock):
    """``log(*what)`` records ``(clock time, *what)``; ``log.trace`` is the list so far."""
    trace = []

    def record(*what):
        trace.append((clock.now(), *what))

    record.trace = trace
    return record
