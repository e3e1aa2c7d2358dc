"""The gevent server: a StreamServer runs one greenlet per connection, blocking-style.

    python -m benchmarks.servers.gevent_streamserver --workload echo|poem
"""

import signal

import gevent
from gevent.server import StreamServer

from benchmarks.servers import cli
from benchmarks.usage import raise_fd_limit


def echo(sock, address):
    while data := sock.recv(65536):
        sock.sendall(data)


def send_poem(sock, address):
    sock.sendall(cli.poem())  # the server closes the socket when this returns


def main():
    args = cli.parse_args(__doc__)
    raise_fd_limit()
    handler = echo if args.workload == "echo" else send_poem
    server = StreamServer((cli.HOST, 0), handler, backlog=cli.BACKLOG)
    server.start()
    cli.announce(server.server_port)
    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, server.close)  # serve_forever() then returns
    server.serve_forever()


if __name__ == "__main__":
    main()
