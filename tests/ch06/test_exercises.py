"""Chapter 6's exercises: the signal client woken through a descriptor, and a timer signal
that prints how far the downloads have got."""

import re
import select
import signal
import socket
import threading

from coro.signal_client import ask_for_sigio
from coro.trace import Trace
from exercises import ch06_progress, ch06_wakeup_fd
from poetry_server import spawn
from tests.client_checks import (
    check_a_server_that_never_sends_times_out, check_a_server_that_resets_mid_poem,
    check_ctrl_c_closes_everything_and_exits_cleanly, check_downloads_every_poem,
    check_one_refused_server_fails_only_its_task, check_the_downloads_overlap,
)
from tests.support import (SUMMARY_LINE, TASK_LINE, ScriptedServer, catalogue_bytes,
                           refused_address)

WAKEUP_MODULE = "exercises.ch06_wakeup_fd"
PROGRESS_LINE = re.compile(r"^After \d+\.\ds: \d+ bytes so far$")


def signal_state():
    """What a run must leave as it found it: handlers, the wake-up descriptor, the mask,
    the pending signals and the interval timer."""
    wakeup_fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup_fd)
    return (signal.getsignal(signal.SIGIO), signal.getsignal(signal.SIGALRM), wakeup_fd,
            signal.pthread_sigmask(signal.SIG_BLOCK, []), signal.sigpending(),
            signal.getitimer(signal.ITIMER_REAL))


# Exercise 1: woken by the byte a signal writes.

def test_the_wakeup_client_downloads_every_poem(capsys):
    check_downloads_every_poem(ch06_wakeup_fd, capsys)


def test_the_wakeup_client_downloads_at_the_same_time(capsys):
    check_the_downloads_overlap(ch06_wakeup_fd, capsys)


def test_the_wakeup_client_reports_a_reset_and_a_silent_server(capsys):
    check_a_server_that_resets_mid_poem(ch06_wakeup_fd, capsys)
    check_a_server_that_never_sends_times_out(ch06_wakeup_fd, capsys)


def test_the_wakeup_client_on_the_command_line():
    check_one_refused_server_fails_only_its_task(WAKEUP_MODULE)


def test_ctrl_c_stops_the_wakeup_client_cleanly():
    check_ctrl_c_closes_everything_and_exits_cleanly(WAKEUP_MODULE, 3)


def test_a_signal_writes_its_number_to_the_wakeup_socket():
    before = signal_state()
    with ch06_wakeup_fd.woken_by(signal.SIGIO) as woken:
        sender, receiver = socket.socketpair()
        with sender, receiver:  # closed while SIGIO has its handler: closing raises it
            ask_for_sigio(receiver)
            assert ch06_wakeup_fd.signals_taken(woken) == []
            sender.send(b"x")
            # SIGIO reached this thread on its way back from send, and its handler
            # wrote the byte then: it is there before anyone looked.
            assert select.select([woken], [], [], 10)[0] == [woken]
            assert ch06_wakeup_fd.signals_taken(woken) == [signal.SIGIO]
            assert ch06_wakeup_fd.signals_taken(woken) == []
    assert signal_state() == before


def test_the_wakeup_client_leaves_the_signal_state_as_it_found_it(capsys):
    before = signal_state()
    with spawn("science", delay=0, num_bytes=100) as [good], refused_address() as refused:
        ch06_wakeup_fd.download_all([good, refused], timeout=10, trace=Trace(),
                                    done=lambda task, **outcome: None)
    assert signal_state() == before


# Exercise 2: SIGALRM says how far the downloads have got.

class Lines:
    """A file for ``print`` that keeps the lines, and says when one contains ``awaited``."""

    def __init__(self, awaited):
        self.awaited = awaited
        self.text = ""
        self.seen = threading.Event()

    def write(self, text):
        self.text += text
        if self.awaited in text:
            self.seen.set()

    def flush(self):
        pass


def test_a_progress_line_comes_while_the_downloads_go_on():
    # The server sends the first 7 bytes, and the rest only once a progress line has
    # counted them: so the line came while the download went on, with its bytes.
    out = Lines(" 7 bytes so far")
    said_in_time = []

    def send_in_two_parts(socks):
        [sock] = socks
        sock.sendall(b"a poem\n")
        said_in_time.append(out.seen.wait(timeout=10))
        sock.sendall(b"the end\n")
        sock.close()

    before = signal_state()
    outcomes = {}
    with ScriptedServer(send_in_two_parts) as server:
        ch06_progress.download_all(
            [server.address], timeout=10, trace=Trace(), every=0.01, out=out,
            done=lambda task, **outcome: outcomes.update({task: outcome}))
    assert said_in_time == [True]
    assert outcomes == {1: {"poem": b"a poem\nthe end\n"}}
    counts = [int(line.split(": ")[1].split()[0]) for line in out.text.splitlines()]
    assert counts == sorted(counts) and set(counts) <= {0, 7, 15}
    assert signal_state() == before  # the timer is stopped, SIGALRM's handler put back


def test_the_progress_client_on_the_command_line(tmp_path, capsys):
    with spawn("tyger", "science", delay=0.01, num_bytes=100) as addresses:
        result = ch06_progress.main(["--every", "0.005", "--save", str(tmp_path),
                                     *[str(port) for _, port in addresses]])
    assert result == 0
    *lines, summary = capsys.readouterr().out.splitlines()
    assert SUMMARY_LINE.match(summary)
    assert sorted(TASK_LINE.match(line).group(1) for line in lines
                  if line.startswith("Task ")) == ["1", "2"]
    assert all(PROGRESS_LINE.match(line) for line in lines if line.startswith("After "))
    assert (tmp_path / "poem-1.txt").read_bytes() == catalogue_bytes("tyger")
    assert (tmp_path / "poem-2.txt").read_bytes() == catalogue_bytes("science")
