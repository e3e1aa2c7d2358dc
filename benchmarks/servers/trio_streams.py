"""The trio server: serve_tcp runs one task per connection over a SocketStream.

    python -m benchmarks.servers.trio_streams --workload echo|poem
"""

import functools
import signal

import trio

from benchmarks.servers import cli
from benchmarks.usage import raise_fd_limit


async def echo(stream):
    try:
        async for data in stream:
            await stream.send_all(data)
    except trio.BrokenResourceError:
        return  # the client reset its connection: that ends this task, not the server


async def send_poem(stream):
    async with stream:
        await stream.send_all(cli.poem())


async def serve(handler):
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(functools.partial(
            trio.serve_tcp, handler, 0, host=cli.HOST, backlog=cli.BACKLOG))
        cli.announce(listeners[0].socket.getsockname()[1])
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                nursery.cancel_scope.cancel()
                return


def main():
    args = cli.parse_args(__doc__)
    raise_fd_limit()
    trio.run(serve, echo if args.workload == "echo" else send_poem)


if __name__ == "__main__":
    main()
