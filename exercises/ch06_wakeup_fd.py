"""Exercise 6.1: the signal-driven client, woken through a descriptor.

Chapter 6's client keeps SIGIO blocked and takes it with ``sigtimedwait``, so that a
signal that comes after the look at the sockets and before the sleep is not lost. This
is the other cure the chapter names: SIGIO gets a handler, and Python has every signal
that reaches a handler write a byte to a socket (:func:`signal.set_wakeup_fd`). The
loop sleeps in ``select`` on the other end of that socket. A signal in the gap leaves
its byte there, and the sleep returns at once. The byte is the signal's number, so the
loop also knows which signal woke it.

The downloads and their steps are chapter 6's: ``ask_for_sigio`` and ``step``.

    python -m exercises.ch06_wakeup_fd [--timeout SECONDS] [--save DIR] [HOST:]PORT ...
"""

import contextlib
import select
import signal
import socket
import sys
import threading
import time

from coro import cli
from coro.io.nonblocking import Download, State
from coro.signal_client import ask_for_sigio, step


def do_nothing(signum, frame):
    """A signal handler for a signal whose byte on the wake-up socket is all that counts."""


@contextlib.contextmanager
def woken_by(signum):
    """Give ``signum`` a handler, and have each signal that reaches a handler write its
    number to a socket; yield the socket to read those numbers from.

    The handler and the wake-up descriptor are put back as they were.
    """
    woken, wake = socket.socketpair()
    with woken, wake:
        woken.setblocking(False)
        wake.setblocking(False)  # a signal handler must never block on a full socket
        previous_handler = signal.signal(signum, do_nothing)
        try:
            previous_fd = signal.set_wakeup_fd(wake.fileno(), warn_on_full_buffer=False)
            try:
                yield woken
            finally:
                signal.set_wakeup_fd(previous_fd)
        finally:
            signal.signal(signum, previous_handler)


def signals_taken(woken):
    """The numbers of the signals that came since the last call, oldest first."""
    taken = bytearray()
    with contextlib.suppress(BlockingIOError):  # nothing more to read: all taken
        while chunk := woken.recv(256):
            taken += chunk
    return list(taken)


def download_all(addresses, *, timeout, trace, done, on_signal=None):
    """Download the poems at the same time, in one thread, woken by SIGIO's byte.

    Args:
        on_signal: ``on_signal(signum)`` is called, from the loop, for each other
            signal whose byte woke it: one the caller gave a handler of its own.

    Raises:
        RuntimeError: called from a thread other than the main one.
    """
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("signal handlers run in the main thread only")
    downloads = [Download(task, address, timeout=timeout, trace=trace, done=done)
                 for task, address in enumerate(addresses, start=1)]
    with woken_by(signal.SIGIO) as woken:
        try:
            for download in downloads:
                download.start()
                if download.state is not State.FINISHED:
                    ask_for_sigio(download.sock)
            while True:
                for download in downloads:  # the signal did not say which socket
                    step(download)
                now = time.monotonic()
                for download in downloads:
                    download.check_deadline(now)
                active = [d for d in downloads if d.state is not State.FINISHED]
                if not active:
                    break
                # A signal that came since the look above has left its byte: no wait.
                select.select([woken], [], [], min(d.deadline for d in active) - now)
                for signum in signals_taken(woken):
                    if signum != signal.SIGIO and on_signal is not None:
                        on_signal(signum)
        finally:
            for download in downloads:  # before SIGIO's handler goes back to the default
                download.close()


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m exercises.ch06_wakeup_fd",
                    description=__doc__.split("\n\n")[0], finishing_order=True)


if __name__ == "__main__":
    sys.exit(main())
