"""Exercise 7.2: the completion client with a deadline for the whole run.

``--deadline SECONDS`` fails every download still going when that many seconds have
passed since the start, with :exc:`coro.cli.DeadlinePassed`. With completions, a
download cannot simply close its socket at the deadline: the kernel, or a worker
thread, may still be writing into its buffer. So the deadline *cancels* each operation
in flight; a cancelled operation still completes, and that completion is what ends
the download, as chapter 7's silence timeout does.

    python -m exercises.ch07_deadline [--deadline SECONDS] [--proactor auto|uring|threads]
                                      [--timeout SECONDS] [--timeline] [HOST:]PORT ...
"""

import math
import sys
import time

from coro import cli, completion_client
from coro.completion_client import State
from coro.io.proactor import ProactorUnavailable, open_proactor
from exercises.ch07_one_by_one import PROACTOR_OPTION

PROG = "python -m exercises.ch07_deadline"


class Download(completion_client.Download):
    """Chapter 7's download, which can also be stopped with an error of the caller's."""

    stopped_with = None  # the error to end with, once the cancelled operation completes

    def stop(self, error):
        """Cancel the operation in flight; its completion ends the download with ``error``."""
        if self.state in (State.CONNECTING, State.RECEIVING):
            self.stopped_with = error
            self.state = State.CANCELLING
            self.deadline = math.inf  # no silence timeout: the completion is on its way
            self.engine.cancel(self.task)

    def completed(self, result):
        if self.stopped_with is not None:
            self._finish(error=self.stopped_with)
        else:
            super().completed(result)


def download_all(addresses, *, timeout, trace, done, proactor="auto", deadline=None):
    """Chapter 7's loop, which also wakes at the run's deadline and stops what is left."""
    engine, description = open_proactor(proactor)
    ends = math.inf if deadline is None else time.monotonic() + deadline
    downloads = [Download(task, address, engine=engine, timeout=timeout, trace=trace,
                          done=done)
                 for task, address in enumerate(addresses, start=1)]
    try:
        for download in downloads:
            download.start()
        while active := [d for d in downloads if d.state is not State.FINISHED]:
            nearest = min(ends, *(d.deadline for d in active))
            wait = None if nearest == math.inf else max(nearest - time.monotonic(), 0)
            for task, result in engine.wait(wait):
                downloads[task - 1].completed(result)
            now = time.monotonic()
            if now >= ends:
                ends = math.inf  # stop them once; their completions come in later turns
                for download in active:
                    download.stop(cli.DeadlinePassed(deadline))
            for download in active:
                download.check_deadline(now)
    finally:
        engine.close()
        for download in downloads:
            download.close()
    print(description, file=sys.stderr)


def main(argv=None):
    """Run the client; return the exit status."""
    try:
        return cli.main(download_all, argv, prog=PROG, description=__doc__.split("\n\n")[0],
                        finishing_order=True,
                        stage_options=[PROACTOR_OPTION, cli.DEADLINE_OPTION])
    except ProactorUnavailable as exc:
        print(f"{PROG}: error: --proactor uring: {exc}", file=sys.stderr)
        return cli.USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
