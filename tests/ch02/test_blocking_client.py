"""The blocking client: one poem after another, and every failure named."""

from coro import blocking_client
from poetry_server import spawn
from tests import client_checks as check
from tests.support import Event, events

MODULE = "coro.blocking_client"


def test_downloads_one_poem_after_another(capsys):
    with spawn("ecstasy", "fascination", "science", delay=0.001, num_bytes=256) as addresses:
        report, status, _ = check.run_in_process(blocking_client, addresses, capsys)
    assert status == 0
    order = [task for task, _ in events(report.trace)]
    # Task 2 starts only when task 1 is done, and so on: no two downloads overlap.
    assert order == sorted(order)
    assert events(report.trace, Event.START, Event.DONE) == [
        (1, Event.START), (1, Event.DONE), (2, Event.START), (2, Event.DONE),
        (3, Event.START), (3, Event.DONE)]


def test_downloads_every_poem(capsys):
    check.check_downloads_every_poem(blocking_client, capsys)


def test_command_line_output_and_save(tmp_path):
    check.check_command_line_output(MODULE, tmp_path)


def test_one_refused_server_fails_only_its_task():
    check.check_one_refused_server_fails_only_its_task(MODULE)


def test_a_server_that_resets_mid_poem(capsys):
    check.check_a_server_that_resets_mid_poem(blocking_client, capsys)


def test_a_server_that_never_sends_times_out(capsys):
    check.check_a_server_that_never_sends_times_out(blocking_client, capsys)


def test_a_clean_close_mid_poem_cannot_be_told_from_the_end(capsys):
    check.check_a_clean_close_mid_poem_cannot_be_told_from_the_end(blocking_client, capsys)


def test_ctrl_c_closes_everything_and_exits_cleanly():
    check.check_ctrl_c_closes_everything_and_exits_cleanly(MODULE, connections=1)


def test_usage_errors(tmp_path):
    check.check_usage_errors(MODULE, tmp_path)


def test_non_ascii_poems_with_one_byte_chunks(capsys):
    check.check_non_ascii_poems_with_one_byte_chunks(blocking_client, capsys)
