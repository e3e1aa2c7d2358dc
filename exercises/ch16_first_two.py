"""Exercise 16.1: exercise 13.1's policy on the kernel: the first poems win.

Each download is a task, and the main task watches them end with ``wait_any``. Once
``--first N`` poems (2 by default) have come, it cancels each download still running
and waits for it to end: the cancel is raised at the download's wait, and its
``with`` block closes its socket on the way out. Those tasks fail with exercise 13.1's
reason:

    Task 3: failed: cancelled: 2 poems came first (127.0.0.1:10002)

    python -m exercises.ch16_first_two [--first N] [--timeout SECONDS] [--save DIR]
                                       [--timeline] [HOST:]PORT ...
"""

import sys

from coro import cli
from coro.io import multiplexer
from coro.kernel.loop import Kernel
from coro.kernel.traps import cancel, spawn, wait_any
from coro.kernel_client import get_poetry
from coro.trace import Event
from exercises.ch13_first_two import NotNeeded, how_many


def download_all(addresses, *, timeout, trace, done, first=2, backend=None):
    """Download the poems at the same time, one task each, and cancel the tasks still
    running once ``first`` poems have come."""

    def download(task, host, port):
        """One download, reported; returns whether it got its poem."""
        try:
            poem = yield from get_poetry(host, port, timeout=timeout, trace=trace, task=task)
        except Exception as error:  # refused, reset, timed out, ...
            done(task, error=error)
            return False
        done(task, poem=poem)
        return True

    def main():
        children = {}
        for task, (host, port) in enumerate(addresses, start=1):
            trace.record(task, Event.START)
            children[task] = yield from spawn(download(task, host, port))
        running, poems = list(children.values()), 0
        while running and poems < first:
            ended = yield from wait_any(running)
            running.remove(ended)
            poems += ended.result()
        for child in running:
            yield from cancel(child)  # and wait until it has ended, its socket closed
        for task, child in children.items():
            if child.cancelled:
                done(task, error=NotNeeded(first))

    with Kernel(multiplexer.create(backend)) as kernel:
        kernel.run(main())


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m exercises.ch16_first_two",
                    description=__doc__.split("\n\n")[0], finishing_order=True, stage_options=[
                        (("--first",), {"type": how_many, "default": 2, "metavar": "N",
                                        "help": "cancel the other downloads once N poems "
                                                "have come (default: 2)"})])


if __name__ == "__main__":
    sys.exit(main())
