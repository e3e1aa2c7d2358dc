"""Chapter 3, exercise: a threaded client with a cap on its threads.

Chapter 3's client starts a thread per download: a thousand servers, a thousand
threads. This one starts at most ``--max-threads``. Each thread takes the next download
from a shared queue, runs chapter 2's ``get_poetry`` on it, and takes another, until the
queue is empty. So at most that many downloads are under way at once, and the rest
wait their turn in the queue.

    python -m exercises.ch03_thread_pool [--max-threads N] [--timeout SECONDS]
                                         [--save DIR] [--timeline] [HOST:]PORT ...
"""

import queue
import sys
import threading

from coro import cli
from coro.blocking_client import get_poetry
from coro.io.threads import signals_for_the_main_thread_only
from poetry_server.cli import whole

MAX_THREADS = 4


def download_all(addresses, *, timeout, trace, done, max_threads=MAX_THREADS):
    """Download the poems with at most ``max_threads`` threads, each taking the next."""
    jobs = queue.SimpleQueue()  # safe to share: its own lock is inside
    for job in enumerate(addresses, start=1):
        jobs.put(job)

    def work():
        while True:
            try:
                task, address = jobs.get_nowait()
            except queue.Empty:
                return  # nothing left to take: the thread ends
            try:
                poem = get_poetry(address, task=task, trace=trace, timeout=timeout)
            except OSError as exc:
                done(task, error=exc)
            else:
                done(task, poem=poem)

    threads = [threading.Thread(target=work, daemon=True)
               for _ in range(min(max_threads, len(addresses)))]
    with signals_for_the_main_thread_only():
        for thread in threads:
            thread.start()
    for thread in threads:
        thread.join()


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m exercises.ch03_thread_pool",
                    description=__doc__.split("\n\n")[0], stage_options=[(
                        ("--max-threads",),
                        {"type": whole(1), "default": MAX_THREADS, "metavar": "N",
                         "help": "download at most N poems at once, one thread each "
                                 "(default: %(default)s)"},
                    )])


if __name__ == "__main__":
    sys.exit(main())
