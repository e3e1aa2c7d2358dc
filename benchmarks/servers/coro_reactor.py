"""The coro server: the reactor, a TCP listener and a protocol, on one backend.

    python -m benchmarks.servers.coro_reactor --workload echo|poem --backend select|poll|epoll
"""

from benchmarks.servers import cli
from benchmarks.usage import raise_fd_limit
from coro.io import multiplexer
from coro.reactor import tcp
from coro.reactor.loop import Reactor
from coro.reactor.protocol import Factory, Protocol


class Echo(Protocol):
    def data_received(self, data):
        self.transport.write(data)


class Poem(Protocol):
    def connection_made(self, transport):
        transport.write(cli.poem())
        transport.lose_connection()


def main():
    args = cli.parse_args(__doc__, lambda parser: parser.add_argument(
        "--backend", choices=sorted(multiplexer.BACKENDS), default="epoll"))
    raise_fd_limit()
    protocol = Echo if args.workload == "echo" else Poem
    reactor = Reactor(multiplexer.create(args.backend))
    listener = tcp.listen(reactor, Factory(protocol), host=cli.HOST, backlog=cli.BACKLOG)
    cli.announce(listener.address[1])
    reactor.run()  # until SIGTERM or SIGINT
    reactor.close()


if __name__ == "__main__":
    main()
