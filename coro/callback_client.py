"""Chapter 10: the download as a function that calls you back.

Chapter 9's client told how each download ended to a ``done`` function that its
factory was built with, deep inside ``download_all``. Here the download is a
function any program can call, :func:`get_poetry`, and the program says at the call
what comes next: ``callback(poem)`` when the poem has arrived, ``errback(failure)``
when it could not, the error wrapped in a :class:`~coro.deferred.failure.Failure`.

The protocol is chapter 9's, unchanged. The factory is new: it promises to call
exactly one of the two functions, exactly once, however the download ends (the
poem, a reset, a timeout, a refused connection, no connection in time), and keeps
that promise in one place, :meth:`PoetryClientFactory.finish`.

What it still lacks: the caller must hand over both functions before the download
starts, and a second step that may fail goes inside the first one's callback, with
error handling of its own. Chapter 11 returns an object that stands for the result,
the Deferred, to which the next steps are added afterwards.

    python -m coro.callback_client [--timeout SECONDS] [--save DIR] [--timeline]
                                   [HOST:]PORT ...
"""

import functools
import sys

from coro import cli
from coro.deferred.failure import Failure
from coro.io import multiplexer
from coro.protocol_client import PoetryProtocol
from coro.reactor import tcp
from coro.reactor.loop import Reactor
from coro.reactor.protocol import ClientFactory
from coro.trace import Event, Trace


class PoetryClientFactory(ClientFactory):
    """Makes the protocol of one download and calls back with how it ended.

    Until the download ends, ``outcome_handlers`` holds the ``(callback, errback)``
    pair; :meth:`finish` takes it and leaves None, so at most one of the two is ever
    called, at most once. Every way a download can end leads to :meth:`finish`.
    """

    protocol = PoetryProtocol

    def __init__(self, reactor, task, callback, errback, *, timeout, trace):
        super().__init__()
        self.reactor = reactor
        self.task = task
        self.timeout = timeout
        self.trace = trace
        self.outcome_handlers = (callback, errback)

    def poem_finished(self, poem):
        self.finish(poem=poem)

    def poem_failed(self, reason):
        self.finish(error=reason)

    def client_connection_failed(self, connector, reason):
        self.finish(error=reason)

    def finish(self, *, poem=None, error=None):
        """Call the callback with the poem, or the errback with the error as a Failure.

        Raises:
            RuntimeError: The download had already ended: a bug, since a connection
                ends once and a connector that fails never connects.
        """
        handlers, self.outcome_handlers = self.outcome_handlers, None
        if handlers is None:
            raise RuntimeError(f"task {self.task}: the download ended twice")
        callback, errback = handlers
        if error is not None:
            errback(Failure(error))
            return
        # Not inside a try: an exception from the callback is a bug in the caller's
        # code, not a failed download, so it must not become an errback call (that
        # would be both). It goes up to the reactor, which reports it with its
        # traceback and goes on.
        callback(poem)


def get_poetry(reactor, host, port, callback, errback, *, timeout=10.0, trace=None,
               task=1):
    """Download the poem at ``host:port`` and call back when the download is over.

    Exactly one of ``callback`` and ``errback`` is called, exactly once, from the
    reactor's loop: never from inside ``get_poetry`` itself.

    Args:
        callback: ``callback(poem)`` gets the poem's bytes.
        errback: ``errback(failure)`` gets a :class:`~coro.deferred.failure.Failure` of what went
            wrong: a refused connection, a reset, :exc:`TimeoutError`.
        timeout: Give up when the server sends nothing for this many seconds, or does
            not accept the connection within them.
        trace: A :class:`~coro.trace.Trace` to record the download's events in.
        task: The task number the events are recorded under.
    """
    factory = PoetryClientFactory(reactor, task, callback, errback, timeout=timeout,
                                  trace=Trace() if trace is None else trace)
    tcp.connect(reactor, host, port, factory, timeout=timeout)


def download_all(addresses, *, timeout, trace, done, backend=None, get_poetry=get_poetry):
    """Download the poems at the same time, one get_poetry each, on one reactor.

    A program may pass a ``get_poetry`` of its own, called the same way (the exercises do).
    """
    remaining = len(addresses)
    stopping = False

    def got_poem(task, poem):
        finished(task, poem=poem)

    def poem_failed(task, failure):
        finished(task, error=failure.value)

    def finished(task, **outcome):
        nonlocal remaining
        if stopping:
            return  # closing after Ctrl-C cuts the downloads short: that is no news
        try:
            done(task, **outcome)
        finally:  # even when done raises: else the count never reaches 0, and we hang
            remaining -= 1
            if not remaining:
                reactor.stop()

    with Reactor(multiplexer.create(backend)) as reactor:
        try:
            for task, (host, port) in enumerate(addresses, start=1):
                trace.record(task, Event.START)
                get_poetry(reactor, host, port, functools.partial(got_poem, task),
                           functools.partial(poem_failed, task), timeout=timeout,
                           trace=trace, task=task)
            reactor.run()
        finally:
            stopping = True
    if reactor.stopped_by:
        raise KeyboardInterrupt


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m coro.callback_client",
                    description=__doc__.split("\n\n")[0], finishing_order=True)


if __name__ == "__main__":
    sys.exit(main())
