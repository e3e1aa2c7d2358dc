"""Chapter 3: the threaded client.

The blocking client of chapter 2 with one change: each download runs in a thread of
its own, so the downloads wait for their servers at the same time and the total time
is about that of the slowest download, not the sum. ``get_poetry`` is chapter 2's,
unchanged. The price: a thread per connection, and any state the threads share (here
only the report, which takes a lock) needs locking.

    python -m coro.threaded_client [--timeout SECONDS] [--save DIR] [--timeline] [HOST:]PORT ...
"""

import sys
import threading

from coro import cli
from coro.blocking_client import get_poetry
from coro.io.threads import signals_for_the_main_thread_only


def download_all(addresses, *, timeout, trace, done):
    """Download the poems at the same time, one thread each."""

    def download(task, address):
        try:
            poem = get_poetry(address, task=task, trace=trace, timeout=timeout)
        except OSError as exc:
            done(task, error=exc)
        else:
            done(task, poem=poem)

    threads = [
        threading.Thread(target=download, args=(task, address), daemon=True)
        for task, address in enumerate(addresses, start=1)
    ]
    with signals_for_the_main_thread_only():  # so that Ctrl-C can stop the join below
        for thread in threads:
            thread.start()
    for thread in threads:
        thread.join()


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m coro.threaded_client",
                    description=__doc__.split("\n\n")[0], finishing_order=True)


if __name__ == "__main__":
    sys.exit(main())
