"""Chapter 4, exercise: at most N downloads at once, in one thread.

Chapter 3's exercise capped the threads with a pool. With one thread there is no pool
to size: the loop starts the first ``--max-open`` downloads, and each time one ends it
starts the next. A download is made only when it starts, so its time limit for
connecting runs from then, not from the start of the run. At most N sockets are open.

    python -m exercises.ch04_max_open [--max-open N] [--timeout SECONDS] [--save DIR]
                                      [--timeline] [HOST:]PORT ...
"""

import collections
import sys
import time

from coro import cli
from coro.io.nonblocking import Download, State
from poetry_server.cli import whole

MAX_OPEN = 100


def download_all(addresses, *, timeout, trace, done, max_open=MAX_OPEN):
    """Download the poems in one thread, never more than ``max_open`` at once."""
    waiting = collections.deque(enumerate(addresses, start=1))
    running = []
    try:
        while waiting or running:
            while waiting and len(running) < max_open:
                task, address = waiting.popleft()
                download = Download(task, address, timeout=timeout, trace=trace, done=done)
                running.append(download)
                download.start()  # may end at once: a refusal, an unknown host
            for download in running:
                if download.state is State.CONNECTING:
                    download.try_connect()
                elif download.state is State.READING:
                    download.try_recv()
            now = time.monotonic()
            for download in running:
                download.check_deadline(now)
            running = [d for d in running if d.state is not State.FINISHED]
    finally:
        for download in running:
            download.close()


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m exercises.ch04_max_open",
                    description=__doc__.split("\n\n")[0], cpu=True, stage_options=[(
                        ("--max-open",),
                        {"type": whole(1), "default": MAX_OPEN, "metavar": "N",
                         "help": "download at most N poems at once (default: %(default)s)"},
                    )])


if __name__ == "__main__":
    sys.exit(main())
