"""Exercise 9.1: an echo server that answers in capitals.

A protocol that writes back what it receives, upper-cased, and a factory that makes one
per connection; :class:`coro.reactor.tcp.Listener` accepts the connections and gives
each a transport. Nothing here touches a socket. Only ASCII letters change
(``bytes.upper``): a byte of a UTF-8 character may arrive in one chunk and the rest in
the next, so decoding chunk by chunk could cut a character in two.

    python -m exercises.ch09_upper_echo [--iface HOST] [--port PORT]

Talk to it with ``nc 127.0.0.1 PORT``.
"""

import argparse
import sys

from coro.reactor import tcp
from coro.reactor.loop import Reactor
from coro.reactor.protocol import Factory, Protocol
from poetry_server import cli


class UpperEcho(Protocol):
    """Writes back every byte it receives, with ASCII letters in capitals.

    When the client half-closes, the base class's ``eof_received`` closes the
    connection once everything written back has been sent.
    """

    def data_received(self, data):
        self.transport.write(data.upper())


def serve(argv, *, prog, description, factory, saying):
    """The command line of this chapter's answers: listen on ``--iface`` and ``--port``,
    and serve each connection with a protocol of ``factory`` until Ctrl-C or SIGTERM.

    The first line printed is ``<saying> on HOST:PORT``.

    Returns:
        The exit status: 0, or 2 when the address cannot be listened on.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--iface", default="127.0.0.1", metavar="HOST",
                        help="interface to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=cli.whole(0, 65535), default=0,
                        help="port to listen on (default: 0, any free port)")
    options = parser.parse_args(argv)
    try:
        sock = cli.listen(options.iface, options.port)
    except cli.UsageError as exc:
        return cli.fail_usage(prog, exc)
    with Reactor() as reactor:
        listener = tcp.Listener(reactor, sock, factory)
        host, port = listener.address
        cli.run_and_announce(reactor, f"{saying} on {host}:{port}")
    return 0


def main(argv=None):
    """Run the server until Ctrl-C or SIGTERM; return the exit status."""
    return serve(argv, prog="python -m exercises.ch09_upper_echo",
                 description=__doc__.split("\n\n")[0], factory=Factory(UpperEcho),
                 saying="Echoing in capitals")


if __name__ == "__main__":
    sys.exit(main())
