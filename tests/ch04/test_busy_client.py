"""The busy-polling client: interleaved downloads from one thread that never sleeps."""

from coro import busy_client
from poetry_server import spawn
from tests import client_checks as check
from tests.support import Event, ScriptedServer, catalogue_bytes, events, run_module

MODULE = "coro.busy_client"


def _send_only_when_everyone_is_here(socks):
    for n, sock in enumerate(socks, start=1):
        sock.sendall(f"poem {n}\n".encode())
    for sock in socks:
        sock.close()


def test_the_downloads_interleave_in_one_thread(capsys):
    with ScriptedServer(_send_only_when_everyone_is_here, clients=3) as server:
        report, status, _ = check.run_in_process(busy_client, [server.address] * 3, capsys)
    assert status == 0
    assert sorted(report.poems.values()) == [b"poem 1\n", b"poem 2\n", b"poem 3\n"]
    # The server sent nothing until all three were connected, so getting the poems at
    # all proves the connections overlapped. The trace agrees: all three downloads
    # started before any ended. (CONNECTED is when the client noticed, which may come
    # after another download has already read its poem.)
    kinds = [event for _, event in events(report.trace, Event.START, Event.DONE)]
    assert kinds[:3] == [Event.START] * 3


def test_chunks_of_different_downloads_alternate(capsys):
    with spawn("tyger", "lorelei", delay=0.01, num_bytes=40) as addresses:
        report, status, _ = check.run_in_process(busy_client, addresses, capsys)
    assert status == 0
    received = [task for task, _ in events(report.trace, Event.RECEIVED)]
    assert received != sorted(received)  # task 2 got bytes before task 1 was done


def test_it_reports_cpu_time_against_wall_time():
    with spawn("science", delay=0.01, num_bytes=100) as [address]:
        result = run_module(MODULE, address[1])
    assert result.returncode == 0
    summary, cpu = result.stdout.splitlines()[-2:]
    assert summary.startswith("Got 1 poem in ")
    assert cpu.startswith("CPU time ") and "s of wall time (" in cpu


def test_non_ascii_poems_with_one_byte_chunks(capsys):
    with spawn("jingyesi", "sera", delay=0, num_bytes=1) as addresses:
        report, status, _ = check.run_in_process(busy_client, addresses, capsys)
    assert status == 0
    assert report.poems[1] == catalogue_bytes("jingyesi")
    assert report.poems[2].decode() == catalogue_bytes("sera").decode()


def test_downloads_every_poem(capsys):
    check.check_downloads_every_poem(busy_client, capsys)


def test_command_line_output_and_save(tmp_path):
    check.check_command_line_output(MODULE, tmp_path)


def test_one_refused_server_fails_only_its_task():
    check.check_one_refused_server_fails_only_its_task(MODULE)


def test_a_server_that_resets_mid_poem(capsys):
    check.check_a_server_that_resets_mid_poem(busy_client, capsys)


def test_a_server_that_never_sends_times_out(capsys):
    check.check_a_server_that_never_sends_times_out(busy_client, capsys)


def test_a_clean_close_mid_poem_cannot_be_told_from_the_end(capsys):
    check.check_a_clean_close_mid_poem_cannot_be_told_from_the_end(busy_client, capsys)


def test_ctrl_c_closes_everything_and_exits_cleanly():
    check.check_ctrl_c_closes_everything_and_exits_cleanly(MODULE, connections=3)


def test_usage_errors(tmp_path):
    check.check_usage_errors(MODULE, tmp_path)
