"""Chapter 9: the poetry client as a protocol, on the reactor.

Chapter 5's client did everything itself: it made the sockets, watched them,
finished the connects, read, closed, and ran the loop. Here the reactor runs the
loop, :func:`coro.reactor.tcp.connect` makes the connection, and a transport moves the bytes.
What is left is what is particular to poetry, in two small classes:

- :class:`PoetryProtocol` collects the bytes of one poem and, when the connection
  ends, says whether that was the end of the poem or a failure;
- :class:`PoetryClientFactory` makes the protocol for one download, and hears when
  the connection could not even be made.

The protocol never touches a socket. It could run over anything that calls
``data_received`` and ``connection_lost``: a test runs it on an in-memory transport.

    python -m coro.protocol_client [--backend select|poll|epoll] [--timeout SECONDS]
                                   [--save DIR] [--timeline] [HOST:]PORT ...
"""

import errno
import io
import sys

from coro import cli
from coro.io import multiplexer
from coro.reactor import tcp
from coro.reactor.loop import Reactor
from coro.reactor.protocol import ClientFactory, ConnectionDone, Protocol
from coro.trace import Event


class PoetryProtocol(Protocol):
    """Receives one poem: every byte until the server closes the connection.

    The server closing cleanly is the end of the poem; any other end (a reset, the
    timeout) is a failure. Either way the factory hears exactly once.
    """

    def __init__(self):
        self.poem = io.BytesIO()  # the poem, held once (chapter 2 says how)
        self.timer = None
        self.failure = None

    def connection_made(self, transport):
        super().connection_made(transport)
        self.factory.trace.record(self.factory.task, Event.CONNECTED)
        self.restart_timer()

    def data_received(self, data):
        self.factory.trace.record(self.factory.task, Event.RECEIVED, len(data))
        self.poem.write(data)
        self.restart_timer()

    def connection_lost(self, reason):
        self.timer.cancel()
        if self.failure is None and isinstance(reason, ConnectionDone):
            self.factory.poem_finished(self.poem.getvalue())
        else:
            self.factory.poem_failed(self.failure or reason)

    def restart_timer(self):
        """Give up if the server sends nothing for ``timeout`` seconds from now."""
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.factory.reactor.call_later(self.factory.timeout, self.time_out)

    def time_out(self):
        self.failure = TimeoutError(errno.ETIMEDOUT, "timed out")
        self.transport.abort_connection()


class PoetryClientFactory(ClientFactory):
    """Makes the protocol of one download and reports how it ended."""

    protocol = PoetryProtocol

    def __init__(self, reactor, task, *, timeout, trace, done):
        super().__init__()
        self.reactor = reactor
        self.task = task
        self.timeout = timeout
        self.trace = trace
        self.done = done

    def poem_finished(self, poem):
        self.done(self.task, poem=poem)

    def poem_failed(self, reason):
        self.done(self.task, error=reason)

    def client_connection_failed(self, connector, reason):
        self.done(self.task, error=reason)


def download_all(addresses, *, timeout, trace, done, backend=None):
    """Download the poems at the same time, one protocol each, on one reactor."""
    remaining = len(addresses)
    stopping = False

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
                factory = PoetryClientFactory(reactor, task, timeout=timeout, trace=trace,
                                              done=finished)
                tcp.connect(reactor, host, port, factory, timeout=timeout)
            reactor.run()
        finally:
            stopping = True
    if reactor.stopped_by:
        raise KeyboardInterrupt


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m coro.protocol_client",
                    description=__doc__.split("\n\n")[0], finishing_order=True, stage_options=[(
                        ("--backend",),
                        {"choices": list(multiplexer.BACKENDS),
                         "default": multiplexer.best_backend(),
                         "help": "how the reactor waits for the sockets "
                                 "(default: %(default)s)"},
                    )])


if __name__ == "__main__":
    sys.exit(main())
