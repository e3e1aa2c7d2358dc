"""Chapter 5, exercise: edge-triggered epoll.

Level-triggered epoll reports a socket for as long as it has bytes unread; the select
client reads 4096 bytes per report and leaves the rest for the next turn.
Edge-triggered epoll (``EPOLLET``) reports a socket only when something new happens to
it: bytes arrive, or the peer closes. A loop that reads part of what arrived is never
told about the rest, until yet more arrives. So each report must be read until the
socket would block.

The multiplexer differs from level-triggered epoll by its flags alone. The loop is the
select client's, with one more step. ``--read-once`` takes the select client's own
step instead, one read per report, to watch it stall: the poem sits in the socket, and
the download times out as if the server had gone quiet.

    python -m exercises.ch05_edge_triggered [--read-once] [--timeout SECONDS]
                                            [--save DIR] [--timeline] [HOST:]PORT ...
"""

import functools
import select
import sys
import time

from coro import cli, select_client
from coro.io.multiplexer import EpollMultiplexer
from coro.io.nonblocking import Download, State
from coro.select_client import forget, watch


class EdgeTriggeredEpoll(EpollMultiplexer):
    """epoll, edge-triggered: a descriptor is reported when something new happens to
    it, not for as long as it is ready."""

    name = "epoll-et"
    _IN = select.EPOLLIN | select.EPOLLET
    _OUT = select.EPOLLOUT | select.EPOLLET


def step(mux, download):
    """Take every step the socket allows now: no other report comes for what is already
    there."""
    if download.state is State.CONNECTING:
        select_client.step(mux, download)  # connected: watch for READ from now on
    while download.state is State.READING and download.try_recv():
        pass  # until it would block (False) or the download has finished


def download_all(addresses, *, timeout, trace, done, read_once=False):
    """Download the poems at the same time, in one thread, on edge-triggered epoll."""
    take_step = select_client.step if read_once else step
    mux = EdgeTriggeredEpoll()
    by_fd = {}
    downloads = [Download(task, address, timeout=timeout, trace=trace, done=done,
                          before_close=functools.partial(forget, mux))
                 for task, address in enumerate(addresses, start=1)]
    try:
        for download in downloads:
            download.start()
            watch(mux, by_fd, download)
        while active := [d for d in downloads if d.state is not State.FINISHED]:
            nearest = min(d.deadline for d in active)
            for fd, _ in mux.poll(max(nearest - time.monotonic(), 0)):
                take_step(mux, by_fd[fd])
            now = time.monotonic()
            for download in active:
                download.check_deadline(now)
    finally:
        for download in downloads:
            download.close()
        mux.close()


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m exercises.ch05_edge_triggered",
                    description=__doc__.split("\n\n")[0], stage_options=[(
                        ("--read-once",),
                        {"action": "store_true",
                         "help": "read once per report, as the select client does, and "
                                 "watch the download stall"},
                    )])


if __name__ == "__main__":
    sys.exit(main())
