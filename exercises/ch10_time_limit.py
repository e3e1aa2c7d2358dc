"""Exercise 10.3: a time limit for each download, with callbacks.

The client's ``--timeout`` gives up on a server that goes quiet, never on one that
trickles. :func:`get_poetry_within` gives each download ``--limit`` seconds in all: a
timer, set as the download starts, calls the errback with :exc:`TooSlow` if the
download has not ended by then.

What it cannot do is stop the download. ``get_poetry`` returns nothing to stop it
with, so the connection stays open and the bytes keep coming in, until the server
ends the poem, the silence timeout fires, or the program ends; their outcome is
ignored. Chapter 11's Deferred can be cancelled, and exercise 11.2 does it that way.

    python -m exercises.ch10_time_limit [--limit SECONDS] [--timeout SECONDS] [HOST:]PORT ...
"""

import sys

from coro import cli
from coro.callback_client import get_poetry
from coro.deferred.failure import Failure
from exercises.ch10_retry import download_all_with
from poetry_server.cli import seconds


class TooSlow(Exception):
    """The download had not ended when its time was up."""

    def __init__(self, limit):
        super().__init__(f"no poem after {limit:g}s")


def get_poetry_within(reactor, host, port, callback, errback, *, limit, **options):
    """Chapter 10's ``get_poetry``, which calls the errback with :exc:`TooSlow` once
    ``limit`` seconds have passed without an outcome. Exactly one of ``callback`` and
    ``errback`` is called, exactly once."""
    handlers = (callback, errback)  # until one of them has been called; then None

    def take():
        nonlocal handlers
        taken, handlers = handlers, None
        return taken

    def got_poem(poem):
        if taken := take():  # else the time was up already, and it is no news
            timer.cancel()
            taken[0](poem)

    def failed(failure):
        if taken := take():
            timer.cancel()
            taken[1](failure)

    def time_is_up():
        take()[1](Failure(TooSlow(limit)))  # the download goes on, and is ignored

    timer = reactor.call_later(limit, time_is_up)
    get_poetry(reactor, host, port, got_poem, failed, **options)


download_all = download_all_with(get_poetry_within)


def main(argv=None):
    """Run the client; return the exit status."""
    limit = (("--limit",), {"type": seconds, "default": 10.0, "metavar": "SECONDS",
                            "help": "give up on a download still going after this long "
                                    "(default: 10)"})
    return cli.main(download_all, argv, prog="python -m exercises.ch10_time_limit",
                    description=__doc__.split("\n\n")[0], finishing_order=True,
                    stage_options=[limit])


if __name__ == "__main__":
    sys.exit(main())
