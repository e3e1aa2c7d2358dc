"""Ctrl-C at start-up: chapter 12's server and client handle SIGINT and SIGTERM from
before their first line, so a signal the moment it is out ends them cleanly."""

from tests.startup_checks import (check_client_ends_cleanly, check_server_ends_cleanly,
                                   each_signal)


@each_signal
def test_the_transform_server(signum):
    check_server_ends_cleanly(signum, "poetry_server.transform_server",
                              first_line=r"Serving transforms .* on 127\.0\.0\.1:\d+\n")


@each_signal
def test_the_transform_client(signum):
    # Port 1 refuses: the client keeps the poem as it was, and says so first.
    check_client_ends_cleanly(signum, "coro.transform_client", "--transform-server", "1")
