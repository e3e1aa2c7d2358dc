"""Exercise 11.2: a time limit for each download, which stops the download.

Exercise 10.3 could only call the errback at the limit: ``get_poetry`` gave it nothing
to stop the download with, so the connection stayed open. Chapter 11's ``get_poetry``
returns a Deferred, and a Deferred can be *cancelled*: its canceller closes the
connection (or stops connecting), and the Deferred fails with :exc:`CancelledError`.
So the limit is a timer that cancels the Deferred, and a stage that turns the
cancellation into :exc:`~exercises.ch10_time_limit.TooSlow`. (The Deferred's own
``add_timeout`` works the same way; it fails with :exc:`TimeoutError`.)

    python -m exercises.ch11_time_limit [--limit SECONDS] [--timeout SECONDS] [HOST:]PORT ...
"""

import sys

from coro import cli
from coro.deferred.deferred import CancelledError
from coro.deferred.failure import Failure
from coro.deferred_client import get_poetry
from exercises.ch10_time_limit import TooSlow
from exercises.ch11_fallback import download_all_with
from poetry_server.cli import seconds


def get_poetry_within(reactor, host, port, *, limit, **options):
    """Chapter 11's ``get_poetry``, cancelled if it has not fired within ``limit`` seconds.

    Returns:
        A Deferred of the poem, which fails with :exc:`TooSlow` once the time is up;
        the download has been stopped by then.
    """
    d = get_poetry(reactor, host, port, **options)
    time_was_up = False

    def time_is_up():
        nonlocal time_was_up
        time_was_up = True
        d.cancel()  # the canceller closes the connection; d fails with CancelledError

    def stop_the_clock(result):
        timer.cancel()  # in time: the timer never runs
        if time_was_up and isinstance(result, Failure) and result.check(CancelledError):
            return Failure(TooSlow(limit))
        return result  # a poem, or another failure: as it was

    timer = reactor.call_later(limit, time_is_up)
    return d.add_both(stop_the_clock)


download_all = download_all_with(get_poetry_within)


def main(argv=None):
    """Run the client; return the exit status."""
    limit = (("--limit",), {"type": seconds, "default": 10.0, "metavar": "SECONDS",
                            "help": "stop a download still going after this long "
                                    "(default: 10)"})
    return cli.main(download_all, argv, prog="python -m exercises.ch11_time_limit",
                    description=__doc__.split("\n\n")[0], finishing_order=True,
                    stage_options=[limit])


if __name__ == "__main__":
    sys.exit(main())
