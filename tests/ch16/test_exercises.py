"""Chapter 16's exercises: exercise 13.1's first-poems-win policy on the kernel; the
kernel's poetry server, counting its clients."""

import socket

from coro import cli
from coro.kernel.traps import sleep
from exercises import ch16_first_two
from exercises.ch13_first_two import NotNeeded
from exercises.ch16_counting_server import CountedClients
from poetry_server import spawn
from tests.ch12.test_exercises import service
from tests.ch13.test_exercises import never_send
from tests.client_checks import (check_ctrl_c_closes_everything_and_exits_cleanly,
                                 check_ctrl_c_reports_what_finished_and_what_was_cut_short)
from tests.support import TASK_LINE, ScriptedServer, catalogue_bytes, refused_address


# -- 1. The first poems win, on the kernel ---------------------------------------------

def test_once_two_poems_have_come_the_task_still_running_is_cancelled(capsys):
    closed = []
    with ScriptedServer(never_send(closed)) as silent, \
            spawn("tyger", "jingyesi", delay=0, num_bytes=200) as fast:
        report, status = cli.run(ch16_first_two.download_all, [silent.address, *fast],
                                 timeout=10)
    assert status == 1
    assert report.poems == {2: catalogue_bytes("tyger"), 3: catalogue_bytes("jingyesi")}
    lines = capsys.readouterr().out.splitlines()
    assert [TASK_LINE.match(line).group(1) for line in lines[:2]] in (["2", "3"], ["3", "2"])
    assert lines[2] == (f"Task 1: failed: cancelled: 2 poems came first "
                        f"(127.0.0.1:{silent.address[1]})")
    assert closed == [b""]  # the cancelled task's `with` closed its socket


def test_with_first_1_every_other_task_is_cancelled(capsys):
    closed = []
    with ScriptedServer(never_send(closed)) as silent, \
            spawn("jingyesi", delay=0, num_bytes=200) as [fast]:
        report, status = cli.run(ch16_first_two.download_all, [silent.address, fast],
                                 timeout=10, first=1)
    assert report.poems == {2: catalogue_bytes("jingyesi")}
    assert isinstance(report.errors[1], NotNeeded)
    assert closed == [b""]


def test_a_failed_download_does_not_count_and_nothing_is_cancelled(capsys):
    # One poem only: the silent download is never cancelled, and times out in the end.
    # Were the refused download counted, the silent one would be cancelled instead.
    with refused_address() as refused, spawn("science", delay=0, num_bytes=200) as [good], \
            ScriptedServer(never_send([])) as silent:
        report, status = cli.run(ch16_first_two.download_all, [refused, good, silent.address],
                                 timeout=0.3)
    assert report.poems == {2: catalogue_bytes("science")}
    assert isinstance(report.errors[1], ConnectionRefusedError)
    assert isinstance(report.errors[3], TimeoutError)


def test_ctrl_c_cancels_every_task_of_the_first_two_client():
    check_ctrl_c_closes_everything_and_exits_cleanly("exercises.ch16_first_two", 3)


def test_ctrl_c_says_what_each_task_of_the_first_two_client_had():
    check_ctrl_c_reports_what_finished_and_what_was_cut_short("exercises.ch16_first_two",
                                                              finishing_order=True)


# -- 2. A server that counts its clients -----------------------------------------------

def test_the_counts_follow_the_clients(kernel, capsys):
    def client(seconds):
        yield from sleep(seconds)

    def main():
        clients = CountedClients(most=10)
        for seconds in (1, 3, 1):
            yield from clients.start(client(seconds))
        yield from sleep(2)  # two have ended by now
        yield from clients.start(client(1))
        yield from sleep(5)
        return clients.served, clients.most_at_once, len(clients.tasks)

    assert kernel.run(main()) == (4, 3, 0)
    assert capsys.readouterr().err.splitlines() == [
        "client 1 came; 1 being served",
        "client 2 came; 2 being served",
        "client 3 came; 3 being served",
        "client 4 came; 2 being served",
    ]


def read_to_the_end(sock):
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_the_counting_server_serves_every_client_and_says_how_many():
    # The server's task for a client lasts until the client closes, so three clients
    # that each read their poem before any of them closes are three at once.
    with service("exercises.ch16_counting_server", "--delay", 0, "--num-bytes", 200,
                 "tyger", "jingyesi") as server:
        assert server.line.startswith("Serving tyger on 127.0.0.1:")
        socks = [socket.create_connection(server.address) for _ in range(3)]
        try:
            poems = [read_to_the_end(sock) for sock in socks]
        finally:
            for sock in socks:
                sock.close()
    assert poems == [catalogue_bytes("tyger")] * 3
    assert server.stderr.splitlines() == [
        "client 1 came; 1 being served",
        "client 2 came; 2 being served",
        "client 3 came; 3 being served",
        "served 3 clients, at most 3 at once",
    ]
