"""The coro inline-callbacks server: the reactor and transports, each connection's
loop one generator that yields a Deferred per read (chapter 15).

    python -m benchmarks.servers.coro_inline --workload echo|poem

It measures what chapter 15 adds over chapter 9's protocol: a Deferred per message,
and a generator resumed through it.
"""

import collections

from benchmarks.servers import cli
from benchmarks.usage import raise_fd_limit
from coro.deferred.deferred import Deferred, succeed
from coro.deferred.inline import inline_callbacks
from coro.io import multiplexer
from coro.reactor import tcp
from coro.reactor.loop import Reactor
from coro.reactor.protocol import Factory, Protocol


class Reader(Protocol):
    """Received bytes, handed out one Deferred at a time: ``read()`` fires with the
    next chunk, or ``b""`` once the peer has closed."""

    def __init__(self, serve):
        self.serve = serve  # an inline_callbacks function that serves this connection
        self.chunks, self.waiting, self.ended = collections.deque(), None, False

    def connection_made(self, transport):
        super().connection_made(transport)
        self.serve(self)

    def data_received(self, data):
        if self.waiting is not None:
            waiting, self.waiting = self.waiting, None
            waiting.callback(data)
        else:
            self.chunks.append(data)

    def connection_lost(self, reason):
        self.ended = True
        if self.waiting is not None:
            waiting, self.waiting = self.waiting, None
            waiting.callback(b"")

    def read(self):
        if self.chunks:
            return succeed(self.chunks.popleft())
        if self.ended:
            return succeed(b"")
        self.waiting = Deferred()
        return self.waiting


@inline_callbacks
def echo(connection):
    while True:
        data = yield connection.read()
        if not data:
            break
        connection.transport.write(data)


@inline_callbacks
def poem(connection):
    connection.transport.write(cli.poem())
    connection.transport.lose_connection()
    yield connection.read()  # until the connection is gone


def main():
    args = cli.parse_args(__doc__)
    raise_fd_limit()
    factory = Factory(Reader, echo if args.workload == "echo" else poem)
    reactor = Reactor(multiplexer.create("epoll"))
    listener = tcp.listen(reactor, factory, host=cli.HOST, backlog=cli.BACKLOG)
    cli.announce(listener.address[1])
    reactor.run()  # until SIGTERM or SIGINT
    reactor.close()


if __name__ == "__main__":
    main()
