"""The busy-polling client: interleaved downloads from one thread that never sleeps."""

from coro import busy_client
from poetry_server import spawn
from tests.client_checks import ConcurrentClientChecks, run_in_process
from tests.support import Event, events, run_module

MODULE = "coro.busy_client"


class TestBusyClient(ConcurrentClientChecks):
    stage = busy_client
    module = MODULE


def test_chunks_of_different_downloads_alternate(capsys):
    with spawn("tyger", "lorelei", delay=0.01, num_bytes=40) as addresses:
        report, status, _ = run_in_process(busy_client, addresses, capsys)
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
