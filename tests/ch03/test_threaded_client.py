"""The threaded client: the downloads overlap, and every failure is still named."""

from coro import threaded_client
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
