"""The gather client: every check every client passes, and a deadline for the whole run
that cancels the downloads still running and leaves the finished ones alone."""

from coro import gather_client
from coro.trace import Trace
from poetry_server import spawn
from tests.client_checks import ConcurrentClientChecks, check_command_line_output, run_in_process
from tests.support import (
    ScriptedServer, assert_one_line_usage_error, catalogue_bytes, run_module,
)

MODULE = "coro.gather_client"


class TestGatherClient(ConcurrentClientChecks):
    stage = gather_client
    module = MODULE


def test_command_line_output_with_a_deadline_that_does_not_pass(tmp_path):
    check_command_line_output(MODULE, tmp_path, options=["--deadline", "60"],
                              finishing_order=True)


def test_a_deadline_must_be_a_number_of_seconds():
    for bad in ("0", "-1", "soon", "inf", "nan"):
        result = run_module(MODULE, "--deadline", bad, "10001")
        assert_one_line_usage_error(result, f"python -m {MODULE}")
        assert f"--deadline: must be a number of seconds > 0, not '{bad}'" in result.stderr


def test_the_deadline_cancels_the_downloads_still_running(capsys):
    # The silent server sends nothing and waits for the client to close; the other
    # sends its poem at once. The deadline (an input, not a measurement) passes long
    # before the 10s timeout would: the silent task is cancelled, the other keeps
    # its poem, and the silent server sees its connection closed.
    closed = []

    def never_send(socks):
        [sock] = socks
        closed.append(sock.recv(1))

    with ScriptedServer(never_send) as silent, \
            spawn("science", delay=0, num_bytes=100) as [good]:
        report, status, lines = run_in_process(
            gather_client, [silent.address, good], capsys, deadline=0.3)
    assert status == 1
    assert (f"Task 1: failed: cancelled: the run's deadline of 0.3s passed "
            f"(127.0.0.1:{silent.address[1]})") in lines
    assert report.poems == {2: catalogue_bytes("science")}
    assert lines[-1].startswith("Got 1 poem in") and lines[-1].endswith("; 1 failed")
    assert closed == [b""]


def test_a_failure_in_reporting_reaches_the_list_and_is_reported(unhandled_failures):
    # The downloads' own chains handle the download errors, so the list is made
    # without consume_errors: a bug in reporting must not vanish into its results.
    def broken_done(task, **outcome):
        raise RuntimeError(f"cannot report task {task}")

    with spawn("science", delay=0, num_bytes=100) as [address]:
        gather_client.download_all([address], timeout=10, trace=Trace(), done=broken_done)
    [reported] = unhandled_failures.take()
    assert reported.check(RuntimeError)
    assert str(reported.value) == "cannot report task 1"

