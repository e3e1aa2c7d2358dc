"""Exercise 15.1: a client that gives each download a time limit, and a second try.

Each try at a poem has ``--try-for SECONDS`` in all (10 by default), however busily
the server sends: a server that trickles is given up on too, which ``--timeout`` alone
never does. A try that fails (refused, reset, silent, too slow) is said on a line of
its own, and after ``--retry-after SECONDS`` (1 by default) the download is tried once
more; the task fails only if that try fails too:

    Task 1: try 1 failed (connection reset by 127.0.0.1:10000); trying again in 1s

Each piece is a generator under ``@inline_callbacks``, so the time limit is a ``try``
with an ``except`` and a ``finally`` around one ``yield``, and the retry is the line
after an ``except``.

    python -m exercises.ch15_retry [--try-for SECONDS] [--retry-after SECONDS]
                                   [--timeout SECONDS] [--save DIR] [--timeline]
                                   [HOST:]PORT ...
"""

import sys

from coro import cli
from coro.deferred.deferred import CancelledError, Deferred
from coro.deferred.deferred_list import DeferredList
from coro.deferred.inline import inline_callbacks
from coro.deferred_client import get_poetry
from coro.io import multiplexer
from coro.reactor.loop import Reactor
from coro.trace import Event
from poetry_server.cli import seconds


class TooSlow(Exception):
    """A try at a download took longer than its time limit, and was cancelled."""

    def __init__(self, seconds):
        super().__init__(f"the try took more than {seconds:g}s")


def sleep(reactor, seconds):
    """A Deferred that fires with None in ``seconds``; cancelling it stops its timer."""
    d = Deferred(canceller=lambda d: timer.cancel())
    timer = reactor.call_later(seconds, d.callback, None)
    return d


@inline_callbacks
def within(reactor, seconds, d):
    """Wait for ``d`` for ``seconds`` at most.

    Returns:
        A Deferred of ``d``'s result, or of its failure; once ``seconds`` have passed,
        ``d`` is cancelled, and this one fails with :exc:`TooSlow`.
    """
    expired = False

    def expire():
        nonlocal expired
        expired = True
        d.cancel()

    timer = reactor.call_later(seconds, expire)
    try:
        return (yield d)
    except CancelledError:
        if expired:
            raise TooSlow(seconds) from None
        raise  # someone else cancelled it: not ours to explain
    finally:
        timer.cancel()


@inline_callbacks
def get_poetry_twice(reactor, address, *, timeout, try_for, retry_after, trace, task,
                     warn):
    """Download the poem at ``address``; if that try fails, wait and try once more.

    Args:
        try_for: Seconds each try may take, in all.
        retry_after: Seconds to wait between the two tries.
        warn: Called as ``warn(task, error)`` when the first try fails.

    Returns:
        A Deferred of the poem, or of the second try's error.
    """
    try:
        return (yield within(reactor, try_for, get_poetry(
            reactor, *address, timeout=timeout, trace=trace, task=task)))
    except (OSError, TooSlow) as error:  # refused, reset, timed out, too slow
        warn(task, error)
    yield sleep(reactor, retry_after)
    return (yield within(reactor, try_for, get_poetry(
        reactor, *address, timeout=timeout, trace=trace, task=task)))


def download_all(addresses, *, timeout, trace, done, try_for=10.0, retry_after=1.0,
                 backend=None):
    """Download the poems at the same time, each with a time limit and a second try."""
    stopping = False

    def warn(task, error):
        if not stopping:  # closing after Ctrl-C cuts the downloads short: no news
            reason = cli.describe(error, addresses[task - 1], timeout)
            print(f"Task {task}: try 1 failed ({reason}); trying again in {retry_after:g}s",
                  flush=True)

    @inline_callbacks
    def run_task(reactor, task, address):
        trace.record(task, Event.START)
        try:
            poem = yield get_poetry_twice(reactor, address, timeout=timeout,
                                          try_for=try_for, retry_after=retry_after,
                                          trace=trace, task=task, warn=warn)
        except Exception as error:  # noqa: BLE001 - whatever it is, the task failed
            if not stopping:
                done(task, error=error)
        else:
            if not stopping:
                done(task, poem=poem)

    @inline_callbacks
    def run_all(reactor):
        yield DeferredList([run_task(reactor, task, address)
                            for task, address in enumerate(addresses, start=1)])
        reactor.stop()

    with Reactor(multiplexer.create(backend)) as reactor:
        reactor.call_when_running(run_all, reactor)  # so that stop() comes after run()
        try:
            reactor.run()
        finally:
            stopping = True
    if reactor.stopped_by:
        raise KeyboardInterrupt


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m exercises.ch15_retry",
                    description=__doc__.split("\n\n")[0], finishing_order=True, stage_options=[
                        (("--try-for",), {"type": seconds, "default": 10.0,
                                          "metavar": "SECONDS",
                                          "help": "give each try at a poem this long in "
                                                  "all (default: 10)"}),
                        (("--retry-after",), {"type": seconds, "default": 1.0,
                                              "metavar": "SECONDS",
                                              "help": "wait this long before the second "
                                                      "try (default: 1)"}),
                    ])


if __name__ == "__main__":
    sys.exit(main())
