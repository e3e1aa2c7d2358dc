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
"""

import re
import signal
import subprocess
import sys

import pytest

from tests.support import ScriptedServer

#: Runs ``python -m MODULE ARGS...`` with its stdout held after the first line. The hold
#: reads descriptor 0 itself, with no lock taken, so that a thread held there never
#: stops the interpreter from shutting down; os.read goes on reading after a signal
#: whose handler returns, and stops at once at one whose handler raises.
HELD_AFTER_THE_FIRST_LINE = """
import os, runpy, sys

class HeldAfterTheFirstLine:
    def __init__(self, out):
        self.out, self.held = out, False

    def write(self, text):
        written = self.out.write(text)
        if "\\n" in text and not self.held:
            self.held = True
            self.out.flush()
            while os.read(0, 4096):
                pass
        return written

    def __getattr__(self, name):
        return getattr(self.out, name)

sys.stdout = HeldAfterTheFirstLine(sys.stdout)
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


def signal_at_the_first_line(signum, module, *args):
    """Run ``python -m module args``, send ``signum`` the moment its first line is out.

    Returns:
        ``(first line, exit status, stderr)``.
    """
    child = subprocess.Popen(
        [sys.executable, "-c", HELD_AFTER_THE_FIRST_LINE, module, *map(str, args)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_ctrl_c_as_in_a_terminal)
    with child:
        try:
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
        first_line: A regular expression the first line must match.
        ending: ``(exit status, stderr)`` the program must end with.
    """
    line, status, err = signal_at_the_first_line(signum, module, *args)
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
