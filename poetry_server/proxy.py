"""Chapter 13: a caching poetry proxy, a server that is also a client.

It speaks the slow poetry protocol on both sides. To its clients it is a poetry
server (any client of this book, or ``nc``, can download from it); to the upstream
server it is a client, through chapter 11's ``get_poetry``. What it adds is the
handling of one Deferred by many parties:

- the first client to ask starts one upstream download; clients that come while it
  runs wait for the same download, and none of them starts another;
- once the download has succeeded, the poem is cached and served at once, with no
  upstream connection at all;
- a download that fails fails every client waiting for it, and is not cached: the
  next client tries again;
- when the last client waiting for a download hangs up (closes or resets its
  connection), the download is cancelled.

The slow poetry protocol has no way to say "error": a client takes a clean close for
the end of the poem, so closing cleanly with nothing sent would hand it an empty
poem that looks whole. The proxy resets the connection instead, the one ending every
client sees as a failure. It sends the poem in one write, since a poem is a few
kilobytes; what the socket does not take at once waits in the transport, and a
client that takes nothing for ``--idle-timeout`` seconds is dropped.

What it still lacks: the cache never expires, it holds one poem, of one server,
and it takes a poem of any size from upstream.

    python -m poetry_server.proxy [--iface HOST] [--port PORT] [--idle-timeout SECONDS]
                                  [HOST:]PORT
"""

import sys

from coro.cli import describe, parse_address
from coro.deferred.deferred import CancelledError, Deferred, maybe_deferred, succeed
from coro.deferred_client import get_poetry
from coro.reactor.loop import Reactor
from coro.reactor.protocol import Factory, Protocol
from coro.reactor.tcp import Listener
from poetry_server import cli


class PoemCache:
    """One poem, fetched by one download at a time and kept once it has come.

    Invariant: ``fetching`` is the download in flight, or None. While it runs,
    ``waiters`` holds one Deferred per caller waiting for it, each the caller's own,
    and the download is cancelled when that list becomes empty. ``poem`` is set once a
    download has succeeded; a failed one leaves nothing behind.

    Args:
        fetch: Called with no arguments to start a download; returns a Deferred of the
            poem's bytes that cancelling stops.
    """

    def __init__(self, fetch):
        self._fetch = fetch
        self.poem = None
        self.fetching = None
        self.waiters = []

    def get(self):
        """Return a Deferred of the poem, of this caller's own.

        Cancelling it withdraws this caller only: the download goes on while anyone
        else waits for it.
        """
        if self.poem is not None:
            return succeed(self.poem)
        waiter = Deferred(canceller=self._withdraw)
        self.waiters.append(waiter)
        if self.fetching is None:
            self.fetching = maybe_deferred(self._fetch)
            self.fetching.add_callbacks(self._fetched, self._failed)
        return waiter

    def _withdraw(self, waiter):
        self.waiters.remove(waiter)
        if not self.waiters:
            self.fetching.cancel()  # nobody wants it any more; _failed runs at once

    def _fetched(self, poem):
        self.fetching, self.poem = None, poem
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            waiter.callback(poem)

    def _failed(self, failure):
        self.fetching = None
        waiters, self.waiters = self.waiters, []
        if not waiters:
            failure.trap(CancelledError)  # we cancelled it; anything else is reported
        for waiter in waiters:
            waiter.errback(failure)
        # Handled: each waiter has the failure now, to deal with in its own chain.


class PoemProxyProtocol(Protocol):
    """Serves one client: waits for its own Deferred of the poem, sends it, closes.

    ``waiting`` is that Deferred until it fires; a client that hangs up before then
    cancels it. There is at most one timer, the stall timer, while the transport is
    paused because the client takes nothing.
    """

    def __init__(self, address):
        self.address = address
        self.waiting = None
        self.timer = None

    def connection_made(self, transport):
        super().connection_made(transport)
        transport.register_producer(self)
        self.waiting = self.factory.cache.get()
        self.waiting.add_callbacks(self.send_poem, self.fetch_failed)

    def send_poem(self, poem):
        self.waiting = None
        self.transport.write(poem)
        self.transport.lose_connection()  # once the poem is sent

    def fetch_failed(self, failure):
        if self.waiting is None:  # the client hung up, and its Deferred was cancelled
            failure.trap(CancelledError)
            return
        self.waiting = None
        self.transport.reset_connection()

    def connection_lost(self, reason):
        self.set_timer(None)
        if self.waiting is not None:
            waiting, self.waiting = self.waiting, None
            waiting.cancel()
            if not isinstance(reason, ConnectionAbortedError):  # not dropped by us
                self.factory.tell(f"client {self.address[0]}:{self.address[1]} "
                                  f"hung up before the poem came")

    # The transport pauses us when its buffer is full: the client is taking nothing.

    def pause_producing(self):
        self.set_timer(self.factory.idle_timeout, self.stalled)

    def resume_producing(self):
        self.set_timer(None)

    def stop_producing(self):
        self.set_timer(None)

    def stalled(self):
        self.timer = None
        self.factory.tell(f"client {self.address[0]}:{self.address[1]} took nothing for "
                          f"{self.factory.idle_timeout:g}s; dropped")
        self.transport.abort_connection()

    def set_timer(self, delay, fn=None):
        """Replace the timer by one calling ``fn`` in ``delay`` seconds (none if None)."""
        if self.timer is not None:
            self.timer.cancel()
        self.timer = None if delay is None else self.factory.reactor.call_later(delay, fn)


class PoemProxyFactory(Factory):
    """What the proxy's connections share: the cache of the upstream server's poem.

    Args:
        reactor: The reactor to run on.
        upstream: ``(host, port)`` of the slow poetry server to fetch the poem from.
        idle_timeout: Give up on an upstream server that sends nothing, and on a
            client that takes nothing, for this many seconds.
    """

    def __init__(self, reactor, upstream, *, idle_timeout):
        super().__init__()
        self.reactor = reactor
        self.upstream = upstream
        self.idle_timeout = idle_timeout
        self.cache = PoemCache(self.fetch)

    def build_protocol(self, address):
        protocol = PoemProxyProtocol(address)
        protocol.factory = self
        return protocol

    def fetch(self):
        """Start downloading the poem from upstream; returns get_poetry's Deferred."""
        host, port = self.upstream
        self.tell(f"fetching the poem from {host}:{port}")
        d = get_poetry(self.reactor, host, port, timeout=self.idle_timeout)
        return d.add_callbacks(self._fetched, self._failed)

    def _fetched(self, poem):
        host, port = self.upstream
        self.tell(f"cached {len(poem)} bytes from {host}:{port}")
        return poem

    def _failed(self, failure):
        host, port = self.upstream
        if failure.check(CancelledError):
            self.tell(f"every client hung up: stopped fetching from {host}:{port}")
        else:
            self.tell(f"fetching the poem failed: "
                      f"{describe(failure.value, self.upstream, self.idle_timeout)}")
        return failure

    def tell(self, what):
        """Say what happened, on stderr."""
        print(what, file=sys.stderr, flush=True)


def serve(reactor, listener, upstream, *, idle_timeout):
    """Proxy the poem of ``upstream`` on the listening socket ``listener``.

    Returns:
        The :class:`~coro.reactor.tcp.Listener`; its ``factory`` holds the cache.
    """
    return Listener(reactor, listener,
                    PoemProxyFactory(reactor, upstream, idle_timeout=idle_timeout))


def make_parser(prog):
    """The proxy's argument parser."""
    parser = cli.service_parser(
        prog, __doc__.split("\n\n")[0],
        idle_help="give up on an upstream server that sends nothing, or a client that "
                  "takes nothing, for this long (default: 60)")
    parser.add_argument("upstream", type=parse_address, metavar="[HOST:]PORT",
                        help="the slow poetry server whose poem to serve (host: 127.0.0.1)")
    return parser


def main(argv=None, prog="python -m poetry_server.proxy"):
    """Run the proxy until Ctrl-C or SIGTERM; return the exit status."""
    try:
        options = make_parser(prog).parse_args(argv)
        sock = cli.listen(options.iface, options.port)
    except cli.UsageError as exc:
        return cli.fail_usage(prog, exc)
    with Reactor() as reactor:
        listener = serve(reactor, sock, options.upstream, idle_timeout=options.idle_timeout)
        (up_host, up_port), (host, port) = options.upstream, listener.address
        cli.run_and_announce(reactor, f"Proxying {up_host}:{up_port} on {host}:{port}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
