"""The pipeline client: every check every client passes, on each backend; then its own
rules, each read from what the run recorded, never from the clock: at most
--max-concurrent downloads connected at once, every poem written in a worker thread,
downloads held back by a full queue, and a run that still ends when every poem is in."""

import threading

import pytest

from coro import cli, kernel_client, pipeline_client
from coro.kernel.queues import Queue
from coro.trace import Event, Trace
from poetry_server import spawn
from tests.client_checks import (MultiplexerClientChecks, bound, check_the_downloads_overlap,
                                 run_in_process)
from tests.support import (TASK_LINE, ScriptedServer, assert_one_line_usage_error,
                           catalogue_bytes, refused_address, run_module, run_module_many)

POEMS = ("science", "tyger", "ecstasy", "sera")


class TestPipelineClient(MultiplexerClientChecks):
    stage = pipeline_client
    module = "coro.pipeline_client"
    wake_up_sockets = 2  # the kernel's
    connections = 2  # the default --max-concurrent: a third download waits for a permit

    def test_the_downloads_overlap(self, client, capsys):
        # The check's server sends nothing until three clients are connected, so it
        # needs three permits: with the default two, the third would never connect.
        check_the_downloads_overlap(bound(client, max_concurrent=3), capsys)


# -- the semaphore: at most --max-concurrent connected at once ------------------------------

class _ClosingLogged:
    """A kernel Socket from open_connection that logs when it is closed."""

    def __init__(self, sock, log):
        self._sock, self._log = sock, log

    def recv(self, size):
        return self._sock.recv(size)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._sock.close()
        self._log.append(-1)


@pytest.fixture
def open_and_closed(monkeypatch):
    """Every connection get_poetry opens logs +1 before its connect, and -1 once closed."""
    log = []
    open_connection = kernel_client.open_connection

    def logged_open_connection(host, port):
        log.append(+1)
        try:
            sock = yield from open_connection(host, port)
        except BaseException:  # it closed the socket itself
            log.append(-1)
            raise
        return _ClosingLogged(sock, log)

    monkeypatch.setattr(kernel_client, "open_connection", logged_open_connection)
    return log


def most_at_once(log):
    """The largest number of connections open at the same moment."""
    now = most = 0
    for change in log:
        now += change
        most = max(most, now)
    assert now == 0, "a connection was left open"
    return most


def whole_poems_so_far(records, poems):
    """The tasks whose whole poem is among ``records``, the trace up to some moment."""
    received = {}
    for record in records:
        if record.event is Event.RECEIVED:
            received[record.task] = received.get(record.task, 0) + record.nbytes
    return {task for task, poem in poems.items() if received.get(task) == len(poem)}


def test_two_permits_let_two_downloads_be_connected_at_once(open_and_closed, capsys):
    with spawn(*POEMS, delay=0, num_bytes=64) as addresses:
        report, status, _ = run_in_process(pipeline_client, addresses, capsys, max_concurrent=2)
    assert status == 0
    assert report.poems == {n: catalogue_bytes(name) for n, name in enumerate(POEMS, start=1)}
    assert most_at_once(open_and_closed) == 2
    # The trace tells the same story: a download starts (gets its permit) and connects
    # only while fewer than two others are started and still short of their poems.
    records = report.trace.records
    for at, record in enumerate(records):
        if record.event in (Event.START, Event.CONNECTED):
            started = {r.task for r in records[:at] if r.event is Event.START}
            whole = whole_poems_so_far(records[:at], report.poems)
            assert len(started - whole - {record.task}) < 2, (record, records[:at])
    # So the third download connects only once the first or the second has its poem.
    third = next(at for at, r in enumerate(records)
                 if (r.task, r.event) == (3, Event.CONNECTED))
    assert whole_poems_so_far(records[:third], report.poems) & {1, 2}
    starts = [r.task for r in records if r.event is Event.START]
    assert starts == [1, 2, 3, 4]  # permits are handed out in the order asked


def test_one_permit_downloads_one_poem_after_another(open_and_closed, capsys):
    with spawn(*POEMS[:3], delay=0, num_bytes=64) as addresses:
        report, status, _ = run_in_process(pipeline_client, addresses, capsys, max_concurrent=1)
    assert status == 0
    assert most_at_once(open_and_closed) == 1
    downloaded = [r.task for r in report.trace.records
                  if r.event in (Event.START, Event.CONNECTED, Event.RECEIVED)]
    assert downloaded == sorted(downloaded)  # no two downloads' records interleave


# -- the writers: every poem reported, and saved, in a worker thread -----------------------

def test_each_poem_is_saved_in_a_worker_thread_and_a_failure_at_once(monkeypatch, tmp_path,
                                                                     capsys):
    kernel_thread = threading.current_thread()  # download_all runs the kernel right here
    threads = {}
    done = cli.Report.done

    def watched_done(self, task, **outcome):
        threads[task] = (threading.current_thread(), sorted(outcome))
        done(self, task, **outcome)

    monkeypatch.setattr(cli.Report, "done", watched_done)
    with spawn(*POEMS[:3], delay=0, num_bytes=64) as addresses, refused_address() as refused:
        report, status, lines = run_in_process(pipeline_client, [*addresses, refused], capsys,
                                               save=tmp_path, writers=2)
    assert status == 1
    assert lines[-1].startswith("Got 3 poems in") and lines[-1].endswith("; 1 failed")
    for task, name in enumerate(POEMS[:3], start=1):
        assert (tmp_path / f"poem-{task}.txt").read_bytes() == catalogue_bytes(name)
        thread, outcome = threads[task]
        assert outcome == ["poem"]
        assert thread is not kernel_thread
        assert thread.name in {"coro-kernel-worker-1", "coro-kernel-worker-2"}  # two writers
    # A failure has no file to write: its download reports it, in the kernel's thread.
    assert threads[4] == (kernel_thread, ["error"])
    assert not (tmp_path / "poem-4.txt").exists()


# -- the queue: a full one holds the downloads back ----------------------------------------

def test_a_full_queue_holds_the_downloads_back_and_every_poem_still_arrives(monkeypatch,
                                                                            capsys):
    # One writer, held in its first report until a download has found the queue full:
    # the next poem fills the queue, and the one after it must wait to be put.
    held_back = threading.Event()
    queues = []

    class WatchedQueue(Queue):
        def __init__(self, maxsize):
            super().__init__(maxsize)
            queues.append(self)

        def put(self, item):
            if len(self) >= self.maxsize:  # full: this put waits for a get to make room
                held_back.set()
            return super().put(item)

    done = cli.Report.done

    def done_once_a_download_is_held_back(self, task, **outcome):
        # In the writer's thread, held until a download is held back (the timeout is a
        # watchdog against a hang).
        assert held_back.wait(timeout=10), "no download was ever held back"
        done(self, task, **outcome)

    monkeypatch.setattr(pipeline_client, "Queue", WatchedQueue)
    monkeypatch.setattr(cli.Report, "done", done_once_a_download_is_held_back)
    with spawn(*POEMS, delay=0, num_bytes=256) as addresses:
        report, status, lines = run_in_process(pipeline_client, addresses, capsys,
                                               writers=1, queue_size=1)
    assert status == 0
    assert held_back.is_set()
    assert report.poems == {n: catalogue_bytes(name) for n, name in enumerate(POEMS, start=1)}
    [queue] = queues
    assert queue.closed and len(queue) == 0  # closed once the downloads ended, and drained


@pytest.mark.parametrize("options", [["--writers", "1", "--queue-size", "1"],
                                     ["--queue-size", "0"],
                                     ["--max-concurrent", "1", "--writers", "3"]],
                         ids=" ".join)
def test_the_command_line_gets_every_poem_whatever_the_pipeline(options, tmp_path):
    with spawn(*POEMS, delay=0, num_bytes=128) as addresses:
        ports = [port for _, port in addresses]
        result = run_module("coro.pipeline_client", *options, "--save", tmp_path, *ports)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sorted(TASK_LINE.match(line).group(1) for line in lines[1:-1]) == ["1", "2", "3", "4"]
    assert lines[-1].startswith("Got 4 poems in")
    for task, name in enumerate(POEMS, start=1):
        assert (tmp_path / f"poem-{task}.txt").read_bytes() == catalogue_bytes(name)


# -- the deadline, and a report that fails ---------------------------------------------------

def _never_send(socks):
    [sock] = socks
    sock.recv(1)  # returns when the client gives up and closes


def test_the_deadline_fails_the_downloads_connected_or_waiting_for_a_permit(capsys):
    # Tasks 1 and 2 hold the two permits, on servers that never send; task 3 waits for
    # a permit. When the deadline passes, each has its own line saying so.
    with ScriptedServer(_never_send) as first, ScriptedServer(_never_send) as second, \
            ScriptedServer(_never_send) as third:
        addresses = [first.address, second.address, third.address]
        report, status, lines = run_in_process(pipeline_client, addresses, capsys,
                                               deadline=0.3)
    assert status == 1
    assert report.poems == {}
    for task, (_, port) in enumerate(addresses, start=1):
        assert isinstance(report.errors[task], cli.DeadlinePassed)
        assert (f"Task {task}: failed: cancelled: the run's deadline of 0.3s passed "
                f"(127.0.0.1:{port})") in lines


def test_a_writer_whose_done_raises_cancels_the_downloads_and_comes_out():
    # An error in done itself is a bug of the caller's. The writer that made the call
    # fails, and the downloads are cancelled (task 2's socket closes) rather than left
    # waiting for a queue that one writer fewer empties; download_all raises the error.
    def done(task, **outcome):
        raise RuntimeError(f"done failed for task {task}")

    with spawn("tyger", delay=0, num_bytes=100) as [good], \
            ScriptedServer(_never_send) as silent:
        with pytest.raises(ExceptionGroup) as raised:
            pipeline_client.download_all([good, silent.address], timeout=60, trace=Trace(),
                                         done=done, writers=1)
    [error] = raised.value.exceptions
    assert str(error) == "done failed for task 1"
    # Task 2's socket was closed when it was cancelled: no_descriptor_left_open checks it.


# -- the options ------------------------------------------------------------------------------

def test_the_pipeline_options_are_whole_numbers_or_usage_errors():
    cases = [
        (["--max-concurrent", "0"], "argument --max-concurrent: must be a whole number >= 1, "
                                    "not '0'"),
        (["--writers", "-1"], "argument --writers: must be a whole number >= 1, not '-1'"),
        (["--writers", "0"], "argument --writers: must be a whole number >= 1, not '0'"),
        (["--queue-size", "x"], "argument --queue-size: must be a whole number >= 0, not 'x'"),
        (["--queue-size", "-1"], "argument --queue-size: must be a whole number >= 0"),
        (["--max-concurrent", "1.5"], "argument --max-concurrent: must be a whole number"),
    ]
    results = run_module_many("coro.pipeline_client", [[*args, "10001"] for args, _ in cases])
    for (args, message), result in zip(cases, results):
        assert_one_line_usage_error(result, "python -m coro.pipeline_client")
        assert message in result.stderr, (args, result.stderr)


def test_download_all_refuses_a_pipeline_that_cannot_run():
    for bad in ({"max_concurrent": 0}, {"writers": 0}, {"queue_size": -1}):
        with pytest.raises(ValueError, match="must be 1 or more"):
            pipeline_client.download_all([("127.0.0.1", 1)], timeout=1, trace=Trace(),
                                         done=None, **bad)
