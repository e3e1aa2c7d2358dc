"""The asyncio server with streams: one coroutine per connection, reading and writing.

    python -m benchmarks.servers.asyncio_streams --workload echo|poem
"""

import asyncio
import signal

from benchmarks.servers import cli
from benchmarks.usage import raise_fd_limit


async def echo(reader, writer):
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def send_poem(reader, writer):
    writer.write(cli.poem())
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def serve(handler):
    server = await asyncio.start_server(handler, cli.HOST, 0, backlog=cli.BACKLOG)
    cli.announce(server.sockets[0].getsockname()[1])
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    await stopped.wait()
    server.close()


def main():
    args = cli.parse_args(__doc__)
    raise_fd_limit()
    asyncio.run(serve(echo if args.workload == "echo" else send_poem))


if __name__ == "__main__":
    main()
