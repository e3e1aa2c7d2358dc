"""Exercise 13.2: at most N downloads at a time.

Chapter 13's gather client starts every download at once: a thousand addresses would
be a thousand connections. This one keeps at most ``--at-most N`` (2 by default)
running. It runs N *lanes*: a lane downloads one poem, and when that download has
ended, well or not, starts the next one nobody has started, until none is left. Each
lane is a Deferred, whose callback returns the Deferred of the lane's next download,
so the lane's chain waits for it (chapter 12); a DeferredList of the lanes fires when
the last poem has come.

    python -m exercises.ch13_at_most [--at-most N] [--timeout SECONDS] [--save DIR]
                                     [--timeline] [HOST:]PORT ...
"""

import collections
import sys

from coro import cli
from coro.deferred.deferred import succeed
from coro.deferred.deferred_list import DeferredList
from coro.deferred_client import get_poetry
from coro.io import multiplexer
from coro.reactor.loop import Reactor
from coro.trace import Event
from exercises.ch13_first_two import how_many


def download_all(addresses, *, timeout, trace, done, at_most=2, backend=None):
    """Download the poems, at most ``at_most`` at the same time.

    Args:
        at_most: How many downloads may run at once.
    """
    waiting = collections.deque(enumerate(addresses, start=1))
    stopping = False

    def got_poem(poem, task):
        if not stopping:  # closing after Ctrl-C cuts the downloads short: no news
            done(task, poem=poem)

    def poem_failed(failure, task):
        if not stopping:
            done(task, error=failure.value)

    def lane(_=None):
        """Download the next poem, then the next, until none is left."""
        if not waiting or stopping:
            return succeed(None)
        task, (host, port) = waiting.popleft()
        trace.record(task, Event.START)
        d = get_poetry(reactor, host, port, timeout=timeout, trace=trace, task=task)
        d.add_callbacks(got_poem, poem_failed, callback_args=(task,), errback_args=(task,))
        d.add_callback(lane)  # returns the next download's Deferred: the lane waits for it
        return d

    with Reactor(multiplexer.create(backend)) as reactor:
        try:  # from the first connection on: a Ctrl-C may come before run() does
            lanes = DeferredList([lane() for _ in range(min(at_most, len(addresses)))])
            lanes.add_callback(lambda results: reactor.stop())
            reactor.run()
        finally:
            stopping = True
    if reactor.stopped_by:
        raise KeyboardInterrupt


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m exercises.ch13_at_most",
                    description=__doc__.split("\n\n")[0], finishing_order=True, stage_options=[
                        (("--at-most",), {"type": how_many, "default": 2, "metavar": "N",
                                          "help": "run at most N downloads at a time "
                                                  "(default: 2)"})])


if __name__ == "__main__":
    sys.exit(main())
