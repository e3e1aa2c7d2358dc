"""``python -m poetry_server``, stopped with Ctrl-C once a client has taken N bytes.

A page cannot time a reader's Ctrl-C to land in the middle of a poem; this server
presses it itself, after the same bytes on every run. It is the server of chapter 8
(the same sender, the same pacing, with ``--framed`` the same netstring), with two
more options:

- ``--ctrl-c-after N``: once a client's socket has taken N bytes, the server sends
  itself SIGINT and stops as Ctrl-C stops it, closing every connection in good order;
- ``--again``: then it is started again on the same port, and serves every later
  client the whole poem, until the next Ctrl-C.

    python -m docs._ext.interrupted_server --ctrl-c-after N [--again] [poetry server
                                           options] POEM
"""

import argparse
import signal
import sys

from coro import netstring
from poetry_server import cli, reactor_server
from poetry_server.reactor_server import Acceptor, PoemSender

PROG = "python -m docs._ext.interrupted_server"


class InterruptingSender(PoemSender):
    """A :class:`PoemSender` that presses Ctrl-C once its socket has taken ``stop_at``
    bytes; the reactor's handler stops it at the end of this tick, before another
    chunk is due."""

    def __init__(self, *args, stop_at, **kwargs):
        super().__init__(*args, **kwargs)
        self.stop_at = stop_at

    def send_next_chunk(self):
        # The chunk that reaches stop_at ends there: the server is stopped after it.
        end = min(self.offset + self.num_bytes, self.stop_at)
        self.pending = self.poem[self.offset:end]
        self.send_pending()

    def send_pending(self):
        super().send_pending()
        if self.offset >= self.stop_at and not self.closed:
            signal.raise_signal(signal.SIGINT)


def interrupting(stop_at, ports):
    """The ``serve`` of ``cli.serve_on_reactor``: ``reactor_server.serve`` with an
    :class:`InterruptingSender` per client; each listener's port is added to ``ports``."""
    def serve(reactor, listener, poem, options, limit):
        ports.append(listener.getsockname()[1])
        data = netstring.encode(poem.data) if options.framed else poem.data

        def start(sock, address):
            limit.take()
            sender = InterruptingSender(
                reactor, sock, address, data, stop_at=stop_at, on_close=limit.release,
                num_bytes=options.num_bytes, delay=options.delay,
                idle_timeout=options.idle_timeout)
            sender.start()

        Acceptor(reactor, listener, start, limit)

    return serve


def main(argv=None):
    """Serve until the Ctrl-C after N bytes (and, with ``--again``, the next); return
    the exit status."""
    parser = argparse.ArgumentParser(prog=PROG, add_help=False)
    parser.add_argument("--ctrl-c-after", type=cli.whole(1), required=True, metavar="N")
    parser.add_argument("--again", action="store_true")
    ours, rest = parser.parse_known_args(argv)
    ports = []
    status = cli.serve_on_reactor(rest, PROG, __doc__.split("\n\n")[0],
                                  interrupting(ours.ctrl_c_after, ports), framed=True)
    if status or not ours.again:
        return status
    # The last --port wins: the server that comes back listens where the first one did.
    return reactor_server.main([*rest, "--port", str(ports[0])], prog=PROG)


if __name__ == "__main__":
    sys.exit(main())
