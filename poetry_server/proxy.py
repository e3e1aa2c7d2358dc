"""Chapter 13: a caching poetry proxy, a server that is also a client.

It speaks slow poetry on both sides. To its clients it is a poetry server (any client
of this book, or ``nc``, can download from it); to the upstream server it is a client.
What it adds is the handling of one Deferred by many parties:

- the first client to ask starts one upstream download; clients that come while it
  runs wait for the same download, and none of them starts another;
- once the download has succeeded, the poem is cached and served at once, with no
  upstream connection at all;
- a download that fails fails every client waiting for it, and is not cached: the
  next client tries again;
- a client that hangs up withdraws from the download, which goes on even when every
  client has gone, and fills the cache for the next one.

The slow poetry protocol has no way to say "error": a client takes a clean close for
the end of the poem, so the proxy resets the connection of a client it cannot serve,
the one ending every client sees as a failure. For the same reason it cannot trust a
plain slow poetry server, whose poem cut short and closed in good order looks whole
and would be cached for ever. Its upstream must send *framed* slow poetry
(``python -m poetry_server --framed``), the poem as one netstring, length first, so
that a connection that ends early is an error, never a shorter poem.

Its limits, each in ``--help`` with its default:

- ``--max-poem-bytes`` (16 MiB): a longer poem fails the fetch, refused on its length
  before any of it is held; the cache holds one poem, so no more than that;
- ``--idle-timeout`` (60 s): an upstream server that sends nothing, or a client that
  takes nothing, for that long is given up on;
- ``--max-clients`` (512, or half the descriptor limit if fewer): at the limit the proxy
  stops accepting until a client leaves, and the next wait in the listen queue
  (``--backlog``, ``socket.SOMAXCONN``).

Every client is sent the one cached poem: the transport keeps a reference to it, not
a copy, however slowly the client reads. What it still lacks: the cache never
expires, and it holds one poem, of one server.

    python -m poetry_server.proxy [--iface HOST] [--port PORT] [--idle-timeout SECONDS]
                                  [--max-poem-bytes N] [--max-clients N] [--backlog N]
                                  [HOST:]PORT
"""

import sys

from coro.cli import describe, format_address, parse_address
from coro.deferred.deferred import CancelledError, Deferred, maybe_deferred, succeed
from coro.reactor.loop import Reactor
from coro.reactor.protocol import Factory, Protocol
from coro.reactor.tcp import Listener
from poetry_server import cli
from poetry_server.client_limit import ClientLimit, default_max_clients
from poetry_server.framed import BadPoem, get_framed_poem

#: The longest poem the proxy takes from upstream, unless ``--max-poem-bytes`` says.
DEFAULT_MAX_POEM_BYTES = 16 * 1024 * 1024

#: Bytes of the poem per write to a client (see :meth:`PoemProxyProtocol.send_more`).
PIECE = 64 * 1024


class PoemCache:
    """One poem, fetched by one download at a time and kept once it has come.

    Invariant: ``fetching`` is the download in flight, or None; once started, it runs
    to its end whether or not anyone still waits, so a poem that comes is always kept.
    ``waiters`` holds one Deferred per caller waiting for it, each the caller's own.
    ``poem`` is set once a download has succeeded; a failed one leaves nothing behind.
    The cache holds that one poem, no more: its size is bounded by the fetch.

    Args:
        fetch: Called with no arguments to start a download; returns a Deferred of the
            poem's bytes. It must say itself why a download failed: the cache passes a
            failure on to the callers waiting, and there may be none left.
    """

    def __init__(self, fetch):
        self._fetch = fetch
        self.poem = None
        self.fetching = None
        self.waiters = []

    def get(self):
        """Return a Deferred of the poem, of this caller's own.

        Cancelling it withdraws this caller only: the download goes on.
        """
        if self.poem is not None:
            return succeed(self.poem)
        waiter = Deferred(canceller=self.waiters.remove)
        self.waiters.append(waiter)
        if self.fetching is None:
            self.fetching = maybe_deferred(self._fetch)
            self.fetching.add_callbacks(self._fetched, self._failed)
        return waiter

    def _fetched(self, poem):
        self.fetching, self.poem = None, poem
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            waiter.callback(poem)

    def _failed(self, failure):
        self.fetching = None
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            waiter.errback(failure)
        # Handled: each waiter has it now, and the fetch has said why it failed.


class PoemProxyProtocol(Protocol):
    """Serves one client: waits for its own Deferred of the poem, sends it, closes.

    ``waiting`` is that Deferred until it fires; a client that hangs up before then
    cancels it. Then ``rest`` is what is still to be written of the poem, a view of the
    cached poem, never a copy. There is at most one timer, the stall timer, while the
    transport is paused because the client takes nothing.
    """

    def __init__(self, address):
        self.address = address
        self.waiting = None
        self.rest = None
        self.paused = False
        self.timer = None

    def connection_made(self, transport):
        super().connection_made(transport)
        transport.register_producer(self)
        self.waiting = self.factory.cache.get()
        self.waiting.add_callbacks(self.send_poem, self.fetch_failed)

    def send_poem(self, poem):
        self.waiting = None
        self.rest = memoryview(poem)
        self.send_more()

    def send_more(self):
        """Write pieces of the poem until the transport pauses us; close after the last.

        One write of the whole poem would work too, but the transport would pause us
        once and resume us only when nearly all of it had gone: the stall timer would
        drop a client that reads slowly but steadily. Piece by piece, every resume
        says that the client has taken some.
        """
        while self.rest and not self.paused:
            piece, self.rest = self.rest[:PIECE], self.rest[PIECE:]
            self.transport.write(piece)
        if not self.rest:
            self.transport.lose_connection()  # once the poem is sent

    def fetch_failed(self, failure):
        if self.waiting is None:  # the client hung up, and its Deferred was cancelled
            failure.trap(CancelledError)
            return
        self.waiting = None
        self.transport.reset_connection()

    def connection_lost(self, reason):
        self.set_timer(None)
        self.factory.limit.release()
        if self.waiting is not None:
            waiting, self.waiting = self.waiting, None
            waiting.cancel()
            if not isinstance(reason, ConnectionAbortedError):  # not dropped by us
                self.factory.tell(f"client {format_address(self.address)} "
                                  f"hung up before the poem came")

    # The transport pauses us when its buffer is full, and resumes us once the client
    # has taken some: paused for idle_timeout, the client has taken nothing.

    def pause_producing(self):
        self.paused = True
        self.set_timer(self.factory.idle_timeout, self.stalled)

    def resume_producing(self):
        self.paused = False
        self.set_timer(None)
        if self.rest is not None:  # the poem has come
            self.send_more()

    def stop_producing(self):
        self.set_timer(None)

    def stalled(self):
        self.timer = None
        self.factory.tell(f"client {format_address(self.address)} took nothing for "
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
        upstream: ``(host, port)`` of the framed poetry server to fetch the poem from.
        idle_timeout: Give up on an upstream server that sends nothing, and on a
            client that takes nothing, for this many seconds.
        max_poem_bytes: Fail a fetch whose poem is longer than this; the cache, which
            holds one poem, holds no more.
        limit: The proxy's ``ClientLimit`` (``poetry_server.client_limit``): each
            client takes a place as its protocol is made and gives it back when its
            connection is lost.
    """

    def __init__(self, reactor, upstream, *, idle_timeout,
                 max_poem_bytes=DEFAULT_MAX_POEM_BYTES, limit=None):
        super().__init__()
        self.reactor = reactor
        self.upstream = upstream
        self.idle_timeout = idle_timeout
        self.max_poem_bytes = max_poem_bytes
        self.limit = ClientLimit(default_max_clients()) if limit is None else limit
        self.cache = PoemCache(self.fetch)

    def build_protocol(self, address):
        self.limit.take()
        protocol = PoemProxyProtocol(address)
        protocol.factory = self
        return protocol

    def fetch(self):
        """Start downloading the poem from upstream; returns get_framed_poem's Deferred,
        which says on stderr how the download ended."""
        host, port = self.upstream
        self.tell(f"fetching the poem from {format_address(self.upstream)}")
        d = get_framed_poem(self.reactor, host, port, timeout=self.idle_timeout,
                            max_bytes=self.max_poem_bytes)
        return d.add_callbacks(self._fetched, self._failed)

    def _fetched(self, poem):
        self.tell(f"cached {len(poem)} bytes from {format_address(self.upstream)}")
        return poem

    def _failed(self, failure):
        why = failure.value
        self.tell("fetching the poem failed: " + (
            str(why) if isinstance(why, BadPoem)
            else describe(why, self.upstream, self.idle_timeout)))
        return failure

    def tell(self, what):
        """Say what happened, on stderr."""
        print(what, file=sys.stderr, flush=True)


def serve(reactor, listener, upstream, *, idle_timeout,
          max_poem_bytes=DEFAULT_MAX_POEM_BYTES, limit=None):
    """Proxy the poem of ``upstream`` on the listening socket ``listener``, pausing it
    while ``limit`` is full.

    Returns:
        The :class:`~coro.reactor.tcp.Listener`; its ``factory`` holds the cache.
    """
    factory = PoemProxyFactory(reactor, upstream, idle_timeout=idle_timeout,
                               max_poem_bytes=max_poem_bytes, limit=limit)
    accepting = Listener(reactor, listener, factory)
    factory.limit.add_acceptor(accepting)
    return accepting


def make_parser(prog):
    """The proxy's argument parser: every limit is an option, with its default."""
    parser = cli.service_parser(
        prog, __doc__.split("\n\n")[0],
        idle_help="give up on an upstream server that sends nothing, or a client that "
                  "takes nothing, for this long (default: 60)",
        epilog="The upstream must send framed slow poetry (python -m poetry_server "
               "--framed ...): the poem as one netstring, so that a poem cut short is "
               "an error, never cached. The cache holds one poem, of at most "
               "--max-poem-bytes, and never expires.")
    parser.add_argument("--max-poem-bytes", type=cli.whole(0, 1 << 30),
                        default=DEFAULT_MAX_POEM_BYTES, metavar="N",
                        help="the longest poem to take from upstream; a longer one fails "
                             "the fetch, and its clients are reset (default: "
                             f"{DEFAULT_MAX_POEM_BYTES}, 16 MiB)")
    cli.add_connection_limits(parser)
    parser.add_argument("upstream", type=parse_address, metavar="[HOST:]PORT",
                        help="the framed slow poetry server whose poem to serve "
                             "(host: 127.0.0.1)")
    return parser


def main(argv=None, prog="python -m poetry_server.proxy"):
    """Run the proxy until Ctrl-C or SIGTERM; return the exit status."""
    try:
        options = make_parser(prog).parse_args(argv)
        sock = cli.listen(options.iface, options.port, options.backlog)
    except cli.UsageError as exc:
        return cli.fail_usage(prog, exc)
    with Reactor() as reactor:
        listener = serve(reactor, sock, options.upstream, idle_timeout=options.idle_timeout,
                         max_poem_bytes=options.max_poem_bytes,
                         limit=ClientLimit(options.max_clients))
        cli.run_and_announce(reactor, f"Proxying {format_address(options.upstream)} on "
                                      f"{format_address(listener.address)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
