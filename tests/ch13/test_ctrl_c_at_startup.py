"""Ctrl-C at start-up: the proxy and chapter 13's client handle SIGINT and SIGTERM from
before their first line, so a signal the moment it is out ends them cleanly."""

from tests.startup_checks import (check_client_ends_cleanly, check_server_ends_cleanly,
                                   each_signal)
from tests.support import refused_address


@each_signal
def test_the_proxy(signum):
    with refused_address() as (_, upstream):  # never asked: no client comes
        check_server_ends_cleanly(
            signum, "poetry_server.proxy", upstream,
            first_line=rf"Proxying 127\.0\.0\.1:{upstream} on 127\.0\.0\.1:\d+\n")


@each_signal
def test_the_gather_client(signum):
    check_client_ends_cleanly(signum, "coro.gather_client")
