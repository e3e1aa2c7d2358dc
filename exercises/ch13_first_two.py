"""Exercise 13.1: the first poems win, and the downloads still running are cancelled.

Chapter 13's gather client waits for every download. This one wants only the first
``--first N`` poems (2 by default) to arrive: when the Nth comes, it cancels the
DeferredList of the downloads, which cancels each download still running, and each
of those tasks fails with the reason:

    Task 3: failed: cancelled: 2 poems came first (127.0.0.1:10002)

A download that fails does not count, so with too few servers that work, every
download runs to its end, as in the gather client.

    python -m exercises.ch13_first_two [--first N] [--timeout SECONDS] [--save DIR]
                                       [--timeline] [HOST:]PORT ...
"""

import argparse
import sys

from coro import cli
from coro.deferred.deferred import CancelledError
from coro.deferred.deferred_list import DeferredList
from coro.deferred.failure import Failure
from coro.deferred_client import get_poetry
from coro.io import multiplexer
from coro.reactor.loop import Reactor
from coro.trace import Event


class NotNeeded(Exception):
    """The download was cancelled because enough poems had come first."""

    def __init__(self, first):
        super().__init__(f"cancelled: {first} poem{'' if first == 1 else 's'} came first")


def download_all(addresses, *, timeout, trace, done, first=2, backend=None):
    """Download the poems at the same time, and cancel the rest once ``first`` have come.

    Args:
        first: How many poems to wait for.
    """
    stopping = False
    poems = 0

    def got_poem(poem, task):
        nonlocal poems
        if stopping:  # closing after Ctrl-C cuts the downloads short: no news
            return
        done(task, poem=poem)
        poems += 1
        if poems == first:
            everything.cancel()  # cancels each download in the list still running

    def poem_failed(failure, task):
        error = failure.value
        if failure.check(CancelledError):  # only got_poem cancels a download
            error = NotNeeded(first)
        if not stopping:
            done(task, error=error)

    def stop(result):
        reactor.stop()
        if isinstance(result, Failure):
            result.trap(CancelledError)  # our own cancel; anything else goes on
            return None
        return result

    with Reactor(multiplexer.create(backend)) as reactor:
        try:  # from the first connection on: a Ctrl-C may come before run() does
            downloads = []
            for task, (host, port) in enumerate(addresses, start=1):
                trace.record(task, Event.START)
                d = get_poetry(reactor, host, port, timeout=timeout, trace=trace, task=task)
                d.add_callbacks(got_poem, poem_failed, callback_args=(task,),
                                errback_args=(task,))
                downloads.append(d)
            everything = DeferredList(downloads)
            # It fires when every download has ended. Cancelled, it fails with
            # CancelledError once it has cancelled them all, since the winner's own
            # Deferred has not reached the list yet when got_poem cancels it. Either
            # way, the run is over.
            everything.add_both(stop)
            reactor.run()
        finally:
            stopping = True
    if reactor.stopped_by:
        raise KeyboardInterrupt


def how_many(text):
    """``--first``'s type: a whole number of poems, 1 or more."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, not {text!r}")
    return int(text)


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m exercises.ch13_first_two",
                    description=__doc__.split("\n\n")[0], finishing_order=True, stage_options=[
                        (("--first",), {"type": how_many, "default": 2, "metavar": "N",
                                        "help": "cancel the other downloads once N poems "
                                                "have come (default: 2)"})])


if __name__ == "__main__":
    sys.exit(main())
