"""Ctrl-C at start-up: a signal sent the moment a program's first line is out.

A reader, or a test, may press Ctrl-C (or send SIGTERM) as soon as a server says where
it serves, or a client reports its first download. A program that prints that line a
moment before it handles the signal dies with a ``KeyboardInterrupt`` traceback, or is
killed, when the signal lands in that moment. It lands there only now and then, so a
test that simply signals on reading the line passes most of the time either way.

To make that moment come every time, the program runs with a stdout that holds it right
after its first line: it reads its stdin until the end, while the test reads the line,
sends the signal, and closes that stdin. The program then goes on from the worst place
there is, with its line out and nothing after it run yet. Each chapter's test file calls
these checks with its own programs.

The same trick holds a client in the middle of a run (:func:`signal_mid_run`): once the
line of its task 1 is out and its task 2 has received a given number of bytes, it tells
the test, which sends the signal, and only then goes on. What the client says it
finished and cut short is then known to the byte, however the machine schedules it.
"""

import os
import re
import select
import signal
import subprocess
import sys

import pytest

from tests.support import ScriptedServer

#: Runs ``python -m MODULE ARGS...`` with its stdout held after the first line that matches
#: PATTERN (the lines before it go through). The hold reads descriptor 0 itself, with no
#: lock taken, so that a thread held there never stops the interpreter from shutting down;
#: os.read goes on reading after a signal whose handler returns, and stops at once at one
#: whose handler raises.
HELD_AFTER_A_LINE = """
import os, re, runpy, sys

class HeldAfterALine:
    def __init__(self, out, pattern):
        self.out, self.pattern, self.line, self.held = out, re.compile(pattern), "", False

    def write(self, text):
        written = self.out.write(text)
        if not self.held:
            *ended, self.line = (self.line + text).split("\\n")
            if any(self.pattern.fullmatch(line) for line in ended):
                self.held = True
                self.out.flush()
                while os.read(0, 4096):
                    pass
        return written

    def __getattr__(self, name):
        return getattr(self.out, name)

sys.stdout = HeldAfterALine(sys.stdout, sys.argv.pop(1))
runpy.run_module(sys.argv.pop(1), run_name="__main__", alter_sys=True)
"""

#: Runs ``python -m MODULE ARGS...`` and holds it mid-run, once the line of its task 1 is
#: out (flushed) and its task 2 has recorded BYTES bytes received, whichever comes last:
#: it writes a line to descriptor TOLD, then reads its stdin until the end, as above.
#: The trace's ``record`` and stdout's ``flush`` are watched, so the hold comes in
#: whichever thread completed the picture, with that thread's work done.
HELD_MID_RUN = """
import os, runpy, sys, threading
from coro.trace import Event, Trace

told, wanted = int(sys.argv.pop(1)), int(sys.argv.pop(1))
lock = threading.Lock()
seen = {"line": False, "bytes": 0, "held": False}

def hold_once_there():
    with lock:
        if seen["held"] or not seen["line"] or seen["bytes"] < wanted:
            return
        seen["held"] = True
    os.write(told, b"held\\n")
    os.close(told)
    while os.read(0, 4096):
        pass

class Watched:
    def __init__(self, out):
        self.out = out

    def write(self, text):
        if text.startswith("Task 1: got "):
            with lock:
                seen["line"] = True
        return self.out.write(text)

    def flush(self):
        self.out.flush()
        hold_once_there()

    def __getattr__(self, name):
        return getattr(self.out, name)

record = Trace.record

def watched_record(self, task, event, nbytes=0):
    record(self, task, event, nbytes)
    if task == 2 and event is Event.RECEIVED:
        with lock:
            seen["bytes"] += nbytes
        hold_once_there()

Trace.record = watched_record
sys.stdout = Watched(sys.stdout)
runpy.run_module(sys.argv.pop(1), run_name="__main__", alter_sys=True)
"""

#: Runs a test once with each stop signal, as ``signum``.
each_signal = pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM],
                                      ids=lambda signum: signum.name)
SERVING_LINE = r"Serving \S+ on 127\.0\.0\.1:\d+\n"


def _ctrl_c_as_in_a_terminal():
    # A shell running this test suite in the background may have left SIGINT ignored,
    # and a child inherits that. A program started in a terminal has the default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def signal_at_the_first_line(signum, module, *args, held_after=".*"):
    """Run ``python -m module args``, send ``signum`` the moment its first line that
    matches ``held_after`` (a regular expression, the whole line) is out.

    Returns:
        ``(that line, exit status, stderr)``.
    """
    child = subprocess.Popen(
        [sys.executable, "-c", HELD_AFTER_A_LINE, held_after, module, *map(str, args)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_ctrl_c_as_in_a_terminal)
    with child:
        try:
            line = child.stdout.readline()
            while line and not re.fullmatch(held_after, line.removesuffix("\n")):
                line = child.stdout.readline()
            child.send_signal(signum)
            _, err = child.communicate(timeout=30)  # closes its stdin: it goes on
        except BaseException:
            child.kill()  # a hang guard only; `with` reaps it
            raise
    return line, child.returncode, err


def check_ends_cleanly(signum, module, *args, first_line, ending):
    """The program signalled the moment its first line is out ends as it should.

    Args:
        first_line: A regular expression the first line must match, with its ``\\n``;
            lines before it that do not match it (a header) are let through.
        ending: ``(exit status, stderr)`` the program must end with.
    """
    line, status, err = signal_at_the_first_line(signum, module, *args,
                                                 held_after=first_line.removesuffix(r"\n"))
    assert re.fullmatch(first_line, line), line
    assert (status, err) == ending, f"exit status {status}, stderr:\n{err}"


def check_server_ends_cleanly(signum, module, *args, first_line=SERVING_LINE):
    """A server signalled the moment it announces itself exits 0, with nothing on stderr."""
    check_ends_cleanly(signum, module, "--port", "0", *args, first_line=first_line,
                       ending=(0, ""))


def _send_one_poem(socks):
    socks[0].sendall(b"a short poem\n")
    socks[0].close()


def check_client_ends_cleanly(signum, module, *options):
    """A client signalled the moment it reports its first task ends as after Ctrl-C.

    It downloads twice from a server that serves only the first client to come, so
    the run cannot end by itself: the signal ends it, with the ending every client has
    after Ctrl-C (:mod:`coro.cli`), whichever signal it was.
    """
    with ScriptedServer(_send_one_poem, clients=1) as server:
        port = server.address[1]
        check_ends_cleanly(signum, module, *options, port, port,
                           first_line=r"Task \d+: .*\n", ending=(130, "Interrupted.\n"))
    assert server.errors == []


def signal_mid_run(signum, module, *args, bytes_of_task_2):
    """Run the client ``python -m module args``; send ``signum`` once the line of its task 1
    is out and its task 2 has received ``bytes_of_task_2`` bytes (see :data:`HELD_MID_RUN`).

    Returns:
        ``(stdout, exit status, stderr)``.
    """
    told, tell = os.pipe()
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", HELD_MID_RUN, str(tell), str(bytes_of_task_2), module,
             *map(str, args)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            pass_fds=[tell], preexec_fn=_ctrl_c_as_in_a_terminal)
    finally:
        os.close(tell)
    with child, open(told, "rb") as held:
        try:
            # A hang guard, never a way to wait: the client says when it is held.
            ready, _, _ = select.select([held], [], [], 30)
            if not ready or held.readline() != b"held\n":
                child.kill()
                out, err = child.communicate()
                raise AssertionError(f"{module} never came to task 1 done and task 2 at "
                                     f"{bytes_of_task_2} bytes:\n{out}{err}")
            child.send_signal(signum)
            out, err = child.communicate(timeout=30)  # closes its stdin: it goes on
        except BaseException:
            child.kill()  # a hang guard only; `with` reaps it
            raise
    return out, child.returncode, err
