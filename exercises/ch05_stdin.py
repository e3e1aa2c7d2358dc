"""Chapter 5, exercise: a select client that also listens to you.

The multiplexer watches any descriptor, not only sockets. This client watches its
standard input too, in the same ``poll`` as the downloads: each time you press Enter,
it prints how far each download has got, and goes on downloading.

    Task 1: reading, 240 bytes so far
    Task 2: done, 645 bytes so far

At the end of its input (Ctrl-D) it stops watching it: a descriptor at its end is
always readable, and a loop that kept watching it would never sleep again. A standard
input that cannot be watched (a file, with epoll) is simply not watched.

    python -m exercises.ch05_stdin [--backend select|poll|epoll] [--timeout SECONDS]
                                   [--save DIR] [--timeline] [HOST:]PORT ...
"""

import functools
import os
import sys
import time

from coro import cli
from coro.io import multiplexer
from coro.io.multiplexer import READ
from coro.io.nonblocking import Download, State
from coro.select_client import forget, step, watch
from coro.trace import Event

#: How each task's last event reads in a progress line.
STATES = {Event.START: "connecting", Event.CONNECTED: "reading", Event.RECEIVED: "reading",
          Event.DONE: "done", Event.FAILED: "failed"}


def progress(trace):
    """One line per task of ``trace``: how far it has got, from its records."""
    lines = []
    for task in trace.tasks():
        records = trace.records_of(task)
        got = sum(r.nbytes for r in records if r.event is Event.RECEIVED)
        lines.append(f"Task {task}: {STATES[records[-1].event]}, {got} bytes so far\n")
    return "".join(lines)


def download_all(addresses, *, timeout, trace, done, backend=None, stdin=0, out=None):
    """Chapter 5's loop, with the standard input watched as well.

    Args:
        stdin: The descriptor to read lines from (0, the standard input, by default).
        out: Where the progress lines go (standard output by default).
    """
    out = out or sys.stdout
    mux = multiplexer.create(backend)
    by_fd = {}
    downloads = [Download(task, address, timeout=timeout, trace=trace, done=done,
                          before_close=functools.partial(forget, mux))
                 for task, address in enumerate(addresses, start=1)]
    try:
        for download in downloads:
            download.start()
            watch(mux, by_fd, download)
        try:
            mux.register(stdin, READ)
        except PermissionError:  # epoll takes no regular file (one is always readable)
            stdin = None  # so it is not watched at all
        while active := [d for d in downloads if d.state is not State.FINISHED]:
            nearest = min(d.deadline for d in active)
            for fd, _ in mux.poll(max(nearest - time.monotonic(), 0)):
                if fd == stdin:
                    answer(mux, stdin, trace, out)
                else:
                    step(mux, by_fd[fd])
            now = time.monotonic()
            for download in active:
                download.check_deadline(now)
    finally:
        for download in downloads:
            download.close()
        mux.close()


def answer(mux, stdin, trace, out):
    """The standard input is readable: print the progress, or stop watching at its end."""
    if os.read(stdin, 4096):  # a line, from a terminal; whatever came, from a pipe
        out.write(progress(trace))
        out.flush()
    else:
        mux.unregister(stdin)


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m exercises.ch05_stdin",
                    description=__doc__.split("\n\n")[0], stage_options=[(
                        ("--backend",),
                        {"choices": list(multiplexer.BACKENDS),
                         "default": multiplexer.best_backend(),
                         "help": "how to wait for the sockets (default: %(default)s)"},
                    )])


if __name__ == "__main__":
    sys.exit(main())
