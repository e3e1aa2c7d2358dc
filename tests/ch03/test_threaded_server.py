"""The thread-per-client server: many clients at once, each owed every byte."""

import pytest

from poetry_server import spawn
from tests.support import (
    Event, assert_one_line_usage_error, catalogue_bytes, check_serves_over_ipv6, events,
    needs_ipv6, read_all, run_module,
)


@pytest.mark.parametrize("clients", [1, 3, 50])
def test_concurrent_clients_each_get_every_byte(clients):
    names = ["ecstasy", "jingyesi", "mariner"]
    with spawn(*names, delay=0, num_bytes=512) as addresses:
        chosen = [addresses[n % 3] for n in range(clients)]
        poems, _ = read_all(chosen)
    for n in range(clients):
        assert poems[n + 1] == catalogue_bytes(names[n % 3])


def test_a_second_client_is_served_while_the_first_is_mid_poem():
    # Task 2 connects once task 1 has its first chunk. A server that served one client
    # at a time would send task 2 nothing until task 1's whole poem was out.
    with spawn("raven", delay=0.02, num_bytes=200) as [address]:
        poems, trace = read_all([address, address], connect_after_first_chunk=True)
    assert poems[1] == poems[2] == catalogue_bytes("raven")
    received = [task for task, _ in events(trace, Event.RECEIVED)]
    first_of_task_2 = received.index(2)
    last_of_task_1 = len(received) - 1 - received[::-1].index(1)
    assert first_of_task_2 < last_of_task_1


def test_clients_that_hang_up_early_cost_only_themselves():
    with spawn("mariner", delay=0, num_bytes=100) as [address]:
        poems, _ = read_all([address] * 6, stop_after={1: 1, 3: 1000, 5: 5000})
    for task in (2, 4, 6):
        assert poems[task] == catalogue_bytes("mariner")


@pytest.mark.parametrize("args, message", [
    (["--num-bytes", "ten", "ecstasy"], "--num-bytes: not a whole number: 'ten'"),
    (["--port", "65535", "ecstasy", "science"], "2 poems from port 65535 run past 65535"),
    (["--iface", "no-such-host.invalid", "ecstasy"], "cannot listen on 'no-such-host.invalid'"),
    (["ecstasy", "nothing-here"], "unknown poem 'nothing-here'"),
])
def test_usage_errors(args, message):
    result = run_module("poetry_server", *args)
    assert_one_line_usage_error(result, "python -m poetry_server")
    assert message in result.stderr


def test_ctrl_c_mid_poem_stops_the_server_cleanly():
    # spawn() stops the server with SIGINT and fails unless it exits with status 0.
    with spawn("mariner", "raven", delay=30, num_bytes=10) as addresses:
        poems, _ = read_all(addresses, stop_after={1: 1, 2: 1})
    for task, name in [(1, "mariner"), (2, "raven")]:
        assert poems[task] and catalogue_bytes(name).startswith(poems[task])


@needs_ipv6
def test_the_threaded_server_serves_over_ipv6():
    check_serves_over_ipv6("poetry_server.threaded")
