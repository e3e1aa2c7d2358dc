"""Chapter 12: a poetry transformation service, framed with netstrings.

A slow poetry server sends a poem and closes: the end of the connection is the end of the
poem. This server answers requests, and a request cannot end that way, since the client
must keep its connection open to hear the answer. So each message carries its length, as a
netstring (:mod:`coro.netstring`). A client sends one netstring, ``<transform>.<poem>``:
the name of a transform, a dot, and the poem's bytes. The server answers with one
netstring and half-closes:

- ``ok.<the transformed poem>``, or
- ``error.<what was wrong>``: an unknown transform (the message lists the known ones), a
  request that is not a netstring or is longer than ``--max-length`` (refused as soon as
  its length says so, before the poem arrives), a poem that is not UTF-8, a transform that
  raised, a request cut short, or one not whole ``--idle-timeout`` seconds after the
  client connected.

An error is always a reply, never a silent close. There is one request per connection: so
``printf '17:upper.Li Bai, 701,' | nc 127.0.0.1 PORT`` prints the reply and ends. What a
client sends after its request is read and dropped until it closes, or until
``--idle-timeout`` seconds have passed since the reply: closing a socket that still has
unread bytes makes the kernel reset the connection, and a reset can destroy the reply
before the client reads it.

Both time limits run from the start of what the client has to do, and no byte it sends
restarts them: a client that sent one byte a second would otherwise hold its connection,
and a descriptor, for ever. At most ``--max-clients`` clients are served at once; at the
limit the server stops accepting until one has gone, and the next wait in the listen queue
(``--backlog``).

What it still lacks: a transform runs inside the reactor's loop, so a slow one would hold
up every other client; and the same poem is transformed again for every client that asks.

    python -m poetry_server.transform_server [--iface HOST] [--port PORT]
                                             [--idle-timeout SECONDS] [--backlog N]
                                             [--max-clients N] [--max-length BYTES]
"""

import sys

from coro.netstring import DEFAULT_MAX_LENGTH, NetstringDecoder, NetstringError, encode
from coro.reactor.loop import Reactor
from coro.reactor.protocol import ConnectionDone, Factory, Protocol
from poetry_server import cli
from poetry_server.client_limit import ClientLimit, default_max_clients
from poetry_server.protocol_server import protocol_starter
from poetry_server.reactor_server import Acceptor
from poetry_server.transform import TRANSFORMS, NotText


class BadRequest(ValueError):
    """A request that names no transform the server has."""


def find_transform(request, transforms):
    """Split a request's payload into its transform and its poem.

    Args:
        request: The payload of the request's netstring, ``<transform>.<poem>``.
        transforms: The table to look the name up in, ``{name: function}``.

    Returns:
        ``(name, function, poem)``.

    Raises:
        BadRequest: the payload has no dot, or names no transform of ``transforms``.
    """
    name, dot, poem = request.partition(b".")
    if not dot:
        raise BadRequest("a request is <transform>.<poem>, and this one has no '.'")
    # As ASCII; other bytes are shown escaped, and such a name matches no transform.
    shown = name.decode("ascii", errors="backslashreplace")
    if shown not in transforms:
        if len(shown) > 40:
            shown = shown[:40] + "..."
        raise BadRequest(f"unknown transform {shown!r}; known transforms: "
                         f"{', '.join(transforms)}")
    return shown, transforms[shown], poem


def ok(poem):
    """The reply that carries a transformed poem."""
    return b"ok." + poem


def error(message):
    """The reply that says what was wrong, in UTF-8."""
    return b"error." + message.encode("utf-8")


class TransformProtocol(Protocol):
    """Reads one request, writes one reply, then waits for the client to close.

    The decoder holds at most ``max_length`` bytes of the request, and is dropped once the
    reply is written. One timer runs at a time, set once per phase and never restarted by
    what the client sends: from the connection, it answers a request not whole in time;
    from the reply, it drops a client that has not closed in time.
    """

    def __init__(self, address):
        self.address = address
        self.decoder = None
        self.answered = False
        self.timer = None

    def connection_made(self, transport):
        super().connection_made(transport)
        self.decoder = NetstringDecoder(self.factory.max_length)
        self.start_timer()

    def data_received(self, data):
        if self.answered:
            return  # read and dropped: the client had its one reply
        try:
            requests = self.decoder.feed(data)
        except NetstringError as exc:
            # A whole request before the bad byte is still a request, and is answered.
            requests = exc.messages
            if not requests:
                self.reply(error(f"not a netstring request: {exc}"))
                return
        if requests:
            self.reply(self.answer(requests[0]))

    def answer(self, request):
        """The reply to one request (the payload of its netstring)."""
        name = None
        try:
            name, transform, poem = find_transform(request, self.factory.transforms)
            return ok(transform(poem))
        except (BadRequest, NotText) as exc:
            return error(str(exc))
        except Exception as exc:
            # A bug in the transform: reported with its traceback, and answered.
            where = f"transform {name!r} for {self.client}"
            self.factory.reactor.report_error(exc, where)
            return error(f"the {name} transform failed: {type(exc).__name__}: {exc}")

    def eof_received(self):
        if not self.answered:
            got = self.decoder.buffered
            self.reply(error(f"the request was cut short: the connection ended after {got} "
                             f"bytes of it" if got else "the connection ended before a request"))
        return False  # close once the reply is sent

    def reply(self, message):
        """Write the one reply, then half-close: the client gets the reply, then the end."""
        if message.startswith(b"error."):
            self.factory.tell(self.client, "got an error reply: "
                              + message[6:200].decode(errors="replace"))
        self.answered = True
        self.decoder = None  # what it held of a request is not needed any more
        self.transport.write(encode(message))
        self.transport.write_eof()
        self.start_timer()

    def time_out(self):
        self.timer = None
        if not self.answered:
            got = self.decoder.buffered
            self.reply(error(f"no whole request within {self.factory.idle_timeout:g}s of "
                             f"connecting ({got} bytes of it came)" if got else
                             f"no request within {self.factory.idle_timeout:g}s"))
            return
        self.factory.tell(self.client, f"did not close within {self.factory.idle_timeout:g}s "
                                       f"of its reply; dropped")
        self.transport.abort_connection()

    def connection_lost(self, reason):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.factory.connections -= 1
        self.factory.limit.release()
        if not self.answered:
            self.factory.tell(self.client, f"left before its reply ({_reason(reason)})")

    def start_timer(self):
        """Give the client ``idle_timeout`` seconds from now, for all it has to do next."""
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.factory.reactor.call_later(self.factory.idle_timeout, self.time_out)

    @property
    def client(self):
        return cli.format_address(self.address)


def _reason(reason):
    if isinstance(reason, ConnectionDone):
        return "closed"
    if isinstance(reason, ConnectionResetError):
        return "reset"
    return str(reason)


class TransformServerFactory(Factory):
    """What the connections share: the table of transforms and the limits.

    Args:
        reactor: The reactor the timers run on.
        transforms: ``{name: function}``; by default (None) the fixed table,
            :data:`~poetry_server.transform.TRANSFORMS`. A test may pass its own.
        idle_timeout: Seconds a client has from connecting to send its whole request,
            and from the reply to close.
        max_length: The longest request payload accepted, in bytes.
        limit: The server's ``ClientLimit`` (``poetry_server.client_limit``), in which
            each client holds a place until its connection is lost; by default one of
            its own, of the default size.
    """

    def __init__(self, reactor, transforms=None, *, idle_timeout=60.0,
                 max_length=DEFAULT_MAX_LENGTH, limit=None):
        super().__init__()
        self.reactor = reactor
        self.transforms = TRANSFORMS if transforms is None else transforms
        self.idle_timeout = idle_timeout
        self.max_length = max_length
        self.limit = ClientLimit(default_max_clients()) if limit is None else limit
        self.connections = 0

    def build_protocol(self, address):
        self.limit.take()
        protocol = TransformProtocol(address)
        protocol.factory = self
        self.connections += 1
        return protocol

    def tell(self, client, what):
        """Say on stderr what happened to a client."""
        print(f"client {client} {what}", file=sys.stderr, flush=True)


def make_parser(prog):
    """The server's argument parser."""
    parser = cli.service_parser(
        prog, __doc__.split("\n\n")[0], epilog=f"Transforms: {', '.join(TRANSFORMS)}.",
        idle_help="a client has this long from connecting to send its whole request (or "
                  "it is answered with an error), and this long from the reply to close "
                  "(or it is dropped); the bytes it sends meanwhile do not restart it "
                  "(default: 60)")
    cli.add_connection_limits(parser)
    parser.add_argument("--max-length", type=cli.whole(0, 1 << 30), default=DEFAULT_MAX_LENGTH,
                        metavar="BYTES", help="the longest request accepted "
                                              f"(default: {DEFAULT_MAX_LENGTH})")
    return parser


def main(argv=None, prog="python -m poetry_server.transform_server"):
    """Run the server until Ctrl-C or SIGTERM; return the exit status."""
    try:
        options = make_parser(prog).parse_args(argv)
        sock = cli.listen(options.iface, options.port, options.backlog)
    except cli.UsageError as exc:
        return cli.fail_usage(prog, exc)
    limit = ClientLimit(options.max_clients)
    with Reactor() as reactor:
        factory = TransformServerFactory(reactor, idle_timeout=options.idle_timeout,
                                         max_length=options.max_length, limit=limit)
        Acceptor(reactor, sock, protocol_starter(reactor, factory), limit)
        where = cli.format_address(sock.getsockname())
        line = f"Serving transforms {', '.join(TRANSFORMS)} on {where}"
        cli.run_and_announce(reactor, line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
