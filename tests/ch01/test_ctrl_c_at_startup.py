"""Ctrl-C at start-up: the tour, signalled the moment its first line is out, ends cleanly
and leaves none of the poetry servers it started behind."""

import re
import socket

from tests.startup_checks import each_signal, signal_at_the_first_line


@each_signal
def test_the_tour_stops_its_servers_and_ends_cleanly(signum):
    line, status, err = signal_at_the_first_line(signum, "coro")
    ports = re.fullmatch(r"Serving .* on ports ([\d ]+): .*\n", line).group(1).split()
    assert (status, err) == (130, "Interrupted.\n")
    for port in ports:  # each server was stopped and waited for before the tour exited
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", int(port))) != 0, f"port {port} still served"
