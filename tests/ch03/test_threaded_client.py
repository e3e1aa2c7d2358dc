"""The threaded client: the downloads overlap, and every failure is still named."""

from coro import threaded_client
from poetry_server import spawn
from tests import client_checks as check

MODULE = "coro.threaded_client"


def test_the_downloads_overlap(capsys):
    check.check_the_downloads_overlap(threaded_client, capsys)


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
