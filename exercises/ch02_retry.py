"""Chapter 2, exercise: try again when a server refuses.

A server that is restarting refuses connections for a moment. This client tries a
refused connection again, up to ``--retries`` times, and waits twice as long before
each new try as before the last: 0.25s, then 0.5s, then 1s... Each retry gets a line:

    Task 2: connection refused by 127.0.0.1:10002; trying again in 0.25s

Only a refusal is tried again. A reset or a timeout means that a server was there and
went wrong; that is told at once, as before.

    python -m exercises.ch02_retry [--retries N] [--timeout SECONDS] [--save DIR]
                                   [--timeline] [HOST:]PORT ...
"""

import sys
import time

from coro import cli
from coro.blocking_client import get_poetry
from poetry_server.cli import whole

FIRST_PAUSE = 0.25


def get_poetry_retrying(address, *, task, trace, timeout, retries, wait=time.sleep):
    """Chapter 2's ``get_poetry``, tried again after each refusal, ``retries`` times at most.

    Args:
        wait: Called with the seconds to wait before each new try (a test passes its own).
    """
    pause = FIRST_PAUSE
    for _ in range(retries):
        try:
            return get_poetry(address, task=task, trace=trace, timeout=timeout)
        except ConnectionRefusedError as exc:
            print(f"Task {task}: {cli.describe(exc, address, timeout)}; "
                  f"trying again in {pause:g}s", flush=True)
            wait(pause)
            pause *= 2
    return get_poetry(address, task=task, trace=trace, timeout=timeout)  # the last try


def download_all(addresses, *, timeout, trace, done, retries, wait=time.sleep):
    """Download the poems one after another, trying each refused one again."""
    for task, address in enumerate(addresses, start=1):
        try:
            poem = get_poetry_retrying(address, task=task, trace=trace, timeout=timeout,
                                       retries=retries, wait=wait)
        except OSError as exc:
            done(task, error=exc)
        else:
            done(task, poem=poem)


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m exercises.ch02_retry",
                    description=__doc__.split("\n\n")[0], stage_options=[(
                        ("--retries",),
                        {"type": whole(0), "default": 3, "metavar": "N",
                         "help": "how many times to try a refused connection again "
                                 "(default: %(default)s)"},
                    )])


if __name__ == "__main__":
    sys.exit(main())
