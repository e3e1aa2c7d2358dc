"""Chapter 4: non-blocking sockets and busy waiting.

All downloads in one thread, at the same time, with no blocking call at all: every
socket is non-blocking, so ``connect`` returns at once (``EINPROGRESS``) and ``recv``
raises :exc:`BlockingIOError` when nothing has arrived. The loop asks each socket in
turn, again and again, whether it has anything, until every download is done. The
downloads interleave, and the total is about the slowest one, as with threads; but
the loop never sleeps, so the process burns a whole CPU core asking questions whose
answer is nearly always "not yet". It prints its CPU time against its wall time to
show it. Chapter 5 lets the kernel tell us which socket is ready.

    python -m coro.busy_client [--timeout SECONDS] [--save DIR] [--timeline] [HOST:]PORT ...
"""

import sys
import time

from coro import cli
from coro.io.nonblocking import Download, State


def download_all(addresses, *, timeout, trace, done):
    """Download the poems at the same time, in one thread, by asking without waiting."""
    downloads = [Download(task, address, timeout=timeout, trace=trace, done=done)
                 for task, address in enumerate(addresses, start=1)]
    try:
        for download in downloads:
            download.start()
        while active := [d for d in downloads if d.state is not State.FINISHED]:
            for download in active:  # ask every socket, ready or not
                if download.state is State.CONNECTING:
                    download.try_connect()
                else:
                    download.try_recv()
            now = time.monotonic()
            for download in active:
                download.check_deadline(now)
    finally:
        for download in downloads:
            download.close()


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m coro.busy_client",
                    description=__doc__.split("\n\n")[0], finishing_order=True, cpu=True)


if __name__ == "__main__":
    sys.exit(main())
