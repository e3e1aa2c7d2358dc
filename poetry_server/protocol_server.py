"""Chapter 9: the slow poetry server as a protocol and a factory.

Chapter 8's server handled the socket itself: partial sends, waiting for room,
noticing a hang-up. A transport does all of that now, so the protocol is left with
the poetry: write a chunk, set a timer for the next. Writing never waits and never
fails; a client that does not read makes the transport's buffer grow, and above its
high-water mark the transport pauses the protocol (it is registered as the
transport's *producer*). A client that stays paused for ``--idle-timeout`` seconds
is dropped.

The clients are accepted by chapter 8's :class:`~poetry_server.reactor_server.Acceptor`,
which stops accepting at ``--max-clients``, and each gets a protocol on a transport
(``protocol_starter``). The factory counts the clients, as the protocols begin and
end.

    python -m poetry_server.protocol_server [--iface HOST] [--port PORT] [--delay SECONDS]
                                            [--num-bytes N] [--idle-timeout SECONDS]
                                            [--backlog N] [--max-clients N] POEM ...
"""

import socket
import sys

from coro.reactor.protocol import ConnectionDone, Factory, Protocol
from coro.reactor.transport import Transport
from poetry_server import cli
from poetry_server.client_limit import ClientLimit, default_max_clients
from poetry_server.reactor_server import Acceptor


class PoetryServerProtocol(Protocol):
    """Sends the factory's poem, a chunk per ``delay``, unless the client is not reading.

    There is at most one timer at a time: the next chunk's or, while paused, the
    stall timer that drops the client.
    """

    def __init__(self, address):
        self.address = address
        self.offset = 0
        self.paused = False
        self.timer = None

    def connection_made(self, transport):
        super().connection_made(transport)
        transport.register_producer(self)
        self.send_next_chunk()

    def send_next_chunk(self):
        self.timer = None
        poem = self.factory.poem
        chunk = poem[self.offset:self.offset + self.factory.num_bytes]
        self.transport.write(chunk)  # never waits; may pause us if the client lags
        self.offset += len(chunk)
        if self.offset == len(poem):
            self.transport.lose_connection()  # sends the rest first: then the poem is over
        elif not self.paused:
            self.set_timer(self.factory.delay, self.send_next_chunk)

    def pause_producing(self):
        """The transport's buffer is full: stop, and drop the client if it stays full."""
        self.paused = True
        self.set_timer(self.factory.idle_timeout, self.stalled)

    def resume_producing(self):
        self.paused = False
        if self.offset < len(self.factory.poem):
            self.set_timer(self.factory.delay, self.send_next_chunk)
        else:
            self.set_timer(None)

    def stop_producing(self):
        self.set_timer(None)

    def stalled(self):
        self.timer = None
        self.factory.tell(self.address,
                          f"took nothing for {self.factory.idle_timeout:g}s; dropped")
        self.transport.abort_connection()

    def connection_lost(self, reason):
        self.set_timer(None)
        self.factory.limit.release()
        if isinstance(reason, (ConnectionDone, ConnectionAbortedError)):
            return  # the end of the poem, or we dropped it (and said so)
        if isinstance(reason, (ConnectionResetError, BrokenPipeError)):
            self.factory.tell(self.address, "hung up before the end of the poem")
        else:
            self.factory.tell(self.address, f"lost before the end of the poem: {reason}")

    def set_timer(self, delay, fn=None):
        """Replace the timer by one calling ``fn`` in ``delay`` seconds (none if None)."""
        if self.timer is not None:
            self.timer.cancel()
        self.timer = None if delay is None else self.factory.reactor.call_later(delay, fn)


class PoetryServerFactory(Factory):
    """What every connection to one poem's port shares: the poem, the pacing, and the
    server's ``ClientLimit`` (``poetry_server.client_limit``; by default one of its
    own, of the default size), in which each protocol holds a place from the moment it
    is built until its connection is lost."""

    def __init__(self, reactor, poem, *, num_bytes, delay, idle_timeout, limit=None):
        super().__init__()
        self.reactor = reactor
        self.poem = poem
        self.num_bytes, self.delay, self.idle_timeout = num_bytes, delay, idle_timeout
        self.limit = ClientLimit(default_max_clients()) if limit is None else limit

    def build_protocol(self, address):
        self.limit.take()
        protocol = PoetryServerProtocol(address)
        protocol.factory = self
        return protocol

    def tell(self, address, what):
        print(f"client {cli.format_address(address)} {what}", file=sys.stderr, flush=True)


def protocol_starter(reactor, factory):
    """The ``start`` of an :class:`~poetry_server.reactor_server.Acceptor` that serves
    each client as the runtime's :class:`~coro.reactor.tcp.Listener` would: with a
    protocol from ``factory``, on a transport."""
    def start(sock, address):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # chunks go at once
            transport = Transport(reactor, sock, factory.build_protocol(address))
        except BaseException:
            sock.close()
            raise
        transport.start()

    return start


def serve(reactor, listener, poem, options, limit):
    """Serve ``poem`` on ``listener``: an acceptor that stops at ``limit``, and a factory
    that makes the protocols."""
    factory = PoetryServerFactory(reactor, poem.data, num_bytes=options.num_bytes,
                                  delay=options.delay, idle_timeout=options.idle_timeout,
                                  limit=limit)
    Acceptor(reactor, listener, protocol_starter(reactor, factory), limit)


def main(argv=None, prog="python -m poetry_server.protocol_server"):
    """Run the server until Ctrl-C or SIGTERM; return the exit status."""
    return cli.serve_on_reactor(argv, prog, __doc__.split("\n\n")[0], serve)


if __name__ == "__main__":
    sys.exit(main())
