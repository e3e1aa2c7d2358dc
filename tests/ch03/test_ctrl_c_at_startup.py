"""Ctrl-C at start-up: chapter 3's server and client handle SIGINT and SIGTERM from
before their first line, so a signal the moment it is out ends them cleanly."""

from tests.startup_checks import (check_client_ends_cleanly, check_server_ends_cleanly,
                                   each_signal)


@each_signal
def test_the_threaded_server(signum):
    check_server_ends_cleanly(signum, "poetry_server.threaded", "tyger", "science")


@each_signal
def test_the_threaded_client(signum):
    check_client_ends_cleanly(signum, "coro.threaded_client")
