"""Chapter 2, exercise: a time limit for each download.

``--timeout`` gives up on a server that goes quiet, but every byte starts it again, so
a server that trickles a byte at a time keeps the blocking client waiting for ever.
With ``--limit SECONDS`` each download has that long from its start to its end,
however its server trickles:

    Task 2: failed: took longer than its limit of 1s (127.0.0.1:10002)

A thread blocked in ``recv`` runs none of your code until ``recv`` returns; only a
signal gets in. :func:`signal.setitimer` asks the kernel for a SIGALRM once the limit
has passed, and the handler raises, out of the ``connect`` or ``recv`` where the
download waits. That is the classic UNIX way to limit a blocking call, with the classic
catches: a process has one such timer, and only the main thread runs signal handlers,
so chapter 3's threads could not use it.

    python -m exercises.ch02_time_limit --limit SECONDS [--timeout SECONDS] [--save DIR]
                                        [--timeline] [HOST:]PORT ...
"""

import contextlib
import errno
import signal
import sys

from coro import cli
from coro.blocking_client import get_poetry
from poetry_server.cli import seconds


class TimeLimitPassed(OSError):
    """A download took longer than its limit. Not a :exc:`TimeoutError`: the server may
    never have gone quiet."""

    def __init__(self, limit):
        super().__init__(errno.ETIMEDOUT, f"Took longer than its limit of {limit:g}s")


@contextlib.contextmanager
def time_limit(seconds):
    """Raise :exc:`TimeLimitPassed` in the block once ``seconds`` have passed, wherever it
    is waiting. Main thread only."""

    def alarm(signum, frame):
        raise TimeLimitPassed(seconds)

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        # The alarm may go off on the way out, even in here: the old handler goes back
        # in any case.
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            signal.signal(signal.SIGALRM, previous)


def download_all(addresses, *, timeout, trace, done, limit):
    """Download the poems one after another, each within ``limit`` seconds."""
    for task, address in enumerate(addresses, start=1):
        try:
            with time_limit(limit):
                poem = get_poetry(address, task=task, trace=trace, timeout=timeout)
        except OSError as exc:
            done(task, error=exc)
        else:
            done(task, poem=poem)


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m exercises.ch02_time_limit",
                    description=__doc__.split("\n\n")[0], stage_options=[(
                        ("--limit",),
                        {"type": seconds, "required": True, "metavar": "SECONDS",
                         "help": "give up on a download that takes longer than this, "
                                 "from its start to its end"},
                    )])


if __name__ == "__main__":
    sys.exit(main())
