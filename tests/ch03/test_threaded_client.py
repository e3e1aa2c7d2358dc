"""The threaded client: the downloads overlap, and every failure is still named."""

import io

from coro import cli, threaded_client
from coro.trace import Event, Trace
from poetry_server import spawn
from tests.client_checks import ConcurrentClientChecks, run_in_process
from tests.support import catalogue_bytes


class TestThreadedClient(ConcurrentClientChecks):
    stage = threaded_client
    module = "coro.threaded_client"


def test_fifty_downloads_at_once(capsys):
    with spawn("ozymandias", "lorelei", delay=0.001, num_bytes=50) as addresses:
        report, status, _ = run_in_process(threaded_client, addresses * 25, capsys)
    assert status == 0
    assert len(report.poems) == 50
    assert {report.poems[n] for n in range(1, 51, 2)} == {catalogue_bytes("ozymandias")}
    assert {report.poems[n] for n in range(2, 51, 2)} == {catalogue_bytes("lorelei")}


def test_a_task_that_ends_after_the_run_was_cut_short_is_no_news():
    # After Ctrl-C the threads still running may end their tasks: the report is over.
    out, trace = io.StringIO(), Trace()
    report = cli.Report([("127.0.0.1", 10001), ("127.0.0.1", 10002)], trace, timeout=10,
                        out=out)
    trace.record(1, Event.START)
    trace.record(1, Event.RECEIVED, 100)
    assert report.cut_short() == [1, 2]
    trace.record(1, Event.RECEIVED, 100)  # the thread reads on, into the run's trace
    report.done(1, poem=b"x" * 200)
    assert out.getvalue().splitlines() == [
        "Task 1: cut short after 100 bytes of poetry from 127.0.0.1:10001",
        "Task 2: cut short after 0 bytes of poetry from 127.0.0.1:10002"]
    assert report.poems == {} and report.trace.received(1) == 100
    assert [r.event for r in report.trace.records] == [
        Event.START, Event.RECEIVED, Event.CUT_SHORT, Event.CUT_SHORT]
