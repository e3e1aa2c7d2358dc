"""Ctrl-C at start-up: chapter 11's client and demo handle SIGINT and SIGTERM from
before their first line, so a signal the moment it is out ends them cleanly."""

from tests.startup_checks import check_client_ends_cleanly, check_ends_cleanly, each_signal
from tests.support import refused_address


@each_signal
def test_the_deferred_client(signum):
    check_client_ends_cleanly(signum, "coro.deferred_client")


@each_signal
def test_the_blocking_deferred_demo(signum):
    with refused_address() as (_, port):
        check_ends_cleanly(signum, "coro.blocking_deferred", port,
                           first_line=r"A timer ticks every .*\n",
                           ending=(130, "Interrupted.\n"))
