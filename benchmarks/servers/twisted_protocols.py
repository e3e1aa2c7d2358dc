"""The Twisted server: a protocol per connection on Twisted's default reactor (epoll).

    python -m benchmarks.servers.twisted_protocols --workload echo|poem
"""

from twisted.internet import reactor
from twisted.internet.protocol import Factory, Protocol

from benchmarks.servers import cli
from benchmarks.usage import raise_fd_limit


class Echo(Protocol):
    def dataReceived(self, data):
        self.transport.write(data)


class Poem(Protocol):
    def connectionMade(self):
        self.transport.write(cli.poem())
        self.transport.loseConnection()


def main():
    args = cli.parse_args(__doc__)
    raise_fd_limit()
    protocol = Echo if args.workload == "echo" else Poem
    port = reactor.listenTCP(0, Factory.forProtocol(protocol), backlog=cli.BACKLOG,
                             interface=cli.HOST)
    cli.announce(port.getHost().port)
    reactor.run()  # Twisted's reactor stops by itself on SIGTERM and SIGINT


if __name__ == "__main__":
    main()
