"""The select client: one thread, one multiplexer, every failure still named."""

import functools

import pytest

from coro import select_client
from coro.io import multiplexer
from poetry_server import spawn
from tests import client_checks as check
from tests.support import descriptors_past_fd_setsize, run_module

MODULE = "coro.select_client"


@pytest.fixture(params=list(multiplexer.BACKENDS))
def stage(request):
    """The stage with its ``download_all`` bound to one backend."""
    class Stage:
        download_all = functools.partial(select_client.download_all, backend=request.param)
    return Stage


def test_the_downloads_interleave_in_one_thread(stage, capsys):
    check.check_the_downloads_overlap(stage, capsys)


def test_non_ascii_poems_with_one_byte_chunks(stage, capsys):
    check.check_non_ascii_poems_with_one_byte_chunks(stage, capsys)


def test_downloads_every_poem(stage, capsys):
    check.check_downloads_every_poem(stage, capsys)


def test_a_server_that_resets_mid_poem(stage, capsys):
    check.check_a_server_that_resets_mid_poem(stage, capsys)


def test_a_server_that_never_sends_times_out(stage, capsys):
    check.check_a_server_that_never_sends_times_out(stage, capsys)


def test_a_clean_close_mid_poem_cannot_be_told_from_the_end(stage, capsys):
    check.check_a_clean_close_mid_poem_cannot_be_told_from_the_end(stage, capsys)


def test_select_names_its_limit_when_a_socket_is_past_fd_setsize(capsys):
    with spawn("science", "tyger", delay=0, num_bytes=100) as addresses:
        with descriptors_past_fd_setsize():  # the client's sockets get high numbers
            report, status, lines = check.run_in_process(select_client, addresses, capsys,
                                                         backend="select")
    assert status == 1
    assert len(report.errors) == 2
    assert all("FD_SETSIZE (1024)" in line and "--backend epoll" in line
               for line in lines if line.startswith("Task "))


def test_command_line_output_and_save(tmp_path):
    check.check_command_line_output(MODULE, tmp_path)


def test_the_backend_option():
    with spawn("science", delay=0, num_bytes=100) as [address]:
        for backend in multiplexer.BACKENDS:
            result = run_module(MODULE, "--backend", backend, address[1])
            assert result.returncode == 0, result.stderr
    result = run_module(MODULE, "--backend", "kqueue", address[1])
    assert result.returncode == 2
    assert "argument --backend: invalid choice: 'kqueue'" in result.stderr


def test_one_refused_server_fails_only_its_task():
    check.check_one_refused_server_fails_only_its_task(MODULE)


def test_ctrl_c_closes_everything_and_exits_cleanly():
    check.check_ctrl_c_closes_everything_and_exits_cleanly(MODULE, connections=3)


def test_usage_errors(tmp_path):
    check.check_usage_errors(MODULE, tmp_path)
