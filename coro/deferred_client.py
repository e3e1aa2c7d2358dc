"""Chapter 11: the poetry client on Deferreds.

Chapter 10's ``get_poetry`` took a callback and an errback and promised to call
exactly one of them, exactly once; every caller had to trust that promise and pass
both functions in at the start. Here ``get_poetry`` returns a
:class:`~coro.deferred.deferred.Deferred` instead. The promise is kept by the Deferred
(it fires once, and a second firing is an error), and the caller decides what to
do with the poem afterwards, by adding callbacks and errbacks to a chain.

The protocol is chapter 9's, unchanged; only the factory is new: it holds the
Deferred and fires it when the download ends. Cancelling the Deferred stops the
download (it closes the connection, or stops connecting).

    python -m coro.deferred_client [--timeout SECONDS] [--save DIR] [--timeline]
                                   [HOST:]PORT ...
"""

import sys

from coro import cli
from coro.deferred.deferred import Deferred
from coro.io import multiplexer
from coro.protocol_client import PoetryProtocol
from coro.reactor import tcp
from coro.reactor.loop import Reactor
from coro.reactor.protocol import ClientFactory
from coro.trace import Event, Trace


class DeferredClientFactory(ClientFactory):
    """A client factory whose outcome is a Deferred, ``deferred``, fired once.

    The factory lets go of the Deferred as it fires it, so a report that comes after
    that (a connection lost after a cancel) finds nothing to fire. Cancelling the
    Deferred stops the work: it closes the connection, or stops connecting.
    Subclasses decide when the work is done, and call :meth:`fire`.
    """

    def __init__(self):
        super().__init__()
        self.connector = None
        self.connection = None
        self.deferred = Deferred(canceller=self.cancel_connection)

    def build_protocol(self, address):
        self.connection = super().build_protocol(address)
        return self.connection

    def client_connection_failed(self, connector, reason):
        self.fire(reason)

    def fire(self, outcome):
        """Fire the Deferred with a result, or with a failure if ``outcome`` is an
        exception."""
        d, self.deferred = self.deferred, None
        if d is None:
            return  # cancelled: the Deferred has failed with CancelledError already
        if isinstance(outcome, BaseException):
            d.errback(outcome)
        else:
            d.callback(outcome)

    def cancel_connection(self, d):
        """The canceller: stop the work; ``cancel`` then fails the Deferred."""
        self.deferred = None
        if self.connection is not None:
            self.connection.transport.abort_connection()
        elif self.connector is not None:
            self.connector.cancel()


class PoetryClientFactory(DeferredClientFactory):
    """Makes the protocol of one download, and fires ``deferred`` with the poem."""

    protocol = PoetryProtocol

    def __init__(self, reactor, task, *, timeout, trace):
        super().__init__()
        self.reactor = reactor
        self.task = task
        self.timeout = timeout
        self.trace = trace

    def poem_finished(self, poem):
        self.fire(poem)

    def poem_failed(self, reason):
        self.fire(reason)


def get_poetry(reactor, host, port, *, timeout=10.0, trace=None, task=1):
    """Download the poem at ``host:port``.

    Args:
        timeout: Give up when the server sends nothing for this many seconds.
        trace: A :class:`~coro.trace.Trace` to record the download's events in.
        task: The task number the events are recorded under.

    Returns:
        A Deferred that fires with the poem's bytes, or fails with the error (a
        refused connection, a reset, :exc:`TimeoutError`).
    """
    factory = PoetryClientFactory(reactor, task, timeout=timeout,
                                  trace=Trace() if trace is None else trace)
    factory.connector = tcp.connect(reactor, host, port, factory, timeout=timeout)
    return factory.deferred


def download_all(addresses, *, timeout, trace, done, backend=None, get_poetry=get_poetry):
    """Download the poems at the same time, one Deferred each, on one reactor.

    A program may pass a ``get_poetry`` of its own, called the same way (the exercises do).
    """
    remaining = len(addresses)
    stopping = False

    def got_poem(poem, task):
        if not stopping:  # closing after Ctrl-C cuts the downloads short: no news
            done(task, poem=poem)

    def poem_failed(failure, task):
        if not stopping:
            done(task, error=failure.value)

    def one_less(result):
        nonlocal remaining
        remaining -= 1
        if not remaining:
            reactor.stop()
        return result  # a failure of got_poem or poem_failed goes on, to be reported

    with Reactor(multiplexer.create(backend)) as reactor:
        try:  # from the first connection on: a Ctrl-C may come before run() does
            for task, (host, port) in enumerate(addresses, start=1):
                trace.record(task, Event.START)
                d = get_poetry(reactor, host, port, timeout=timeout, trace=trace, task=task)
                d.add_callbacks(got_poem, poem_failed, callback_args=(task,),
                                errback_args=(task,))
                d.add_both(one_less)
            reactor.run()
        finally:
            stopping = True
    if reactor.stopped_by:
        raise KeyboardInterrupt


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m coro.deferred_client",
                    description=__doc__.split("\n\n")[0], finishing_order=True)


if __name__ == "__main__":
    sys.exit(main())
