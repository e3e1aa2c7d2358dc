"""Exercise 15.2: exercise 12.2's chain of transformation servers, as straight-line code.

Exercise 12.2 tries the transformation servers in turn with an errback that returns the
next server's Deferred. Here the chain is one generator under ``@inline_callbacks``: a
``for`` loop over the servers, with a ``try`` around the transform. The command line,
the run and the output are exercise 12.2's; only the chain is new.

    python -m exercises.ch15_fallback --transform-server [HOST:]PORT
                                      [--transform-server [HOST:]PORT ...]
                                      [--transform NAME] [--timeout SECONDS]
                                      [--save DIR] [--timeline] [HOST:]PORT ...
"""

import functools
import sys

from coro import cli
from coro.deferred.inline import inline_callbacks
from coro.deferred_client import get_poetry
from coro.transform_client import BadReply, TransformError, transform
from exercises import ch12_fallback


@inline_callbacks
def get_transformed_poem(reactor, address, servers, name, *, timeout, trace, task, warn):
    """Download the poem at ``address``, then have it transformed by the first of
    ``servers`` that can, or keep it as it was.

    Args:
        warn: Called as ``warn(task, error, server, next_server)``; ``next_server`` is
            None after the last one.
    """
    poem = yield get_poetry(reactor, *address, timeout=timeout, trace=trace, task=task)
    for server, next_server in zip(servers, [*servers[1:], None]):
        try:
            return (yield transform(reactor, *server, name, poem, timeout=timeout))
        except (TransformError, BadReply, OSError) as error:
            warn(task, error, server, next_server)
    return poem  # every server failed: the poem as it was


download_all = functools.partial(ch12_fallback.download_all, chain=get_transformed_poem)


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m exercises.ch15_fallback",
                    description=__doc__.split("\n\n")[0], finishing_order=True,
                    stage_options=ch12_fallback.FALLBACK_OPTIONS)


if __name__ == "__main__":
    sys.exit(main())
