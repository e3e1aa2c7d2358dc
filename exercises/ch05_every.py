"""Chapter 5, exercise: a progress report every N seconds.

A loop that sleeps in ``poll`` can still keep time: it only has to wake up when the
time comes. With ``--every SECONDS`` the select client prints how far each download
has got at that interval (exercise 1's lines), whether or not any socket has news. The
loop sleeps until the nearest deadline *or the next report*, whichever comes first;
that is the first of the three steps of a turn, "work out the timeout", doing a second
job. Chapter 8 gives it a name: a timer.

    python -m exercises.ch05_every [--every SECONDS] [--backend select|poll|epoll]
                                   [--timeout SECONDS] [--save DIR] [--timeline]
                                   [HOST:]PORT ...
"""

import functools
import sys
import time

from coro import cli
from coro.io import multiplexer
from coro.io.nonblocking import Download, State
from coro.select_client import forget, step, watch
from exercises.ch05_stdin import progress
from poetry_server.cli import seconds

EVERY = 1.0


def download_all(addresses, *, timeout, trace, done, backend=None, every=EVERY, out=None):
    """Chapter 5's loop, which also prints the progress every ``every`` seconds.

    Args:
        out: Where the progress lines go (standard output by default).
    """
    out = out or sys.stdout
    mux = multiplexer.create(backend)
    by_fd = {}
    downloads = [Download(task, address, timeout=timeout, trace=trace, done=done,
                          before_close=functools.partial(forget, mux))
                 for task, address in enumerate(addresses, start=1)]
    next_report = time.monotonic() + every
    try:
        for download in downloads:
            download.start()
            watch(mux, by_fd, download)
        while active := [d for d in downloads if d.state is not State.FINISHED]:
            wake = min(next_report, *(d.deadline for d in active))
            for fd, _ in mux.poll(max(wake - time.monotonic(), 0)):
                step(mux, by_fd[fd])
            now = time.monotonic()
            if now >= next_report:
                out.write(progress(trace))
                out.flush()
                next_report = now + every  # from now: a late report does not bunch up
            for download in active:
                download.check_deadline(now)
    finally:
        for download in downloads:
            download.close()
        mux.close()


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m exercises.ch05_every",
                    description=__doc__.split("\n\n")[0], stage_options=[
                        (("--every",),
                         {"type": seconds, "default": EVERY, "metavar": "SECONDS",
                          "help": "print the progress this often (default: %(default)s)"}),
                        (("--backend",),
                         {"choices": list(multiplexer.BACKENDS),
                          "default": multiplexer.best_backend(),
                          "help": "how to wait for the sockets (default: %(default)s)"}),
                    ])


if __name__ == "__main__":
    sys.exit(main())
