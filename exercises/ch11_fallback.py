"""Exercise 11.1: a fallback poem, for a download that fails.

:func:`get_poetry_or` is chapter 11's ``get_poetry`` with one more stage in its chain:
an errback that handles network errors (a refused connection, a reset, a timeout) by
returning a poem of the program's own. An errback that returns a value puts the chain
back on the success path, as an ``except`` clause that does not raise again would, so
the caller's callback gets a poem either way. Any other error, a bug, goes on down the
chain.

    python -m exercises.ch11_fallback [--fallback POEM] [--timeout SECONDS] [HOST:]PORT ...
"""

import argparse
import functools
import sys

from coro import deferred_client, cli
from coro.deferred_client import get_poetry
from poetry_server.catalogue import PoemError, catalogue, load_poem


def get_poetry_or(reactor, host, port, fallback, *, on_failure=None, **options):
    """Download the poem at ``host:port``, or, if the network fails it, take ``fallback``.

    Args:
        fallback: The poem (bytes) to fire with instead of a network error.
        on_failure: ``on_failure(failure)`` is told of the error that was replaced.
        options: For ``get_poetry``: ``timeout``, ``trace``, ``task``.

    Returns:
        A Deferred that fires with the poem or the fallback.
    """
    def use_the_fallback(failure):
        failure.trap(OSError)  # a network error; anything else goes on down the chain
        if on_failure is not None:
            on_failure(failure)
        return fallback

    return get_poetry(reactor, host, port, **options).add_errback(use_the_fallback)


def download_all_with(get):
    """Chapter 11's ``download_all``, with ``get`` in the place of ``get_poetry``.

    ``get`` is called as ``get_poetry`` is, ``get(reactor, host, port, timeout=...,
    trace=..., task=..., **options)`` with ``download_all``'s own options, and returns a
    Deferred of the poem.
    """
    def download_all(addresses, *, timeout, trace, done, backend=None, **options):
        return deferred_client.download_all(
            addresses, timeout=timeout, trace=trace, done=done, backend=backend,
            get_poetry=functools.partial(get, **options))

    return download_all


def get_and_say_so(reactor, host, port, *, fallback, task, timeout, **options):
    """:func:`get_poetry_or`, with a line when the fallback takes a failure's place."""
    def say_so(failure):
        reason = cli.describe(failure.value, (host, port), timeout)
        print(f"Task {task}: {reason}; the fallback poem instead", flush=True)

    return get_poetry_or(reactor, host, port, fallback, on_failure=say_so, task=task,
                         timeout=timeout, **options)


download_all = download_all_with(get_and_say_so)


def a_poem(name):
    """``--fallback``: the bytes of a poem of the catalogue, or of a file."""
    try:
        return load_poem(name).data
    except PoemError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv=None):
    """Run the client; return the exit status."""
    fallback = (("--fallback",), {
        "type": a_poem, "default": "jingyesi", "metavar": "POEM",
        "help": f"the poem for a download that fails: a file, or one of "
                f"{', '.join(catalogue())} (default: jingyesi)"})
    return cli.main(download_all, argv, prog="python -m exercises.ch11_fallback",
                    description=__doc__.split("\n\n")[0], finishing_order=True,
                    stage_options=[fallback])


if __name__ == "__main__":
    sys.exit(main())
