"""Chapter 7: the completion client.

Chapters 4 to 6 are told that a socket is *ready*, and then copy the bytes out
themselves with ``recv``. This client never calls ``recv`` itself. It *submits* whole
operations to a proactor (:mod:`coro.io.proactor`), "connect this socket to that
address", "receive up to 4096 bytes from this socket", and is told when each has
*completed*: the connection is up, or the bytes are already in its hands. Each turn
of its loop takes the completions and submits each download's next operation.

The proactor is io_uring where Linux has it, and otherwise a pool of threads that
make the blocking calls for it: the same loop, but a thread per operation in flight.
``--proactor`` picks one, and at the end of the run the client says on stderr which
one did the work. What it still lacks: as in chapter 5, the loop and the poetry are
tangled together in one function. Chapter 8 pulls the loop out.

    python -m coro.completion_client [--proactor auto|uring|threads] [--timeout SECONDS]
                                     [--save DIR] [--timeline] [HOST:]PORT ...
"""

import argparse
import enum
import errno
import io
import math
import socket
import sys
import time

from coro import cli
from coro.io import proactor as proactors
from coro.io.proactor import KINDS, ProactorUnavailable, open_proactor
from coro.trace import Event

PROG = "python -m coro.completion_client"

#: The most bytes one receive asks for, as in every other client.
CHUNK = 4096


class State(enum.Enum):
    CONNECTING = "connecting"
    RECEIVING = "receiving"
    CANCELLING = "cancelling"  # timed out; its last operation has yet to complete
    FINISHED = "finished"


class Download:
    """One poem download: a chain of operations submitted to a proactor.

    Until it is FINISHED a download has exactly one operation in flight (a connect,
    then one receive after another) and its socket is open. It finishes once, when
    that operation has completed: the socket is closed, then ``done`` is called.
    ``deadline`` is when it gives up, unless an operation completes first.
    """

    def __init__(self, task, address, *, engine, timeout, trace, done):
        self.task = task
        self.address = address
        self.engine = engine
        self.timeout = timeout
        self.trace = trace
        self._done = done
        self._poem = io.BytesIO()  # the poem, held once (chapter 2 says how)
        self.sock = None
        self.state = State.CONNECTING
        self.deadline = time.monotonic() + timeout

    def start(self):
        """Submit the connect. It completes later, and :meth:`completed` goes on."""
        self.trace.record(self.task, Event.START)
        try:
            # Looking a name up blocks, as in chapter 4; for loopback it is instant.
            family, kind, proto, _, sockaddr = socket.getaddrinfo(
                *self.address, type=socket.SOCK_STREAM)[0]
            self.sock = socket.socket(family, kind, proto)
        except OSError as exc:
            self._finish(error=exc)
            return
        self.engine.submit_connect(self.sock, sockaddr, self.task)

    def completed(self, result):
        """The operation in flight is over, with ``result``: take the next step."""
        if self.state is State.CANCELLING:
            self._finish(error=TimeoutError(errno.ETIMEDOUT, "timed out"))
        elif isinstance(result, OSError):
            self._finish(error=result)
        elif self.state is State.CONNECTING:
            self.trace.record(self.task, Event.CONNECTED)
            self.state = State.RECEIVING
            self._receive()
        elif result:  # the bytes are already here: nothing left to read, no recv
            self.trace.record(self.task, Event.RECEIVED, len(result))
            self._poem.write(result)
            self._receive()
        else:  # b"": the server has closed, and the poem is complete
            self._finish(poem=self._poem.getvalue())

    def _receive(self):
        self.deadline = time.monotonic() + self.timeout
        self.engine.submit_recv(self.sock, CHUNK, self.task)

    def check_deadline(self, now):
        """Past the deadline, cancel the operation in flight; its completion ends
        the download with a :exc:`TimeoutError`."""
        if self.state in (State.CONNECTING, State.RECEIVING) and now >= self.deadline:
            self.state = State.CANCELLING
            self.deadline = math.inf
            self.engine.cancel(self.task)

    def _finish(self, **outcome):
        self.state = State.FINISHED
        self.close()
        self._done(self.task, **outcome)

    def close(self):
        """Close the socket. Only once no operation on it is in flight."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def download_all(addresses, *, timeout, trace, done, proactor="auto"):
    """Download the poems at the same time, in one thread: submit, then take completions.

    Raises:
        ProactorUnavailable: ``proactor`` is ``"uring"`` and io_uring cannot work here.
    """
    engine, description = open_proactor(proactor)
    downloads = [Download(task, address, engine=engine, timeout=timeout, trace=trace,
                          done=done)
                 for task, address in enumerate(addresses, start=1)]
    try:
        for download in downloads:
            download.start()
        while active := [d for d in downloads if d.state is not State.FINISHED]:
            nearest = min(d.deadline for d in active)
            wait = None if nearest == math.inf else max(nearest - time.monotonic(), 0)
            for task, result in engine.wait(wait):  # sleep here
                downloads[task - 1].completed(result)
            now = time.monotonic()
            for download in active:
                download.check_deadline(now)
    finally:
        engine.close()  # first: whatever is still in flight is cancelled, and completes
        for download in downloads:
            download.close()  # then: no socket is closed under an operation
    print(description, file=sys.stderr)


class _ProactorOption(argparse.Action):
    """``--proactor``: asking for io_uring where it cannot work is a usage error, told
    with the others, before the run prints anything or opens a socket."""

    def __call__(self, parser, namespace, kind, option_string=None):
        if kind == "uring" and (why_not := proactors.uring_unavailable()) is not None:
            parser.error(f"--proactor uring: io_uring is unavailable: {why_not}")
        setattr(namespace, self.dest, kind)


def main(argv=None):
    """Run the client; return the exit status."""
    try:
        return cli.main(download_all, argv, prog=PROG, description=__doc__.split("\n\n")[0],
                        finishing_order=True, stage_options=[(("--proactor",), {
                            "action": _ProactorOption, "choices": list(KINDS), "default": "auto",
                            "help": "who performs the operations: the kernel through "
                                    "io_uring (uring), a thread pool (threads), or "
                                    "io_uring where it works (auto, the default)"})])
    except ProactorUnavailable as exc:
        print(f"{PROG}: error: --proactor uring: {exc}", file=sys.stderr)
        return cli.USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
