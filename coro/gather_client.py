"""Chapter 13: the poetry client that waits for its downloads as a group.

Every client so far counted its downloads by hand: a ``remaining`` number, one less
as each ended, and a stop when it reached nothing. Here the Deferreds of the
downloads go into a :class:`~coro.deferred.deferred_list.DeferredList`, a Deferred that fires
when all of them have, and the client stops when that one fires. Counting is the
list's business now.

The group is also one thing to cancel, and one thing to put a time limit on. With
``--deadline SECONDS``, the whole run has one: when it passes, the list is
cancelled, which cancels each download still running (chapter 11's canceller closes
its connection), and those tasks fail with the reason; the tasks that had finished
keep their poems.

What it still lacks: a download that fails is not retried, and two tasks that ask
the same server for the same poem download it twice. The caching proxy of this
chapter (:mod:`poetry_server.proxy`) answers the second.

    python -m coro.gather_client [--deadline SECONDS] [--timeout SECONDS] [--save DIR]
                                 [--timeline] [HOST:]PORT ...
"""

import sys

from coro import cli
from coro.deferred.deferred import CancelledError
from coro.deferred.deferred_list import DeferredList
from coro.deferred_client import get_poetry
from coro.io import multiplexer
from coro.reactor.loop import Reactor
from coro.trace import Event


def download_all(addresses, *, timeout, trace, done, deadline=None, backend=None):
    """Download the poems at the same time, and stop when the group of them is done.

    Args:
        deadline: Seconds the whole run may take; the downloads still running then
            are cancelled. None for no deadline.
    """
    stopping = False

    def got_poem(poem, task):
        if not stopping:  # closing after Ctrl-C cuts the downloads short: no news
            done(task, poem=poem)

    def poem_failed(failure, task):
        error = failure.value
        if failure.check(CancelledError):  # only the deadline cancels a download
            error = cli.DeadlinePassed(deadline)
        if not stopping:
            done(task, error=error)

    with Reactor(multiplexer.create(backend)) as reactor:
        try:  # from the first connection on: a Ctrl-C may come before run() does
            downloads = []
            for task, (host, port) in enumerate(addresses, start=1):
                trace.record(task, Event.START)
                d = get_poetry(reactor, host, port, timeout=timeout, trace=trace, task=task)
                d.add_callbacks(got_poem, poem_failed, callback_args=(task,),
                                errback_args=(task,))
                downloads.append(d)
            # Each download's own chain has told its outcome already, so errors are not
            # consumed here: a Failure that reaches the list is a bug in got_poem or
            # poem_failed, and it stays on its Deferred to be reported.
            everything = DeferredList(downloads)
            if deadline is not None:  # then cancel the list, and so each download in it
                everything.add_timeout(deadline, reactor)
            everything.add_callback(lambda results: reactor.stop())
            reactor.run()
        finally:
            stopping = True
    if reactor.stopped_by:
        raise KeyboardInterrupt


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m coro.gather_client",
                    description=__doc__.split("\n\n")[0], finishing_order=True,
                    stage_options=[cli.DEADLINE_OPTION])


if __name__ == "__main__":
    sys.exit(main())
