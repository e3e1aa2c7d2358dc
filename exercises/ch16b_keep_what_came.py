"""Exercise 16b.2: a time limit for each download, which keeps what came.

Exercises 10.3 and 11.2 gave each download ``--limit`` seconds, and a download still
going then failed: the bytes that had come were lost with it. Here each download runs
in a :func:`~coro.kernel.timeouts.move_on_after` block. When the limit passes, the wait
the download is in raises, the block unwinds (its ``with`` closes the socket), and the
task goes on after the block with the bytes that came, which it reports as its poem,
after a line that says it was cut:

    Task 2: cut at its limit of 0.5s; keeping the bytes that came
    Task 2: got 120 bytes of poetry from 127.0.0.1:10002 in 0.50s

A download cut before any byte came has nothing to keep: it fails, and says so. The
bytes are kept in a ``bytearray`` of the task's, not in a local of the download,
which the block's end would take with it. ``--timeout`` still fails a download whose
server goes quiet.

    python -m exercises.ch16b_keep_what_came [--limit SECONDS] [--backend select|poll|epoll]
                                             [--timeout SECONDS] [--save DIR] [--timeline]
                                             [HOST:]PORT ...
"""

import sys

from coro import cli
from coro.io import multiplexer
from coro.kernel.loop import Kernel
from coro.kernel.sockets import open_connection
from coro.kernel.task_group import TaskGroup
from coro.kernel.timeouts import move_on_after, timeout_after
from coro.trace import Event
from poetry_server.cli import seconds


class NothingCame(Exception):
    """The limit passed before the server sent a byte."""

    def __init__(self, limit):
        super().__init__(f"cut at its limit of {limit:g}s before any bytes came")


def receive_poem(host, port, poem, *, timeout, trace, task):
    """Chapter 16's ``get_poetry``, adding each chunk to ``poem``, a bytearray of the
    caller's, so that the caller has them however the download ends.

    Raises:
        OSError: the connection was refused or reset.
        TimeoutError: the server sent nothing for ``timeout`` seconds.
    """
    sock = yield from timeout_after(timeout, open_connection(host, port))
    with sock:
        trace.record(task, Event.CONNECTED)
        while data := (yield from timeout_after(timeout, sock.recv(4096))):
            trace.record(task, Event.RECEIVED, len(data))
            poem.extend(data)


def download_all(addresses, *, timeout, trace, done, limit, backend=None):
    """Download the poems at the same time, one task each, each for ``limit`` seconds
    at most; a download cut at its limit is reported with the bytes that came."""

    def download(task, host, port):
        poem = bytearray()
        try:
            with (yield from move_on_after(limit)) as scope:
                yield from receive_poem(host, port, poem, timeout=timeout, trace=trace,
                                        task=task)
        except Exception as error:  # refused, reset, gone quiet, ...
            done(task, error=error)
            return
        if scope.cancelled_caught and not poem:
            done(task, error=NothingCame(limit))
            return
        if scope.cancelled_caught:
            print(f"Task {task}: cut at its limit of {limit:g}s; keeping the bytes that came",
                  flush=True)
        done(task, poem=bytes(poem))

    def main():
        group = TaskGroup()
        for task, (host, port) in enumerate(addresses, start=1):
            trace.record(task, Event.START)
            yield from group.spawn(download(task, host, port))
        yield from group.join()

    with Kernel(multiplexer.create(backend)) as kernel:
        kernel.run(main())


def main(argv=None):
    """Run the client; return the exit status."""
    limit = (("--limit",), {"type": seconds, "default": 10.0, "metavar": "SECONDS",
                            "help": "cut a download still going after this long, and keep "
                                    "what came (default: 10)"})
    backend = (("--backend",), {"choices": list(multiplexer.BACKENDS),
                                "default": multiplexer.best_backend(),
                                "help": "how the kernel waits for the sockets "
                                        "(default: %(default)s)"})
    return cli.main(download_all, argv, prog="python -m exercises.ch16b_keep_what_came",
                    description=__doc__.split("\n\n")[0], finishing_order=True,
                    stage_options=[limit, backend])


if __name__ == "__main__":
    sys.exit(main())
