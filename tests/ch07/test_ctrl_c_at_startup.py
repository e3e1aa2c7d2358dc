"""Ctrl-C at start-up: chapter 7's client handles SIGINT and SIGTERM from before its
first line, with either proactor, so a signal the moment it is out ends it cleanly."""

import pytest

from coro.io import proactor
from tests.startup_checks import check_client_ends_cleanly, each_signal

URING_UNAVAILABLE = proactor.uring_unavailable()
needs_uring = pytest.mark.skipif(URING_UNAVAILABLE is not None,
                                 reason=f"io_uring: {URING_UNAVAILABLE}")


@each_signal
@pytest.mark.parametrize("backend", [pytest.param("uring", marks=needs_uring), "threads"])
def test_the_completion_client(signum, backend):
    check_client_ends_cleanly(signum, "coro.completion_client", "--proactor", backend)
