"""Exercise 10.1: a callback client that tries a refused connection once more.

A server that is restarting refuses connections for a moment. :func:`get_poetry_retrying`
is chapter 10's ``get_poetry`` with an errback of its own in front of the caller's:
a refused connection is tried again once, ``--pause`` seconds later, and only the
second try's outcome reaches the caller. The promise still holds: exactly one of the
caller's two functions is called, exactly once.

    python -m exercises.ch10_retry [--pause SECONDS] [--timeout SECONDS] [HOST:]PORT ...
"""

import functools
import sys

from coro import callback_client, cli
from coro.callback_client import get_poetry
from poetry_server.cli import seconds


def get_poetry_retrying(reactor, host, port, callback, errback, *, pause=0.5,
                        on_retry=None, **options):
    """Chapter 10's ``get_poetry``, which tries once more, ``pause`` seconds later, when
    the connection is refused.

    Args:
        on_retry: ``on_retry(failure)`` is told of the refusal before the second try.
        options: For ``get_poetry``: ``timeout``, ``trace``, ``task``.
    """
    def first_try_failed(failure):
        if not failure.check(ConnectionRefusedError):
            errback(failure)  # any other failure is the caller's at once
            return
        if on_retry is not None:
            on_retry(failure)
        reactor.call_later(pause, functools.partial(
            get_poetry, reactor, host, port, callback, errback, **options))

    get_poetry(reactor, host, port, callback, first_try_failed, **options)


def download_all_with(get):
    """Chapter 10's ``download_all``, with ``get`` in the place of ``get_poetry``.

    ``get`` is called as ``get_poetry`` is: ``get(reactor, host, port, callback, errback,
    timeout=..., trace=..., task=..., **options)``, with ``download_all``'s own options.
    """
    def download_all(addresses, *, timeout, trace, done, backend=None, **options):
        return callback_client.download_all(
            addresses, timeout=timeout, trace=trace, done=done, backend=backend,
            get_poetry=functools.partial(get, **options))

    return download_all


def get_and_say_so(reactor, host, port, callback, errback, *, task, timeout, pause=0.5,
                   **options):
    """:func:`get_poetry_retrying`, with a line for the second try."""
    def say_so(failure):
        reason = cli.describe(failure.value, (host, port), timeout)
        print(f"Task {task}: {reason}; trying again in {pause:g}s", flush=True)

    get_poetry_retrying(reactor, host, port, callback, errback, pause=pause,
                        on_retry=say_so, task=task, timeout=timeout, **options)


download_all = download_all_with(get_and_say_so)


def main(argv=None):
    """Run the client; return the exit status."""
    pause = (("--pause",), {"type": seconds, "default": 0.5, "metavar": "SECONDS",
                            "help": "seconds before the second try (default: 0.5)"})
    return cli.main(download_all, argv,
                    prog="python -m exercises.ch10_retry",
                    description=__doc__.split("\n\n")[0], finishing_order=True,
                    stage_options=[pause])


if __name__ == "__main__":
    sys.exit(main())
