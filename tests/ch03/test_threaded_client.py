"""The threaded client: the downloads overlap, and every failure is still named."""

from coro import threaded_client
from poetry_server import spawn
from tests import client_checks as check
from tests.support import Event, ScriptedServer, events

MODULE = "coro.threaded_client"


def _send_only_when_everyone_is_here(socks):
    # Accepted all three before sending anything: a client that connects to one
    # server only after finishing with the previous one would never get here.
    for n, sock in enumerate(socks, start=1):
        sock.sendall(f"poem {n}\n".encode())
    for sock in socks:
        sock.close()


def test_the_downloads_overlap(capsys):
    with ScriptedServer(_send_only_when_everyone_is_here, clients=3) as server:
        report, status, _ = check.run_in_process(
            threaded_client, [server.address] * 3, capsys)
    assert status == 0
    assert sorted(report.poems.values()) == [b"poem 1\n", b"poem 2\n", b"poem 3\n"]
    # The server sent nothing until all three were connected, so getting the poems at
    # all proves the connections overlapped. The trace agrees: all three downloads
    # started before any ended. (CONNECTED is when the client noticed, which may come
    # after another download has already read its poem.)
    kinds = [event for _, event in events(report.trace, Event.START, Event.DONE)]
    assert kinds[:3] == [Event.START] * 3


def test_fifty_downloads_at_once(capsys):
    with spawn("ozymandias", "lorelei", delay=0.001, num_bytes=50) as addresses:
        report, status, _ = check.run_in_process(threaded_client, addresses * 25, capsys)
    assert status == 0
    assert len(report.poems) == 50
    assert {report.poems[n] for n in range(1, 51, 2)} == {check.catalogue_bytes("ozymandias")}
    assert {report.poems[n] for n in range(2, 51, 2)} == {check.catalogue_bytes("lorelei")}


def test_downloads_every_poem(capsys):
    check.check_downloads_every_poem(threaded_client, capsys)


def test_command_line_output_and_save(tmp_path):
    check.check_command_line_output(MODULE, tmp_path)


def test_one_refused_server_fails_only_its_task():
    check.check_one_refused_server_fails_only_its_task(MODULE)


def test_a_server_that_resets_mid_poem(capsys):
    check.check_a_server_that_resets_mid_poem(threaded_client, capsys)


def test_a_server_that_never_sends_times_out(capsys):
    check.check_a_server_that_never_sends_times_out(threaded_client, capsys)


def test_a_clean_close_mid_poem_cannot_be_told_from_the_end(capsys):
    check.check_a_clean_close_mid_poem_cannot_be_told_from_the_end(threaded_client, capsys)


def test_ctrl_c_closes_everything_and_exits_cleanly():
    check.check_ctrl_c_closes_everything_and_exits_cleanly(MODULE, connections=3)


def test_usage_errors(tmp_path):
    check.check_usage_errors(MODULE, tmp_path)
