"""The Tornado server: a TCPServer whose handler coroutine reads and writes an IOStream.

    python -m benchmarks.servers.tornado_iostream --workload echo|poem
"""

import asyncio
import signal

from tornado.iostream import StreamClosedError
from tornado.netutil import bind_sockets
from tornado.tcpserver import TCPServer

from benchmarks.servers import cli
from benchmarks.usage import raise_fd_limit


class EchoServer(TCPServer):
    async def handle_stream(self, stream, address):
        try:
            while True:
                data = await stream.read_bytes(65536, partial=True)
                await stream.write(data)
        except StreamClosedError:
            return  # the client closed: the normal end of an echo


class PoemServer(TCPServer):
    async def handle_stream(self, stream, address):
        try:
            await stream.write(cli.poem())
        finally:
            stream.close()


async def serve(server_class):
    sockets = bind_sockets(0, cli.HOST, backlog=cli.BACKLOG)
    server = server_class()
    server.add_sockets(sockets)
    cli.announce(sockets[0].getsockname()[1])
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    await stopped.wait()
    server.stop()


def main():
    args = cli.parse_args(__doc__)
    raise_fd_limit()
    asyncio.run(serve(EchoServer if args.workload == "echo" else PoemServer))


if __name__ == "__main__":
    main()
