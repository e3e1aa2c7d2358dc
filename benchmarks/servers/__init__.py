"""The lineup: every server the suite measures, and how to start it.

Each server is a small module of its own, written the way its framework's users
write one, and run as a process of its own::

    python -m benchmarks.servers.<module> --workload echo|poem [its own options]

It prints its port alone on one line as soon as it listens on 127.0.0.1, and stops
with exit status 0 on SIGTERM or SIGINT. With ``--workload echo`` it sends back
whatever it receives (the echo and idle benchmarks); with ``--workload poem`` it sends
each client the 1 MiB poem of :func:`benchmarks.servers.cli.poem` and closes (bulk).
"""

import sys
from dataclasses import dataclass

from coro.io.multiplexer import FD_SETSIZE


@dataclass(frozen=True)
class Server:
    """One contender.

    Attributes:
        name: The row it gets in the tables.
        module: Its module under ``benchmarks.servers``.
        options: Extra command-line options for that module.
        timers: Its entry in :data:`benchmarks.timers.TIMERS`, or None when another
            row already measures the same event loop.
        fd_ceiling: The first descriptor number it cannot watch, if there is one.
        fd_ceiling_reason: Why, in a few words, for the tables.
    """

    name: str
    module: str
    options: tuple = ()
    timers: str | None = None
    fd_ceiling: int | None = None
    fd_ceiling_reason: str | None = None

    def command(self, workload):
        """The command line that starts this server for ``workload``."""
        return [sys.executable, "-m", f"benchmarks.servers.{self.module}",
                "--workload", workload, *self.options]


LINEUP = (
    Server("coro-select", "coro_reactor", ("--backend", "select"), "coro-select",
           fd_ceiling=FD_SETSIZE,
           fd_ceiling_reason=f"select cannot watch fds ≥ {FD_SETSIZE}"),
    Server("coro-poll", "coro_reactor", ("--backend", "poll"), "coro-poll"),
    Server("coro-epoll", "coro_reactor", ("--backend", "epoll"), "coro-epoll"),
    Server("coro-inline", "coro_inline"),
    Server("coro-kernel", "coro_kernel", ("--backend", "epoll")),
    Server("asyncio", "asyncio_protocols", (), "asyncio"),
    Server("asyncio-streams", "asyncio_streams"),
    Server("uvloop", "asyncio_protocols", ("--loop", "uvloop"), "uvloop"),
    Server("twisted", "twisted_protocols", (), "twisted"),
    Server("tornado", "tornado_iostream", (), "tornado"),
    Server("trio", "trio_streams", (), "trio"),
    Server("gevent", "gevent_streamserver", (), "gevent"),
)

#: The row every ratio is taken against: asyncio's protocols on its default loop.
BASELINE = "asyncio"
