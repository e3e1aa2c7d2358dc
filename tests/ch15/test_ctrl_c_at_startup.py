"""Ctrl-C at start-up: chapter 15's client handles SIGINT and SIGTERM from before its
first line, so a signal the moment it is out ends it cleanly."""

from tests.startup_checks import check_client_ends_cleanly, each_signal


@each_signal
def test_the_inline_client(signum):
    # Port 1 refuses: the client keeps the poem as it was, and says so first.
    check_client_ends_cleanly(signum, "coro.inline_client", "--transform-server", "1")
