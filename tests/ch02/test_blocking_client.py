"""The blocking client: one poem after another, and every failure named."""

from coro import blocking_client
from poetry_server import spawn
from tests.client_checks import ClientChecks, run_in_process
from tests.support import Event, events


class TestBlockingClient(ClientChecks):
    stage = blocking_client
    module = "coro.blocking_client"
    connections = 1  # one download at a time


def test_downloads_one_poem_after_another(capsys):
    with spawn("ecstasy", "fascination", "science", delay=0.001, num_bytes=256) as addresses:
        report, status, _ = run_in_process(blocking_client, addresses, capsys)
    assert status == 0
    order = [task for task, _ in events(report.trace)]
    # Task 2 starts only when task 1 is done, and so on: no two downloads overlap.
    assert order == sorted(order)
    assert events(report.trace, Event.START, Event.DONE) == [
        (1, Event.START), (1, Event.DONE), (2, Event.START), (2, Event.DONE),
        (3, Event.START), (3, Event.DONE)]
