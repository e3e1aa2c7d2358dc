"""Chapter 16b: the poetry client as a pipeline, downloads handing poems to writers.

Chapter 16's client (:mod:`coro.kernel_client`) connected to every server at once and
reported each poem in the task that downloaded it. Here the same ``get_poetry`` runs
in a pipeline of tasks that hand work to each other with the kernel's new pieces:

- the downloads, one task per address as before; but a
  :class:`~coro.kernel.sync.Semaphore` of ``--max-concurrent`` permits lets only that
  many be connected at once, and the others wait in line. A download's time starts
  when it gets its permit, so ``--timeline`` shows task 3 starting as task 1 or 2 ends;
- a bounded :class:`~coro.kernel.queues.Queue`, where each download puts its poem, and
  waits while it is full;
- ``--writers`` writer tasks, which take the poems out and report them. Reporting a
  poem writes its ``--save`` file, and a write to a regular file cannot be waited for
  (``select`` and ``epoll`` call a file always ready) and may block: so a writer makes
  it in a worker thread, with :func:`~coro.kernel.traps.run_in_thread`, while the
  other tasks run.

When every download has ended, the queue is closed: the writers take what is left in
it, then end. ``--timeout`` and ``--deadline`` mean what they meant in chapter 16.
A download keeps its permit until its poem is in the queue, so writers that fall
behind hold the downloads back: at most ``--max-concurrent`` poems are downloading or
waiting to be queued, ``--queue-size`` wait in the queue, and ``--writers`` are being
written. What it still lacks: the name lookup of ``get_poetry`` still blocks the
kernel, when it could go to a thread as the writes do; and the end of the connection
is still the end of the poem (chapter 12).

    python -m coro.pipeline_client [--max-concurrent N] [--writers N] [--queue-size N]
                                   [--backend select|poll|epoll] [--deadline SECONDS]
                                   [--timeout SECONDS] [--save DIR] [--timeline] [HOST:]PORT ...
"""

import argparse
import functools
import sys

from coro import cli
from coro.io import multiplexer
from coro.kernel.loop import Kernel
from coro.kernel.queues import Queue, QueueClosed
from coro.kernel.sync import Semaphore
from coro.kernel.task_group import TaskGroup
from coro.kernel.timeouts import move_on_after
from coro.kernel.traps import run_in_thread
from coro.kernel_client import get_poetry
from coro.trace import Event

MAX_CONCURRENT = 2
WRITERS = 2
#: One poem may wait for a writer without holding its download back. A bigger queue
#: smooths out writers that are slow now and then, and holds that many more poems.
QUEUE_SIZE = 1


def download_all(addresses, *, timeout, trace, done, backend=None, deadline=None,
                 max_concurrent=MAX_CONCURRENT, writers=WRITERS, queue_size=QUEUE_SIZE):
    """Download the poems, at most ``max_concurrent`` at once, and hand each to one of
    ``writers`` writer tasks through a queue of ``queue_size`` poems.

    Args:
        deadline: Seconds the downloads may take in all; the downloads still running
            (or waiting for a permit) then are cancelled. None for no deadline.

    Raises:
        KeyboardInterrupt: after Ctrl-C or SIGTERM; every task was cancelled, and every
            socket closed, first.
        ExceptionGroup: when ``done`` raised; every other task was cancelled.
    """
    if max_concurrent < 1 or writers < 1 or queue_size < 0:
        raise ValueError(f"max_concurrent and writers must be 1 or more, and queue_size 0 "
                         f"or more, not {max_concurrent}, {writers} and {queue_size}")
    permits = Semaphore(max_concurrent)
    poems = Queue(queue_size)  # of (task, poem) pairs

    def download(task, host, port):
        yield from permits.acquire()
        try:  # at once: a wait before the try would let a cancel there keep the permit
            trace.record(task, Event.START)  # its time starts now, not when it was spawned
            try:
                poem = yield from get_poetry(host, port, timeout=timeout, trace=trace,
                                             task=task)
            except Exception as error:  # refused, reset, timed out, past FD_SETSIZE, ...
                # No file to write: reported at once, from the kernel's thread, rather
                # than behind the poems waiting in the queue.
                done(task, error=error)
                return
            # Waits while the queue is full, still holding the permit: writers that fall
            # behind slow the downloads down, and poems never pile up in memory.
            yield from poems.put((task, poem))
        finally:
            permits.release()  # the next download may connect

    def write():
        while True:
            try:
                task, poem = yield from poems.get()
            except QueueClosed:  # every download has ended, and every poem was taken
                return
            # done writes the --save file, which may block: a worker thread makes the call.
            yield from run_in_thread(functools.partial(done, task, poem=poem))

    def download_every_poem():
        downloads = TaskGroup()
        children = {}
        for task, (host, port) in enumerate(addresses, start=1):
            children[task] = yield from downloads.spawn(download(task, host, port))
        if deadline is None:
            yield from downloads.join()
        else:
            with (yield from move_on_after(deadline)) as scope:
                yield from downloads.join()
            if scope.cancelled_caught:  # the group has cancelled the downloads still running
                for task, child in children.items():
                    if child.cancelled:  # so it never reported: the deadline is its failure
                        done(task, error=cli.DeadlinePassed(deadline))
        poems.close()  # no more poems: the writers take what is left, then end

    def main():
        # The writers and the downloads in one group: if a writer fails (done raised),
        # the downloads are cancelled too, instead of waiting for ever to put a poem
        # into a queue that nobody empties.
        pipeline = TaskGroup()
        for _ in range(writers):
            yield from pipeline.spawn(write())
        yield from pipeline.spawn(download_every_poem())
        yield from pipeline.join()

    with Kernel(multiplexer.create(backend), max_threads=writers) as kernel:
        kernel.run(main())


def _whole_number(minimum):
    """An option's type: a whole number, ``minimum`` or more; anything else is a usage error."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {minimum}, "
                                             f"not {text!r}")
        return value
    return parse


def _count_option(flag, minimum, default, meaning):
    return (flag,), {"type": _whole_number(minimum), "default": default, "metavar": "N",
                     "help": f"{meaning} (default: %(default)s)"}


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m coro.pipeline_client",
                    description=__doc__.split("\n\n")[0], finishing_order=True, stage_options=[
                        _count_option("--max-concurrent", 1, MAX_CONCURRENT,
                                      "how many downloads may be connected at once"),
                        _count_option("--writers", 1, WRITERS,
                                      "how many tasks report the poems (and save them), "
                                      "each in a worker thread"),
                        _count_option("--queue-size", 0, QUEUE_SIZE,
                                      "how many downloaded poems may wait for a writer; "
                                      "0: each download waits until a writer takes its poem"),
                        (("--backend",),
                         {"choices": list(multiplexer.BACKENDS),
                          "default": multiplexer.best_backend(),
                          "help": "how the kernel waits for the sockets "
                                  "(default: %(default)s)"}),
                        cli.DEADLINE_OPTION])


if __name__ == "__main__":
    sys.exit(main())
