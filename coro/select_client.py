"""Chapter 5: I/O multiplexing, the first event loop.

Chapter 4's downloads, driven by a loop that sleeps until the kernel says a socket
is ready, instead of asking every socket all the time. Each turn of the loop:

1. work out how long it may sleep (until the nearest download's deadline);
2. sleep in the multiplexer (select, poll or epoll) until a socket is ready;
3. run the step of each download whose socket is ready: finish its connect, or read.

A socket being connected is watched for WRITE (the kernel makes it writable when the
connect finishes, well or badly); a connected one for READ. The downloads interleave,
the total is about the slowest one, and the CPU stays nearly idle. What it still
lacks: the loop and the poetry are tangled together in one function. Chapter 8 pulls
the loop out and gives it a name.

    python -m coro.select_client [--backend select|poll|epoll] [--timeout SECONDS]
                                 [--save DIR] [--timeline] [HOST:]PORT ...
"""

import functools
import sys
import time

from coro import cli
from coro.io import multiplexer
from coro.io.multiplexer import READ, WRITE
from coro.io.nonblocking import Download, State


def download_all(addresses, *, timeout, trace, done, backend=None):
    """Download the poems at the same time, in one thread, sleeping between events."""
    mux = multiplexer.create(backend)
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
            for fd, _ in mux.poll(max(nearest - time.monotonic(), 0)):  # sleep here
                step(mux, by_fd[fd])
            now = time.monotonic()
            for download in active:
                download.check_deadline(now)
    finally:
        for download in downloads:
            download.close()
        mux.close()


def watch(mux, by_fd, download):
    """Watch a started download's socket: for WRITE while it connects, then READ.

    A backend that cannot watch the socket (select, past FD_SETSIZE) fails the task.
    """
    if download.state is State.FINISHED:
        return
    by_fd[download.fileno()] = download
    try:
        mux.register(download.sock, WRITE if download.state is State.CONNECTING else READ)
    except multiplexer.TooManyDescriptors as exc:
        download.fail(exc)


def step(mux, download):
    """The kernel says ``download``'s socket is ready: take its next step."""
    if download.state is State.CONNECTING:
        download.finish_connect()  # writable: the handshake is over, one way or another
        if download.state is State.READING:
            mux.modify(download.sock, READ)
    elif download.state is State.READING:
        download.try_recv()


def forget(mux, download):
    """Stop watching ``download``'s socket; it must leave the multiplexer before it closes."""
    if download.sock in mux:
        mux.unregister(download.sock)


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m coro.select_client",
                    description=__doc__.split("\n\n")[0], finishing_order=True, stage_options=[(
                        ("--backend",),
                        {"choices": list(multiplexer.BACKENDS),
                         "default": multiplexer.best_backend(),
                         "help": "how to wait for the sockets (default: %(default)s)"},
                    )])


if __name__ == "__main__":
    sys.exit(main())
