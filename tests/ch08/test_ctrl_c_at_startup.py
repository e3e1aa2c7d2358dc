"""Ctrl-C at start-up: the reactor's server (``python -m poetry_server``) and chapter 8's
demos handle SIGINT and SIGTERM from before their first line, so a signal the moment
it is out ends them cleanly: a server with status 0, a demo with 130."""

import pytest

from tests.startup_checks import check_ends_cleanly, check_server_ends_cleanly, each_signal


@each_signal
@pytest.mark.parametrize("module", ["poetry_server", "poetry_server.reactor_server"])
def test_the_reactor_server(signum, module):
    check_server_ends_cleanly(signum, module, "tyger", "science")


@each_signal
def test_the_countdown(signum):
    check_ends_cleanly(signum, "coro.countdown", "--interval", "60", "3",
                       first_line=r" *0\.0s  countdown 1: 3\.\.\.\n", ending=(130, ""))


@each_signal
def test_the_stdin_handler(signum):
    check_ends_cleanly(signum, "coro.stdin_handler",
                       first_line=r"Type a poem's name \(Ctrl-D to stop\)\.\n",
                       ending=(130, ""))
