"""Chapter 5's exercises: a select client that answers its standard input, one that
reports every N seconds, and edge-triggered epoll."""

import os
import re
import threading

import pytest

from coro import select_client
from coro.io import multiplexer
from coro.trace import Event, Trace
from exercises import ch05_edge_triggered, ch05_every, ch05_stdin
from poetry_server import spawn
from tests.client_checks import (
    ConcurrentClientChecks, MultiplexerClientChecks, bound, run_in_process,
)
from tests.support import ScriptedServer, catalogue_bytes, run_module

BACKENDS = list(multiplexer.BACKENDS)


class Written:
    """A text stream that keeps what is written, and sets ``seen`` once ``lines`` progress
    lines that end in ``ending`` have come."""

    def __init__(self, lines=1, ending=" so far\n"):
        self.text = ""
        self.lines = lines
        self.ending = ending
        self.seen = threading.Event()

    def write(self, text):
        self.text += text
        if self.text.count(self.ending) >= self.lines:
            self.seen.set()

    def flush(self):
        pass


def _first_words_then_the_rest_once_asked(asked):
    """A server's behaviour: send ``first ``, wait until ``asked`` is set, then the rest."""

    def behaviour(socks):
        [sock] = socks
        sock.sendall(b"first ")
        assert asked.wait(timeout=10), "the client never printed its progress"
        sock.sendall(b"words")
        sock.close()

    return behaviour


# -- the standard input -----------------------------------------------------------------


class TestStdinClient(MultiplexerClientChecks):
    """Every check the select client passes, with a standard input at its end."""

    stage = ch05_stdin
    module = "exercises.ch05_stdin"
    # The answer prints its task lines without the header of the stages that print theirs
    # as they finish.
    finishing_order = False

    @pytest.fixture(params=BACKENDS)
    def client(self, request):
        """The answer on one backend, reading /dev/null rather than the tests' own input."""
        with open(os.devnull, "rb") as stdin:
            yield bound(self.stage, backend=request.param, stdin=stdin.fileno())


class TellOnFirstBytes(Trace):
    """A trace that presses Enter, on the descriptor ``keyboard``, once the first bytes
    have been recorded: the line comes strictly after those bytes."""

    def __init__(self, keyboard):
        super().__init__()
        self.keyboard = keyboard

    def record(self, task, event, nbytes=0):
        super().record(task, event, nbytes)
        if event is Event.RECEIVED and self.keyboard is not None:
            os.write(self.keyboard, b"\n")
            os.close(self.keyboard)  # and then the end of the input
            self.keyboard = None


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_line_on_stdin_prints_the_progress_and_the_download_goes_on(backend):
    out = Written()
    ended = []
    stdin, keyboard = os.pipe()
    trace = TellOnFirstBytes(keyboard)
    try:
        with ScriptedServer(_first_words_then_the_rest_once_asked(out.seen)) as server:
            ch05_stdin.download_all([server.address], timeout=10, trace=trace,
                                    done=lambda task, **outcome: ended.append(outcome),
                                    backend=backend, stdin=stdin, out=out)
    finally:
        os.close(stdin)
        if trace.keyboard is not None:
            os.close(trace.keyboard)
    # The server sent the rest only once the line was out, so the line saw the first
    # six bytes and no more; the end of the input did not end the run.
    assert out.text == "Task 1: reading, 6 bytes so far\n"
    assert ended == [{"poem": b"first words"}]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_stdin_at_its_end_or_that_cannot_be_watched_changes_nothing(backend, tmp_path):
    (tmp_path / "typed").write_text("a file is always readable\n")
    reports = {}
    with spawn("tyger", "science", delay=0, num_bytes=100) as addresses:
        for name in (os.devnull, tmp_path / "typed"):
            ended, out = {}, Written()
            stdin = os.open(name, os.O_RDONLY)
            try:
                ch05_stdin.download_all(
                    addresses, timeout=10, trace=Trace(), backend=backend, stdin=stdin,
                    out=out, done=lambda task, **outcome: ended.update({task: outcome}))
            finally:
                os.close(stdin)
            assert ended == {1: {"poem": catalogue_bytes("tyger")},
                             2: {"poem": catalogue_bytes("science")}}
            reports[name] = out.text.splitlines()
    # /dev/null is at its end at once. The file is read whole, once, and gets one report,
    # unless the backend is epoll, which does not watch a file at all.
    assert reports[os.devnull] == []
    report = reports[tmp_path / "typed"]
    assert len(report) == (0 if backend == "epoll" else 2)
    assert all(re.fullmatch(r"Task [12]: (connecting|reading), 0 bytes so far", line)
               for line in report)


def test_progress_reads_the_trace():
    trace = Trace(clock=iter(range(9)).__next__)
    for task, event, nbytes in [(1, Event.START, 0), (2, Event.START, 0), (3, Event.START, 0),
                                (1, Event.CONNECTED, 0), (1, Event.RECEIVED, 10),
                                (1, Event.RECEIVED, 5), (2, Event.FAILED, 0),
                                (3, Event.CONNECTED, 0), (3, Event.DONE, 0)]:
        trace.record(task, event, nbytes)
    assert ch05_stdin.progress(trace) == ("Task 1: reading, 15 bytes so far\n"
                                          "Task 2: failed, 0 bytes so far\n"
                                          "Task 3: done, 0 bytes so far\n")


# -- every N seconds --------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_reports_come_while_no_socket_has_news(backend):
    # The server sends its first words, then nothing until two reports have shown them:
    # no socket had news between those two, so the loop's own clock woke it.
    out = Written(lines=2, ending=": reading, 6 bytes so far\n")
    ended = []
    with ScriptedServer(_first_words_then_the_rest_once_asked(out.seen)) as server:
        ch05_every.download_all([server.address], timeout=10, trace=Trace(),
                                done=lambda task, **outcome: ended.append(outcome),
                                backend=backend, every=0.01, out=out)
    got = [int(re.fullmatch(r"Task 1: (?:connecting|reading), (\d+) bytes so far", line)[1])
           for line in out.text.splitlines()]
    assert got == sorted(got) and set(got) <= {0, 6, 11} and got.count(6) >= 2
    assert ended == [{"poem": b"first words"}]


class TestEveryClient(MultiplexerClientChecks):
    """Every check the select client passes, with reports far apart."""

    stage = ch05_every
    module = "exercises.ch05_every"
    # The answer prints its task lines without the header of the stages that print theirs
    # as they finish.
    finishing_order = False


def test_every_must_be_more_than_nothing():
    result = run_module("exercises.ch05_every", "--every", "0", "10001")
    assert result.returncode == 2
    assert "--every: must be a number of seconds > 0" in result.stderr


# -- edge-triggered epoll ---------------------------------------------------------------

pytestmark_epoll = pytest.mark.skipif("epoll" not in multiplexer.BACKENDS,
                                      reason="edge-triggered epoll is Linux's")

MEGABYTE = bytes(range(256)) * 4096


def _send_a_megabyte_then_close(socks):
    [sock] = socks
    sock.sendall(MEGABYTE)  # fails once a stalled client gives up: its own loss
    sock.close()


@pytestmark_epoll
class TestEdgeTriggeredClient(ConcurrentClientChecks):
    stage = ch05_edge_triggered
    module = "exercises.ch05_edge_triggered"
    # The answer prints its task lines without the header of the stages that print theirs
    # as they finish.
    finishing_order = False


@pytestmark_epoll
def test_reading_until_it_would_block_gets_every_byte(capsys):
    with ScriptedServer(_send_a_megabyte_then_close) as server:
        report, status, _ = run_in_process(ch05_edge_triggered, [server.address], capsys)
    assert status == 0
    assert report.poems[1] == MEGABYTE


@pytestmark_epoll
def test_one_read_per_report_stalls_with_the_bytes_unread(capsys):
    # Each report brings one read of 4096 bytes. The rest is never reported again, and
    # the reads free too little room for the server to send more, which would be new:
    # the download times out with most of the megabyte in its socket.
    with ScriptedServer(_send_a_megabyte_then_close) as server:
        report, status, lines = run_in_process(ch05_edge_triggered, [server.address],
                                               capsys, timeout=0.3, read_once=True)
    assert status == 1
    assert isinstance(report.errors[1], TimeoutError)
    got = sum(r.nbytes for r in report.trace.records if r.event is Event.RECEIVED)
    assert 0 < got < len(MEGABYTE)


@pytestmark_epoll
def test_level_triggered_epoll_forgives_one_read_per_report(capsys):
    with ScriptedServer(_send_a_megabyte_then_close) as server:
        report, status, _ = run_in_process(select_client, [server.address], capsys,
                                           backend="epoll")
    assert status == 0
    assert report.poems[1] == MEGABYTE
