"""Exercise 13.3: a caching proxy whose poem expires.

Chapter 13's proxy keeps its poem for as long as it runs: a poem changed upstream is
never seen. This one forgets it ``--max-age SECONDS`` after it came, and the next
client's request fetches it again, with every rule of the stage's cache kept: one
download at a time, however many clients wait for it.

    python -m exercises.ch13_expiring_proxy --max-age SECONDS [the proxy's options]
                                            [HOST:]PORT
"""

import sys

from coro.reactor.loop import Reactor
from coro.reactor.tcp import Listener
from poetry_server import cli
from poetry_server.client_limit import ClientLimit
from poetry_server.proxy import PoemCache, PoemProxyFactory, make_parser


class ExpiringCache(PoemCache):
    """A :class:`~poetry_server.proxy.PoemCache` that forgets its poem ``max_age``
    seconds after the poem came.

    Invariant: ``fetched_at`` is when ``poem`` came, by ``now()``, whenever ``poem``
    is set.
    """

    def __init__(self, fetch, *, now, max_age):
        super().__init__(lambda: fetch().add_callback(self._note_the_time))
        self.now = now
        self.max_age = max_age
        self.fetched_at = None

    def _note_the_time(self, poem):
        self.fetched_at = self.now()
        return poem

    def get(self):
        """As the stage's ``get``, but a poem past its age is fetched again."""
        if self.poem is not None and self.now() - self.fetched_at >= self.max_age:
            self.poem = None
        return super().get()


class ExpiringProxyFactory(PoemProxyFactory):
    """The stage's factory, whose cache is an :class:`ExpiringCache`."""

    def __init__(self, reactor, upstream, *, max_age, **options):
        super().__init__(reactor, upstream, **options)
        self.cache = ExpiringCache(self.fetch, now=reactor.time, max_age=max_age)


def main(argv=None, prog="python -m exercises.ch13_expiring_proxy"):
    """Run the proxy until Ctrl-C or SIGTERM; return the exit status."""
    parser = make_parser(prog)
    parser.epilog = parser.epilog.replace("never expires", "expires after --max-age seconds")
    parser.add_argument("--max-age", type=cli.seconds, required=True, metavar="SECONDS",
                        help="fetch the poem again for a client that comes this long after "
                             "it was fetched")
    try:
        options = parser.parse_args(argv)
        sock = cli.listen(options.iface, options.port, options.backlog)
    except cli.UsageError as exc:
        return cli.fail_usage(prog, exc)
    with Reactor() as reactor:
        factory = ExpiringProxyFactory(reactor, options.upstream, max_age=options.max_age,
                                       idle_timeout=options.idle_timeout,
                                       max_poem_bytes=options.max_poem_bytes,
                                       limit=ClientLimit(options.max_clients))
        listener = Listener(reactor, sock, factory)
        factory.limit.add_acceptor(listener)
        (up_host, up_port), (host, port) = options.upstream, listener.address
        cli.run_and_announce(reactor, f"Proxying {up_host}:{up_port} on {host}:{port}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
