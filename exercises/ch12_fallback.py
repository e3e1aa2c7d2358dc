"""Exercise 12.2: a chain of transformation servers, each tried in turn.

``--transform-server`` may be given more than once. Each poem goes to the first
server; if that transform fails, to the next; the poem is kept as it was only once
every server has failed. Each failure gets a line that names the server and says
what comes next:

    Task 1: transform failed (connection refused by 127.0.0.1:10000); trying 127.0.0.1:10001

The chapter's chain has a callback that returns a Deferred (the transform); this one
also has an errback that returns a Deferred (the next server's transform).

    python -m exercises.ch12_fallback --transform-server [HOST:]PORT
                                      [--transform-server [HOST:]PORT ...]
                                      [--transform NAME] [--timeout SECONDS]
                                      [--save DIR] [--timeline] [HOST:]PORT ...
"""

import functools
import sys

from coro import cli
from coro.deferred.failure import Failure
from coro.deferred_client import get_poetry
from coro.io import multiplexer
from coro.reactor.loop import Reactor
from coro.trace import Event
from coro.transform_client import (STAGE_OPTIONS, BadReply, TransformError,
                                   describe_transform_failure, transform)


def transform_anywhere(poem, reactor, servers, name, *, timeout, warn):
    """Ask each server in turn to apply transform ``name`` to ``poem``.

    The poem comes first, so that this is a callback of the download.

    Args:
        servers: The transformation servers' ``(host, port)``, in the order to try them.
        warn: Called as ``warn(error, server, next_server)`` when a server's transform
            fails; ``next_server`` is None after the last one.

    Returns:
        A Deferred of the first transformed poem, or of ``poem`` as it was once every
        server has failed.
    """

    def ask(server, *rest):
        d = transform(reactor, *server, name, poem, timeout=timeout)
        d.add_errback(try_the_next, server, rest)
        return d

    def try_the_next(failure, server, rest):
        failure.trap(TransformError, BadReply, OSError)  # anything else is a bug
        warn(failure.value, server, rest[0] if rest else None)
        if not rest:
            return poem  # back on the success path, with the poem as it was
        return ask(*rest)  # a Deferred: the chain waits for the next server

    return ask(*servers)


def get_transformed_poem(reactor, address, servers, name, *, timeout, trace, task, warn):
    """Download the poem at ``address``, then have it transformed by the first of
    ``servers`` that can, or keep it as it was.

    Args:
        warn: Called as ``warn(task, error, server, next_server)``.
    """
    d = get_poetry(reactor, *address, timeout=timeout, trace=trace, task=task)
    d.add_callback(transform_anywhere, reactor, servers, name, timeout=timeout,
                   warn=functools.partial(warn, task))
    return d


def download_all(addresses, *, timeout, trace, done, transform_servers, transform_name,
                 backend=None, chain=get_transformed_poem):
    """Chapter 12's ``download_all``, with a list of transformation servers.

    Args:
        chain: The function that downloads one poem and has it transformed, with
            :func:`get_transformed_poem`'s arguments; exercise 15.2 passes its own.
    """
    remaining = len(addresses)
    stopping = False

    def warn(task, error, server, next_server):
        if not stopping:  # closing after Ctrl-C cuts the transforms short: no news
            reason = describe_transform_failure(error, server, timeout)
            then = ("kept the poem as it was" if next_server is None
                    else f"trying {next_server[0]}:{next_server[1]}")
            print(f"Task {task}: transform failed ({reason}); {then}", flush=True)

    def ended(result, task):
        nonlocal remaining
        remaining -= 1
        if not remaining:
            reactor.stop()
        if stopping:
            return None
        if isinstance(result, Failure):
            return done(task, error=result.value)
        return done(task, poem=result)

    with Reactor(multiplexer.create(backend)) as reactor:
        try:  # from the first connection on: a Ctrl-C may come before run() does
            for task, address in enumerate(addresses, start=1):
                trace.record(task, Event.START)
                d = chain(reactor, address, transform_servers, transform_name,
                          timeout=timeout, trace=trace, task=task, warn=warn)
                d.add_both(ended, task)  # an error of done() stays on d, to be reported
            reactor.run()
        finally:
            stopping = True
    if reactor.stopped_by:
        raise KeyboardInterrupt


#: The stage's options, with ``--transform-server`` given once or more.
FALLBACK_OPTIONS = [
    (("--transform-server",), {
        **STAGE_OPTIONS[0][1], "action": "append", "dest": "transform_servers",
        "help": "a transformation server (host: 127.0.0.1); give it again for another "
                "to try when the transforms of those before it fail"}),
    STAGE_OPTIONS[1],
]


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m exercises.ch12_fallback",
                    description=__doc__.split("\n\n")[0], finishing_order=True,
                    stage_options=FALLBACK_OPTIONS)


if __name__ == "__main__":
    sys.exit(main())
