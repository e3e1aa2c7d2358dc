"""The blocking client: one poem after another, and every failure named."""

import signal

from coro import blocking_client
from poetry_server import spawn
from tests.client_checks import ClientChecks, run_in_process
from tests.startup_checks import signal_mid_run
from tests.support import (TASK_LINE, Event, ScriptedServer, catalogue_bytes, events,
                           refused_address)

MODULE = "coro.blocking_client"


class TestBlockingClient(ClientChecks):
    stage = blocking_client
    module = MODULE
    connections = 1  # one download at a time


def test_downloads_one_poem_after_another(capsys):
    with spawn("ecstasy", "fascination", "science", delay=0.001, num_bytes=256) as addresses:
        report, status, _ = run_in_process(blocking_client, addresses, capsys)
    assert status == 0
    order = [task for task, _ in events(report.trace)]
    # Task 2 starts only when task 1 is done, and so on: no two downloads overlap.
    assert order == sorted(order)
    assert events(report.trace, Event.START, Event.DONE) == [
        (1, Event.START), (1, Event.DONE), (2, Event.START), (2, Event.DONE),
        (3, Event.START), (3, Event.DONE)]


def test_ctrl_c_without_timeline_says_what_was_cut_short_and_no_more():
    # Task 1 has its poem; the signal comes with task 2 at 600 bytes, before task 3 began.
    def half_a_poem_then_wait(socks):
        [sock] = socks
        sock.sendall(catalogue_bytes("raven")[:600])
        assert sock.recv(1) == b""  # the client closed its end

    with spawn("science", delay=0, num_bytes=100) as [whole], \
            ScriptedServer(half_a_poem_then_wait) as half, refused_address() as never:
        out, status, err = signal_mid_run(signal.SIGINT, MODULE, whole[1], half.address[1],
                                          never[1], bytes_of_task_2=600)
    assert (status, err) == (130, "Interrupted.\n")
    assert half.errors == []
    first, *rest = out.splitlines()
    assert TASK_LINE.match(first).groups()[:2] == ("1", str(len(catalogue_bytes("science"))))
    assert rest == [f"Task 2: cut short after 600 bytes of poetry from 127.0.0.1:{half.address[1]}",
                    f"Task 3: cut short after 0 bytes of poetry from 127.0.0.1:{never[1]}"]
