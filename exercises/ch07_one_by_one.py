"""Exercise 7.1: the completion client, one download after another.

The proactor performs the reads, but that alone does not make the downloads overlap.
What does is that chapter 7's client submits every download's connect before it waits
for any completion. This client starts one download, takes its completions until it is
over, and only then starts the next: chapter 2's blocking client, rebuilt on
completions, and as slow as it, since its total is the sum of the downloads.

The downloads are chapter 7's :class:`coro.completion_client.Download`, unchanged.

    python -m exercises.ch07_one_by_one [--proactor auto|uring|threads]
                                        [--timeout SECONDS] [--timeline] [HOST:]PORT ...
"""

import math
import sys
import time

from coro import cli
from coro.completion_client import Download, State
from coro.io.proactor import KINDS, ProactorUnavailable, open_proactor

PROG = "python -m exercises.ch07_one_by_one"

#: Chapter 7's ``--proactor``, for the command lines of this chapter's answers.
PROACTOR_OPTION = (("--proactor",), {
    "choices": list(KINDS), "default": "auto",
    "help": "who performs the operations: io_uring (uring), a thread pool (threads), "
            "or io_uring where it works (auto, the default)"})


def download_all(addresses, *, timeout, trace, done, proactor="auto"):
    """Download the poems one after another: submit, and wait for that download alone."""
    engine, description = open_proactor(proactor)
    download = None
    try:
        for task, address in enumerate(addresses, start=1):
            download = Download(task, address, engine=engine, timeout=timeout,
                                trace=trace, done=done)
            download.start()
            while download.state is not State.FINISHED:  # only one thing to wait for
                wait = (None if download.deadline == math.inf
                        else max(download.deadline - time.monotonic(), 0))
                for _, result in engine.wait(wait):
                    download.completed(result)
                download.check_deadline(time.monotonic())
    finally:
        engine.close()  # what is in flight is cancelled, and completes
        if download is not None:
            download.close()  # then its socket is closed, with nothing in flight
    print(description, file=sys.stderr)


def main(argv=None):
    """Run the client; return the exit status."""
    try:
        return cli.main(download_all, argv, prog=PROG, description=__doc__.split("\n\n")[0],
                        stage_options=[PROACTOR_OPTION])
    except ProactorUnavailable as exc:
        print(f"{PROG}: error: --proactor uring: {exc}", file=sys.stderr)
        return cli.USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
