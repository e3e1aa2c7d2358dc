"""Chapter 4, exercise: a busy loop that backs off.

Chapter 4's loop asks every socket again the moment it has asked them all. This one
counts its rounds, and after a round in which no download moved (a wasted round) it
sleeps: 1ms at first, twice as long after each wasted round in a row, never more than
``--max-pause``. A round that moves anything starts again from no pause at all. At the
end it says how many rounds it made, and how many were wasted:

    Went round the sockets 305 times; 282 rounds found nothing (92%).

The CPU is nearly idle now. The price is latency: a byte may wait in its socket for up
to ``--max-pause`` before the loop asks for it. Chapter 5 needs no such trade.

    python -m exercises.ch04_backoff [--max-pause SECONDS] [--timeout SECONDS]
                                     [--save DIR] [--timeline] [HOST:]PORT ...
"""

import sys
import time

from coro import cli
from coro.io.nonblocking import Download, State
from poetry_server.cli import seconds

FIRST_PAUSE = 0.001
MAX_PAUSE = 0.05


def next_pause(pause, *, moved, most):
    """How long to sleep after a round, when the last pause was ``pause``: none after a
    round that moved, else twice the last pause, from FIRST_PAUSE up to ``most``."""
    if moved:
        return 0.0
    return min(max(2 * pause, FIRST_PAUSE), most)


def download_all(addresses, *, timeout, trace, done, max_pause=MAX_PAUSE, sleep=time.sleep):
    """Download the poems at the same time, in one thread, resting when nothing moves.

    Args:
        sleep: Called with each pause (a test passes one that records them).
    """
    downloads = [Download(task, address, timeout=timeout, trace=trace, done=done)
                 for task, address in enumerate(addresses, start=1)]
    rounds = wasted = 0
    pause = 0.0
    try:
        for download in downloads:
            download.start()
        while active := [d for d in downloads if d.state is not State.FINISHED]:
            moved = False
            for download in active:
                if download.state is State.CONNECTING:
                    moved |= download.try_connect()
                else:
                    moved |= download.try_recv()
            now = time.monotonic()
            for download in active:
                download.check_deadline(now)
            rounds += 1
            wasted += not moved
            pause = next_pause(pause, moved=moved, most=max_pause)
            if pause:
                sleep(pause)
    finally:
        for download in downloads:
            download.close()
    print(f"Went round the sockets {rounds} times; {wasted} rounds found nothing "
          f"({wasted / max(rounds, 1):.0%}).", flush=True)


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m exercises.ch04_backoff",
                    description=__doc__.split("\n\n")[0], cpu=True, stage_options=[(
                        ("--max-pause",),
                        {"type": seconds, "default": MAX_PAUSE, "metavar": "SECONDS",
                         "help": "the longest rest between two rounds that found nothing "
                                 "(default: %(default)s)"},
                    )])


if __name__ == "__main__":
    sys.exit(main())
