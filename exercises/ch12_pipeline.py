"""Exercise 12.3: a pipeline of transforms, each applied to what the one before made.

``--transform`` may be given more than once: ``--transform upper --transform reverse``
has each poem put in upper case, then its lines turned upside down. Each step is one
more callback on the download's Deferred that returns a Deferred, so the chain waits
for each transform in turn and hands its poem to the next. A step that fails keeps the
poem as the step before left it, and the next step goes on from there. Each step asks
the transformation servers in turn, as exercise 12.2 does, and the rest of the client
is exercise 12.2's.

    python -m exercises.ch12_pipeline --transform-server [HOST:]PORT
                                      [--transform-server [HOST:]PORT ...]
                                      [--transform NAME ...] [--timeout SECONDS]
                                      [--save DIR] [--timeline] [HOST:]PORT ...
"""

import functools
import sys

from coro import cli
from coro.deferred_client import get_poetry
from coro.transform_client import STAGE_OPTIONS
from exercises import ch12_fallback
from exercises.ch12_fallback import transform_anywhere

#: The transform when none is named, as in the stage.
DEFAULT = STAGE_OPTIONS[1][1]["default"]


def get_transformed_poem(reactor, address, servers, names, *, timeout, trace, task, warn):
    """Download the poem at ``address``, then apply each transform of ``names`` in turn.

    Args:
        names: The transforms' names, in order; None for the stage's default.
        warn: Called as ``warn(task, error, server, next_server)``.
    """
    d = get_poetry(reactor, *address, timeout=timeout, trace=trace, task=task)
    for name in names or [DEFAULT]:
        d.add_callback(transform_anywhere, reactor, servers, name, timeout=timeout,
                       warn=functools.partial(warn, task))
    return d


download_all = functools.partial(ch12_fallback.download_all, chain=get_transformed_poem)

#: Exercise 12.2's options, with ``--transform`` given once or more.
PIPELINE_OPTIONS = [
    ch12_fallback.FALLBACK_OPTIONS[0],
    (("--transform",), {
        **STAGE_OPTIONS[1][1], "action": "append", "default": None,
        "help": f"a transform to apply (default: {DEFAULT}); give it again for another, "
                f"applied to what the one before made"}),
]


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m exercises.ch12_pipeline",
                    description=__doc__.split("\n\n")[0], finishing_order=True,
                    stage_options=PIPELINE_OPTIONS)


if __name__ == "__main__":
    sys.exit(main())
