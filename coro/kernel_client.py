"""Chapter 16: the poetry client as tasks on the kernel.

Chapter 2's ``get_poetry`` read from top to bottom, connect, receive until the end,
return the poem, and it blocked: one download at a time. Chapters 5 to 13 downloaded
all the poems at once, and paid for it by cutting each download into pieces, steps of
a loop or callbacks of a protocol, that keep their state in objects between two
events; chapter 15 wrote the straight line again, on top of Deferreds and callbacks.
Here ``get_poetry`` reads like chapter 2's, with a ``yield from`` at each wait, and
nothing under it but the kernel (:mod:`coro.kernel.loop`): each download is a task, a
generator that the kernel suspends at each wait and resumes when its socket is ready.
The state between two events is the generator's frame.

``--timeout`` means what it means in every client of this book: give up on a server
that sends nothing for that long. Here it is a :func:`~coro.kernel.timeouts.timeout_after`
around each wait, the connect and every ``recv``. ``--deadline``, chapter 13's limit
for the whole run, is one more around the task group's join: when it passes, the group
cancels the downloads still running. A failed download is reported through ``done``
and fails only its own task. What it still lacks: the name lookup in
:func:`~coro.kernel.sockets.open_connection` blocks the kernel (at once, for the
loopback addresses of this book), and the end of the connection is still the end of
the poem, so a server that closes early hands over a short poem (chapter 12).

    python -m coro.kernel_client [--backend select|poll|epoll] [--deadline SECONDS]
                                 [--timeout SECONDS] [--save DIR] [--timeline] [HOST:]PORT ...
"""

import io
import sys

from coro import cli
from coro.io import multiplexer
from coro.kernel.loop import Kernel
from coro.kernel.sockets import open_connection
from coro.kernel.task_group import TaskGroup
from coro.kernel.timeouts import timeout_after
from coro.trace import Event


def get_poetry(host, port, *, timeout, trace, task):
    """Download the poem at ``host:port``; a generator, run as a kernel task.

    Args:
        timeout: Give up when the server sends nothing for this many seconds.
        trace: A :class:`~coro.trace.Trace` to record the download's events in.
        task: The task number the events are recorded under.

    Returns:
        The poem's bytes.

    Raises:
        OSError: the connection was refused or reset.
        TimeoutError: the server sent nothing for ``timeout`` seconds.
    """
    sock = yield from timeout_after(timeout, open_connection(host, port))
    with sock:
        trace.record(task, Event.CONNECTED)
        poem = io.BytesIO()  # the poem, held once (chapter 2 says how)
        while True:
            data = yield from timeout_after(timeout, sock.recv(4096))  # others run meanwhile
            if not data:
                break  # end of connection is end of poem
            trace.record(task, Event.RECEIVED, len(data))
            poem.write(data)
    return poem.getvalue()


def download_all(addresses, *, timeout, trace, done, backend=None, deadline=None):
    """Download the poems at the same time, one task each, in a task group on one kernel.

    Args:
        deadline: Seconds the whole run may take; the downloads still running then are
            cancelled. None for no deadline.

    Raises:
        KeyboardInterrupt: after Ctrl-C or SIGTERM; every task was cancelled, and every
            socket closed, first.
        ExceptionGroup: when ``done`` raised; the other downloads were cancelled.
    """
    def download(task, host, port):
        # The try is here, inside the task, so that a failed download ends as a report,
        # and the task group, which cancels every task once one fails, never hears of it.
        try:
            poem = yield from get_poetry(host, port, timeout=timeout, trace=trace, task=task)
        except Exception as error:  # refused, reset, timed out, past FD_SETSIZE, ...
            done(task, error=error)
        else:
            done(task, poem=poem)

    def main():
        group = TaskGroup()
        children = {}
        for task, (host, port) in enumerate(addresses, start=1):
            trace.record(task, Event.START)
            children[task] = yield from group.spawn(download(task, host, port))
        if deadline is None:
            yield from group.join()
            return
        try:
            yield from timeout_after(deadline, group.join())
        except TimeoutError:  # the group has cancelled the downloads still running
            for task, child in children.items():
                if child.cancelled:  # so it never reported: the deadline is its failure
                    done(task, error=cli.DeadlinePassed(deadline))

    with Kernel(multiplexer.create(backend)) as kernel:
        kernel.run(main())


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m coro.kernel_client",
                    description=__doc__.split("\n\n")[0], finishing_order=True, stage_options=[(
                        ("--backend",),
                        {"choices": list(multiplexer.BACKENDS),
                         "default": multiplexer.best_backend(),
                         "help": "how the kernel waits for the sockets "
                                 "(default: %(default)s)"},
                    ), cli.DEADLINE_OPTION])


if __name__ == "__main__":
    sys.exit(main())
