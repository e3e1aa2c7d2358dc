"""The command line every poetry server shares.

    python -m poetry_server [--iface HOST] [--port PORT] [--delay SECONDS]
                            [--num-bytes N] [--framed] [--backlog N]
                            [--max-clients N] POEM ...

HOST may be an IPv6 address, ``::1`` or ``[::1]``; a server on one announces itself with
the address in brackets, ``Serving tyger on [::1]:10001``, as every client takes it.

Each POEM is served on its own port: PORT, PORT+1, ... (or any free port when PORT
is 0). Every mistake a user can make here ends in one line on stderr and exit
status 2, never a traceback.

Whoever reads a server's first line may press Ctrl-C, or send SIGTERM, the moment it
appears, so a server prints nothing before both signals stop it cleanly: a server on a
loop prints its lines from inside the running loop, whose handlers are in place by then
(``run_and_announce``, or the kernel's main task); a blocking server installs its own
handlers first (``stop_on_signals``) and announces inside the ``try`` that ends it.
"""

import argparse
import errno
import math
import signal
import socket
import sys

from coro.cli import format_address, parse_host
from coro.reactor.loop import Reactor
from poetry_server.catalogue import PoemError, catalogue, load_poem
from poetry_server.client_limit import ClientLimit, default_max_clients

USAGE_ERROR = 2


class UsageError(Exception):
    """A mistake on the command line, told to the user in one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _delay(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, not {text!r}")
    return value


def seconds(text):
    """A number of seconds > 0, for an option such as ``--idle-timeout``."""
    value = _delay(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, not {text!r}")
    return value


def whole(low, high=None):
    """An argparse type: a whole number from ``low`` to ``high`` (no upper bound if None)."""
    def convert(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < low or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, not {text!r}")
        return value

    return convert


class _PlainOnly(argparse.Action):
    """``--framed`` given to a server that sends plain slow poetry only."""

    def __call__(self, parser, namespace, values, option_string=None):
        raise argparse.ArgumentError(self, f"{parser.prog} sends plain slow poetry only; "
                                           "python -m poetry_server can send it framed")


def make_parser(prog, description, *, many_poems=True, framed=False, many_clients=True):
    """The server's argument parser; ``--help`` lists the catalogue.

    With ``framed``, the server has ``--framed`` (framed slow poetry); without it,
    ``--framed`` is a usage error that says which server has it. With ``many_clients``,
    the server serves many clients at once, and has ``--max-clients``
    (``add_connection_limits``).
    """
    names = ", ".join(catalogue())
    parser = _Parser(
        prog=prog,
        description=description,
        epilog=f"POEM is a file path or one of: {names}; NAME-xN is NAME repeated "
               "N times (mariner-x50 is about 1 MB).",
    )
    parser.add_argument("--iface", type=parse_host, default="127.0.0.1", metavar="HOST",
                        help="interface to listen on, such as ::1 for IPv6 "
                             "(default: 127.0.0.1)")
    parser.add_argument("--port", type=whole(0, 65535), default=0,
                        help="port of the first poem; the next poems take the ports "
                             "after it (default: 0, any free port)")
    parser.add_argument("--delay", type=_delay, default=0.7, metavar="SECONDS",
                        help="seconds between two chunks (default: 0.7)")
    parser.add_argument("--num-bytes", type=whole(1), default=10, metavar="N",
                        help="bytes in each chunk (default: 10)")
    if framed:
        parser.add_argument("--framed", action="store_true",
                            help="send each poem as one netstring, LENGTH:POEM, (length "
                                 "first), so that a client can tell a poem cut short (the "
                                 "proxy needs it); "
                                 "default: plain, the end of the connection ends the poem")
    else:
        parser.add_argument("--framed", action=_PlainOnly, nargs=0, help=argparse.SUPPRESS,
                            default=argparse.SUPPRESS)
    add_connection_limits(parser, many_clients=many_clients)
    parser.add_argument("poems", nargs="+" if many_poems else 1, metavar="POEM",
                        help="the poem to serve" + (", one port each" if many_poems else ""))
    return parser


def parse_args(parser, argv):
    """Parse ``argv`` and load the poems.

    Returns:
        ``(options, poems)``, the poems loaded in command-line order.

    Raises:
        UsageError: for any mistake, with a one-line message.
    """
    options = parser.parse_args(argv)
    if options.port and options.port + len(options.poems) - 1 > 65535:
        raise UsageError(f"{len(options.poems)} poems from port {options.port} run past 65535")
    try:
        poems = [load_poem(name) for name in options.poems]
    except PoemError as exc:
        raise UsageError(str(exc)) from None
    return options, poems


def service_parser(prog, description, *, idle_help, epilog=None):
    """The argument parser of a server that serves no poem of its own (the transformation
    service, the proxy): ``--iface``, ``--port`` and ``--idle-timeout``, as the poetry
    servers have them. The caller adds what is particular to it."""
    parser = _Parser(prog=prog, description=description, epilog=epilog)
    parser.add_argument("--iface", type=parse_host, default="127.0.0.1", metavar="HOST",
                        help="interface to listen on, such as ::1 for IPv6 "
                             "(default: 127.0.0.1)")
    parser.add_argument("--port", type=whole(0, 65535), default=0,
                        help="port to listen on (default: 0, any free port)")
    parser.add_argument("--idle-timeout", type=seconds, default=60.0, metavar="SECONDS",
                        help=idle_help)
    return parser


def add_connection_limits(parser, *, many_clients=True):
    """Add ``--backlog`` and, for a server that serves many clients at once,
    ``--max-clients`` (``poetry_server.client_limit`` says why and how)."""
    parser.add_argument("--backlog", type=whole(1), default=socket.SOMAXCONN, metavar="N",
                        help="connections the system keeps waiting, connected, until the "
                             "server accepts them; past that it drops new ones (default: "
                             "%(default)s, socket.SOMAXCONN; the system grants at most "
                             "net.core.somaxconn)")
    if many_clients:
        parser.add_argument("--max-clients", type=whole(1), default=default_max_clients(),
                            metavar="N",
                            help="serve at most N clients at once, over every port; at the "
                                 "limit the server stops accepting until one leaves, and "
                                 "the next wait in the listen queue (default: %(default)s, "
                                 "the smaller of 512 and half the descriptor limit)")


def listen(iface, port, backlog=socket.SOMAXCONN):
    """Return a listening TCP socket bound to ``(iface, port)``.

    ``backlog`` is how many connections the system completes and keeps for the server
    while it is not accepting (chapter 8); the system caps it at ``net.core.somaxconn``.

    Raises:
        UsageError: when the port is taken or the interface is not one of ours.
    """
    try:
        infos = socket.getaddrinfo(iface, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UsageError(f"cannot listen on {iface!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {iface} is already in use") from None
        raise UsageError(f"cannot listen on {format_address((iface, port))}: "
                         f"{exc.strerror}") from None
    return sock


def listen_all(options, poems):
    """Open one listening socket per poem, closing them all if one fails."""
    listeners = []
    try:
        for offset in range(len(poems)):
            port = options.port + offset if options.port else 0
            listeners.append(listen(options.iface, port, options.backlog))
    except UsageError:
        for sock in listeners:
            sock.close()
        raise
    return listeners


def serving(poem, listener):
    """The line that says where ``poem`` is served: ``Serving <poem> on <host>:<port>``,
    an IPv6 host in brackets (``Serving tyger on [::1]:10001``), as clients take it."""
    return f"Serving {poem.name} on {format_address(listener.getsockname())}"


def announce(line):
    """Print one of the server's lines and flush it at once: someone is waiting for it.

    Call it only where Ctrl-C and SIGTERM stop the server cleanly (see the module's
    docstring): the reader may send one as soon as the line is out.
    """
    print(line, flush=True)


def stop_on_signals():
    """Make Ctrl-C (SIGINT) and ``kill`` (SIGTERM) both stop the server cleanly.

    Both raise :exc:`KeyboardInterrupt` in the main thread, even when the server was
    started with SIGINT ignored, as a shell does for ``command &``.
    """
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)


def run_and_announce(reactor, *lines):
    """Run ``reactor`` until Ctrl-C or SIGTERM, announcing ``lines`` from inside it.

    The reactor handles both signals from the moment :meth:`run
    <coro.reactor.loop.Reactor.run>` starts, not a moment before. A line printed
    before ``run()`` may be read, and the signal sent, in between: SIGINT would end
    the server with a ``KeyboardInterrupt`` traceback, SIGTERM would kill it. Printed
    by callbacks of the reactor's first tick, each line comes once both are handled.
    """
    for line in lines:
        reactor.call_when_running(announce, line)
    reactor.run()


def serve_on_reactor(argv, prog, description, serve, *, framed=False):
    """The whole life of a server on the reactor, for chapters 8 and 9.

    Parse the command line (with ``--idle-timeout``), listen on each poem's port,
    call ``serve(reactor, listener, poem, options, limit)`` for each, with one
    ``poetry_server.client_limit.ClientLimit`` for them all, and run the reactor,
    announcing each poem, until Ctrl-C or SIGTERM. Closing the reactor closes every
    socket. ``framed`` says whether the server has ``--framed``.

    Returns:
        The exit status, 0, or 2 after a usage error.
    """
    parser = make_parser(prog, description, framed=framed)
    parser.add_argument("--idle-timeout", type=seconds, default=60.0, metavar="SECONDS",
                        help="drop a client that takes no bytes for this long (default: 60)")
    try:
        options, poems = parse_args(parser, argv)
        listeners = listen_all(options, poems)
    except UsageError as exc:
        return fail_usage(prog, exc)
    limit = ClientLimit(options.max_clients)
    with Reactor() as reactor:
        for poem, listener in zip(poems, listeners):
            serve(reactor, listener, poem, options, limit)
        run_and_announce(reactor, *map(serving, poems, listeners))
    return 0


def fail_usage(prog, error):
    """Tell the user what was wrong, in one line, and return the exit status."""
    print(f"{prog}: error: {error}", file=sys.stderr)
    return USAGE_ERROR
