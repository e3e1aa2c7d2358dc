"""Exercise 6.2: a progress line at regular times, sent by a timer signal.

Time can be a signal too: ``setitimer(ITIMER_REAL, ...)`` has the kernel send SIGALRM
every ``--every`` seconds. SIGALRM gets a handler that does nothing; what counts is
the byte the signal writes to the wake-up socket of exercise 6.1, which wakes that
client's loop. The loop hands the signal to ``on_signal``, which prints how far the
downloads have got.

Signals are the whole process's, so the timer and the handler are put back as they
were when the run ends, whatever way it ends.

    python -m exercises.ch06_progress [--every SECONDS] [--timeout SECONDS] [HOST:]PORT ...
"""

import contextlib
import signal
import sys
import time

from coro import cli
from coro.trace import Event
from exercises.ch06_wakeup_fd import do_nothing
from exercises.ch06_wakeup_fd import download_all as download_all_woken
from poetry_server.cli import seconds


@contextlib.contextmanager
def alarm_every(seconds):
    """Send SIGALRM to this process every ``seconds`` until the block ends."""
    previous_handler = signal.signal(signal.SIGALRM, do_nothing)
    signal.setitimer(signal.ITIMER_REAL, seconds, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        # A SIGALRM sent just before the timer stopped may not have reached a thread
        # yet; were the default action back by then, it would end the process. So
        # block it here, take it if it is pending, and only then restore the handler.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        signal.sigtimedwait({signal.SIGALRM}, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def download_all(addresses, *, timeout, trace, done, every=1.0, out=None):
    """Exercise 6.1's download, and a line on ``out`` (stdout) every ``every`` seconds."""
    out = out or sys.stdout
    began = time.monotonic()

    def say_how_far(signum):
        if signum == signal.SIGALRM:
            received = sum(r.nbytes for r in trace.records if r.event is Event.RECEIVED)
            print(f"After {time.monotonic() - began:.1f}s: {received} bytes so far",
                  file=out, flush=True)

    with alarm_every(every):
        download_all_woken(addresses, timeout=timeout, trace=trace, done=done,
                           on_signal=say_how_far)


def main(argv=None):
    """Run the client; return the exit status."""
    every = (("--every",), {"type": seconds, "default": 1.0, "metavar": "SECONDS",
                            "help": "print how far the downloads have got this often "
                                    "(default: 1)"})
    return cli.main(download_all, argv, prog="python -m exercises.ch06_progress",
                    description=__doc__.split("\n\n")[0], finishing_order=True,
                    stage_options=[every])


if __name__ == "__main__":
    sys.exit(main())
