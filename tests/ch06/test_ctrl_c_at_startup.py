"""Ctrl-C at start-up: chapter 6's client handles SIGINT and SIGTERM from before its
first line, so a signal the moment it is out ends it cleanly."""

from tests.startup_checks import check_client_ends_cleanly, each_signal


@each_signal
def test_the_signal_client(signum):
    check_client_ends_cleanly(signum, "coro.signal_client")
