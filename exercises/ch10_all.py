"""Exercise 10.2: all the poems, or the first failure, with callbacks.

:func:`get_all_poetry` downloads from many servers at once and calls back *once*: with
every poem, in the order of the addresses, when the last has arrived; or with the
first failure, as soon as it happens. The downloads still going on then are not
stopped (``get_poetry`` gives its caller nothing to stop them with), and whatever they
end with is ignored.

    python -m exercises.ch10_all [--timeout SECONDS] [HOST:]PORT ...

It says how big each poem is, or what went wrong, and exits 0 or 1.
"""

import argparse
import sys
import time

from coro import cli
from coro.callback_client import get_poetry
from coro.reactor.loop import Reactor
from poetry_server.cli import seconds


def get_all_poetry(reactor, addresses, callback, errback, **options):
    """Download from every address at once, and call back once, when all have arrived
    or one has failed.

    Exactly one of ``callback`` and ``errback`` is called, exactly once, from the
    reactor's loop.

    Args:
        callback: ``callback(poems)`` gets the poems, in the order of ``addresses``.
        errback: ``errback(failure, n)`` gets the first failure, and the index in
            ``addresses`` of the download that failed.
        options: For each ``get_poetry``: ``timeout``, ``trace``.
    """
    poems = [None] * len(addresses)
    missing = len(addresses)
    handlers = (callback, errback)  # until one of them has been called; then None

    def got(n, poem):
        nonlocal missing
        poems[n] = poem
        missing -= 1
        if not missing:
            call_back(0, poems)

    def call_back(which, *args):
        nonlocal handlers
        if handlers is not None:  # the first outcome; what comes after is no news
            chosen, handlers = handlers[which], None
            chosen(*args)

    for n, (host, port) in enumerate(addresses):
        get_poetry(reactor, host, port, lambda poem, n=n: got(n, poem),
                   lambda failure, n=n: call_back(1, failure, n), task=n + 1, **options)
    if not addresses:  # nothing to wait for; but still not from inside this call
        reactor.call_soon(call_back, 0, poems)


def main(argv=None):
    """Download every poem or none; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m exercises.ch10_all",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("addresses", nargs="+", type=cli.parse_address,
                        metavar="[HOST:]PORT", help="a poetry server (host: 127.0.0.1)")
    parser.add_argument("--timeout", type=seconds, default=10.0, metavar="SECONDS",
                        help="give up on a server that sends nothing for this long "
                             "(default: 10)")
    options = parser.parse_args(argv)
    began = time.monotonic()
    status = cli.FAILED

    def got_all(poems):
        nonlocal status
        status = cli.OK
        sizes = ", ".join(str(len(poem)) for poem in poems)
        print(f"Got all {len(poems)} poems in {time.monotonic() - began:.2f}s: "
              f"{sizes} bytes")
        reactor.stop()

    def one_failed(failure, n):
        reason = cli.describe(failure.value, options.addresses[n], options.timeout)
        print(f"No poems: download {n + 1} failed: {reason}")
        reactor.stop()

    try:
        with cli.interrupted_by_signals(), Reactor() as reactor:
            get_all_poetry(reactor, options.addresses, got_all, one_failed,
                           timeout=options.timeout)
            reactor.run()
        if reactor.stopped_by:
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return cli.INTERRUPTED
    return status


if __name__ == "__main__":
    sys.exit(main())
