"""The asyncio server with protocols and transports, on asyncio's loop or uvloop's.

    python -m benchmarks.servers.asyncio_protocols --workload echo|poem [--loop asyncio|uvloop]
"""

import asyncio
import signal

from benchmarks.servers import cli
from benchmarks.usage import raise_fd_limit


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


class Poem(asyncio.Protocol):
    def connection_made(self, transport):
        transport.write(cli.poem())
        transport.close()  # once the poem is sent


async def serve(protocol):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(protocol, cli.HOST, 0, backlog=cli.BACKLOG)
    cli.announce(server.sockets[0].getsockname()[1])
    stopped = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    await stopped.wait()
    server.close()


def main():
    args = cli.parse_args(__doc__, lambda parser: parser.add_argument(
        "--loop", choices=("asyncio", "uvloop"), default="asyncio"))
    raise_fd_limit()
    protocol = Echo if args.workload == "echo" else Poem
    if args.loop == "uvloop":
        import uvloop  # only this variant needs it
        uvloop.run(serve(protocol))
    else:
        asyncio.run(serve(protocol))


if __name__ == "__main__":
    main()
