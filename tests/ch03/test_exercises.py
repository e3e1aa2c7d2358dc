"""Chapter 3's exercises: a threaded client with a cap on its threads, and a server
that forks a process per client."""

import contextlib
import socket

import pytest

from exercises import ch03_thread_pool
from exercises.ch01_at_once import most_at_once
from poetry_server import spawn
from tests.client_checks import ConcurrentClientChecks, run_in_process
from tests.support import (
    Event, ScriptedServer, assert_one_line_usage_error, catalogue_bytes, events, read_all,
    run_module,
)

# -- the thread pool --------------------------------------------------------------------


class TestThreadPoolClient(ConcurrentClientChecks):
    """Every check a client stage passes, with the default cap (more than 3)."""

    stage = ch03_thread_pool
    module = "exercises.ch03_thread_pool"
    # The answer prints its task lines without the header of the stages that print theirs
    # as they finish.
    finishing_order = False


def _send_only_when_both_are_here(socks):
    for n, sock in enumerate(socks, start=1):
        sock.sendall(f"poem {n}\n".encode())
    for sock in socks:
        sock.close()


def test_two_threads_run_two_downloads_at_once_and_no_more(capsys):
    # Each server sends nothing until two clients have connected, so tasks 1 and 2 end
    # only if both run at once; tasks 3 and 4 start only when a thread is free.
    with ScriptedServer(_send_only_when_both_are_here, clients=2) as first, \
            ScriptedServer(_send_only_when_both_are_here, clients=2) as second:
        addresses = [first.address, first.address, second.address, second.address]
        report, status, _ = run_in_process(ch03_thread_pool, addresses, capsys,
                                           max_threads=2)
    assert status == 0
    assert sorted(report.poems.values()) == [b"poem 1\n", b"poem 1\n", b"poem 2\n",
                                             b"poem 2\n"]
    assert most_at_once(report.trace) == 2
    starts_and_ends = events(report.trace, Event.START, Event.DONE)
    assert sorted(starts_and_ends[:2]) == [(1, Event.START), (2, Event.START)]
    assert starts_and_ends[2][1] is Event.DONE  # a thread ends a download before it starts another


def test_one_thread_downloads_one_poem_after_another(capsys):
    with spawn("tyger", "science", "sera", delay=0, num_bytes=100) as addresses:
        report, status, _ = run_in_process(ch03_thread_pool, addresses, capsys, max_threads=1)
    assert status == 0
    assert events(report.trace, Event.START, Event.DONE) == [
        (1, Event.START), (1, Event.DONE), (2, Event.START), (2, Event.DONE),
        (3, Event.START), (3, Event.DONE)]


def test_the_cap_must_be_a_whole_number_of_threads():
    result = run_module("exercises.ch03_thread_pool", "--max-threads", "0", "10001")
    assert_one_line_usage_error(result, "python -m exercises.ch03_thread_pool")
    assert "--max-threads: must be >= 1, not '0'" in result.stderr


# -- the forking server -----------------------------------------------------------------

FORKING = "exercises.ch03_forking_server"


@pytest.mark.parametrize("max_clients", [1, 50])
def test_every_client_gets_every_byte(max_clients):
    # With one child at a time, the server waits for each child to end before it
    # accepts the next client: the clients are served, one after another.
    with spawn("ecstasy", module=FORKING, delay=0, num_bytes=512,
               options=("--max-clients", str(max_clients))) as [address]:
        poems, _ = read_all([address] * 20)
    assert all(poem == catalogue_bytes("ecstasy") for poem in poems.values())


def test_a_second_client_is_served_while_the_first_is_mid_poem():
    # Task 2 connects once task 1 has its first chunk; a server that served one client
    # at a time would send task 2 nothing until task 1's whole poem was out.
    with spawn("raven", module=FORKING, delay=0.02, num_bytes=200) as [address]:
        poems, trace = read_all([address, address], connect_after_first_chunk=True)
    assert poems[1] == poems[2] == catalogue_bytes("raven")
    received = [task for task, _ in events(trace, Event.RECEIVED)]
    first_of_task_2 = received.index(2)
    last_of_task_1 = len(received) - 1 - received[::-1].index(1)
    assert first_of_task_2 < last_of_task_1


def test_clients_that_hang_up_early_cost_only_themselves():
    with spawn("mariner", module=FORKING, delay=0, num_bytes=100) as [address]:
        poems, _ = read_all([address] * 6, stop_after={1: 1, 3: 1000, 5: 5000})
    for task in (2, 4, 6):
        assert poems[task] == catalogue_bytes("mariner")


def test_ctrl_c_mid_poem_stops_the_server_and_its_children():
    # spawn() stops the server with SIGINT and fails unless it exits with status 0. The
    # child sleeps 30s between chunks: the connection ends now only if it was stopped.
    with contextlib.ExitStack() as stack:
        with spawn("mariner", module=FORKING, delay=30, num_bytes=10) as [address]:
            sock = stack.enter_context(socket.create_connection(address, timeout=10))
            first = sock.recv(100)
        after = sock.recv(100)
    assert first and catalogue_bytes("mariner").startswith(first)
    assert after == b""


@pytest.mark.parametrize("args, message", [
    (["ecstasy", "science"], "unrecognized arguments: science"),
    (["--max-clients", "0", "ecstasy"], "--max-clients: must be >= 1"),
])
def test_usage_errors(args, message):
    result = run_module(FORKING, *args)
    assert_one_line_usage_error(result, f"python -m {FORKING}")
    assert message in result.stderr
