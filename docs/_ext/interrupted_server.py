"""``python -m poetry_server``, stopped as Ctrl-C stops it once a client has taken N bytes.

A page cannot time a reader's Ctrl-C to land in the middle of a poem; this server does
what Ctrl-C does to it, after the same bytes on every run. It is the server of
chapter 8 (the same sender, the same pacing, with ``--framed`` the same netstring),
with two more options:

- ``--ctrl-c-after N``: once a client's socket has taken N bytes, the server stops as
  Ctrl-C stops it: that connection is closed in good order, and the port no longer
  listens. The process itself stays, idle, until a real Ctrl-C, so that the page's run
  stops it at a moment of its own choosing, never while it is on its way out;
- ``--again``: then a server is started again on the same port, and serves every later
  client the whole poem.

    python -m docs._ext.interrupted_server --ctrl-c-after N [--again] [poetry server
                                           options] POEM
"""

import argparse
import sys

from coro import netstring
from poetry_server import cli
from poetry_server.reactor_server import Acceptor, PoemSender, poem_sender

PROG = "python -m docs._ext.interrupted_server"


class InterruptingSender(PoemSender):
    """A :class:`PoemSender` that calls ``stopped(self)`` once its socket has taken
    ``stop_at`` bytes, before another chunk is due."""

    def __init__(self, *args, stop_at, stopped, **kwargs):
        super().__init__(*args, **kwargs)
        self.stop_at, self.stopped = stop_at, stopped

    def send_next_chunk(self):
        # The chunk that reaches stop_at ends there: the server is stopped after it.
        end = min(self.offset + self.num_bytes, self.stop_at)
        self.pending = self.poem[self.offset:end]
        self.send_pending()

    def send_pending(self):
        super().send_pending()
        if self.offset >= self.stop_at and not self.closed:
            self.stopped(self)


def interrupting(stop_at, again):
    """The ``serve`` of ``cli.serve_on_reactor``: ``reactor_server.serve`` with an
    :class:`InterruptingSender` per client, and what Ctrl-C does when one stops."""
    def serve(reactor, listener, poem, options, limit):
        port = listener.getsockname()[1]
        data = netstring.encode(poem.data) if options.framed else poem.data
        sending = {"num_bytes": options.num_bytes, "delay": options.delay,
                   "idle_timeout": options.idle_timeout}

        def stopped(sender):
            sender.close()  # in good order, as closing the reactor closes it
            acceptor.close()
            if again:
                Acceptor(reactor, cli.listen(options.iface, port, options.backlog),
                         poem_sender(reactor, data, limit, **sending), limit)

        def start(sock, address):
            limit.take()
            InterruptingSender(reactor, sock, address, data, stop_at=stop_at,
                               stopped=stopped, on_close=limit.release, **sending).start()

        acceptor = Acceptor(reactor, listener, start, limit)

    return serve


def main(argv=None):
    """Serve until Ctrl-C, stopping as Ctrl-C stops it after N bytes; return the exit
    status."""
    parser = argparse.ArgumentParser(prog=PROG, add_help=False)
    parser.add_argument("--ctrl-c-after", type=cli.whole(1), required=True, metavar="N")
    parser.add_argument("--again", action="store_true")
    ours, rest = parser.parse_known_args(argv)
    return cli.serve_on_reactor(rest, PROG, __doc__.split("\n\n")[0],
                                interrupting(ours.ctrl_c_after, ours.again), framed=True)


if __name__ == "__main__":
    sys.exit(main())
