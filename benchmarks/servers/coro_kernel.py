"""The coro kernel server: a task per connection, over one backend.

    python -m benchmarks.servers.coro_kernel --workload echo|poem --backend select|poll|epoll
"""

from benchmarks.servers import cli
from benchmarks.usage import raise_fd_limit
from coro.io import multiplexer
from coro.kernel.loop import Kernel
from coro.kernel.sockets import listen
from coro.kernel.traps import spawn


def echo(client):
    with client:
        while True:
            data = yield from client.recv(65536)
            if not data:
                break
            yield from client.sendall(data)


def poem(client):
    with client:
        yield from client.sendall(cli.poem())


def serve(handler):
    with listen(cli.HOST, 0, backlog=cli.BACKLOG) as server:
        cli.announce(server.raw.getsockname()[1])
        while True:
            client, _ = yield from server.accept()
            yield from spawn(handler(client))


def main():
    args = cli.parse_args(__doc__, lambda parser: parser.add_argument(
        "--backend", choices=sorted(multiplexer.BACKENDS), default="epoll"))
    raise_fd_limit()
    handler = echo if args.workload == "echo" else poem
    with Kernel(multiplexer.create(args.backend)) as kernel:
        try:
            kernel.run(serve(handler))  # until SIGTERM or SIGINT
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
