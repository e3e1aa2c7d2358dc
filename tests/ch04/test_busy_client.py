"""The busy-polling client: interleaved downloads from one thread that never sleeps."""

from coro import busy_client
from poetry_server import spawn
from tests import client_checks as check
from tests.support import Event, events, run_module

MODULE = "coro.busy_client"


def test_the_downloads_interleave_in_one_thread(capsys):
    check.check_the_downloads_overlap(busy_client, capsys)


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
    check.check_non_ascii_poems_with_one_byte_chunks(busy_client, capsys)


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
