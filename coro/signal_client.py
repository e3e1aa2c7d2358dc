"""Chapter 6: signal-driven I/O, woken by SIGIO.

Chapter 5's select client asks the kernel which of its sockets are ready, and sleeps
in ``select`` until one is. This client asks to be told instead: each socket is put
in ``O_ASYNC`` mode with this thread as its owner, and the kernel sends the signal
SIGIO whenever something happens to any of them (a connection completes or is
refused, bytes arrive, the server closes or resets). Between two signals the client
sleeps in ``sigtimedwait``, with SIGIO blocked so that no signal can slip by unseen.
The downloads are chapter 4's (:class:`coro.io.nonblocking.Download`), unchanged.

A SIGIO says only that something happened to some socket: not to which one (plain
SIGIO names no descriptor, and Python could not read one anyway), and not how often
(arrivals while a SIGIO is already pending make no second signal). So after each
signal the client tries every socket, and reads each one until it would block.

It runs in the main thread only, where Python handles signals. What it still lacks:
SIGIO is one signal for the whole process, so no other part of the program may use
it; each signal costs a system call on every socket, where one ``select`` covers
them all; and the kernel still only says "ready", after which the client does the
reading itself. Chapter 7 hands the reading to the kernel and is told when it has
been done.

    python -m coro.signal_client [--timeout SECONDS] [--save DIR] [--timeline] [HOST:]PORT ...
"""

import contextlib
import fcntl
import os
import signal
import struct
import sys
import threading
import time

from coro import cli
from coro.io.nonblocking import Download, State

# Linux can make one thread, rather than a whole process, the owner of a socket's
# signals. Python's fcntl module does not name the request; these are <fcntl.h>'s.
_F_SETOWN_EX, _F_OWNER_TID = 15, 0


def ask_for_sigio(sock):
    """Make ``sock`` non-blocking and have the kernel send SIGIO here when it has news.

    "Here" is the calling thread on Linux, the process elsewhere.
    """
    if sys.platform == "linux":
        # F_SETOWN would name the process, and the kernel hands a process's signal to
        # any of its threads that does not block it; that thread's handler would
        # take it, and the main thread would wait for a signal already gone.
        owner = struct.pack("ii", _F_OWNER_TID, threading.get_native_id())
        fcntl.fcntl(sock, _F_SETOWN_EX, owner)
    else:
        fcntl.fcntl(sock, fcntl.F_SETOWN, os.getpid())
    # setblocking, not a bare O_NONBLOCK, so that the socket object knows it too.
    sock.setblocking(False)
    fcntl.fcntl(sock, fcntl.F_SETFL, fcntl.fcntl(sock, fcntl.F_GETFL) | os.O_ASYNC)


def step(download):
    """Take ``download`` as far as it can go now, without waiting.

    A signal does not say what happened, so there is no telling how far that is: ask
    whether the connect is over, as chapter 4 does, then read until the socket would
    block, since one SIGIO may stand for many arrivals.
    """
    if download.state is State.CONNECTING:
        download.try_connect()
    while download.state is State.READING and download.try_recv():
        pass


def _sigio_handler(signum, frame):
    """SIGIO's handler while the client runs: it stays blocked, so this never runs.

    It stands in for the default action, which is to end the process, should a SIGIO
    ever reach a thread that does not block it (where F_SETOWN_EX is missing).
    """


@contextlib.contextmanager
def _signals_held():
    """Block SIGIO, and SIGINT and SIGTERM while they mean KeyboardInterrupt; restore them.

    Yields:
        The signals blocked, for ``sigtimedwait`` to wait for.
    """
    # Ctrl-C meets the race that step 3 of download_all explains: Python's handler
    # only notes a SIGINT, and raises KeyboardInterrupt between two bytecodes, so a
    # SIGINT just before sigtimedwait would be noticed only when the wait ends. SIGTERM,
    # which the command line (coro.cli) makes a Ctrl-C too, meets the same race.
    held = {signal.SIGIO} | {signum for signum in (signal.SIGINT, signal.SIGTERM)
                             if signal.getsignal(signum) is signal.default_int_handler}
    previous_handler = signal.getsignal(signal.SIGIO)
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    try:
        signal.signal(signal.SIGIO, _sigio_handler)
        signal.pthread_sigmask(signal.SIG_BLOCK, held)
        yield held
    finally:
        # Our sockets are closed by now, but a SIGIO may still be pending. Take it
        # (standard signals do not queue: there is at most one), or it would reach
        # the caller's handler, or end the process once SIGIO was unblocked.
        signal.sigtimedwait({signal.SIGIO}, 0)
        signal.signal(signal.SIGIO, previous_handler)
        # Last: this may deliver a held Ctrl-C, and raise KeyboardInterrupt.
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)


def download_all(addresses, *, timeout, trace, done):
    """Download the poems at the same time, in one thread, woken by SIGIO.

    The signal mask and SIGIO's handler are left as they were found, and every
    socket is closed, even when the run ends with an exception such as
    KeyboardInterrupt.

    Raises:
        RuntimeError: called from a thread other than the main one.
    """
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("the signal-driven client runs in the main thread only, "
                           "where Python handles signals")
    downloads = [Download(task, address, timeout=timeout, trace=trace, done=done)
                 for task, address in enumerate(addresses, start=1)]
    with _signals_held() as held:
        try:
            for download in downloads:
                download.start()
                # The handshake may be over already (on loopback it always is): the
                # first look at every socket, below, finds that out. Anything that
                # happens from now on raises SIGIO.
                if download.state is not State.FINISHED:
                    ask_for_sigio(download.sock)
            while True:
                # 1. Try every socket: the signal did not say which one has news.
                for download in downloads:
                    step(download)
                # 2. Fail the downloads whose servers have been silent too long.
                now = time.monotonic()
                for download in downloads:
                    download.check_deadline(now)
                active = [d for d in downloads if d.state is not State.FINISHED]
                if not active:
                    break
                # 3. Sleep until a SIGIO comes or the nearest deadline passes. A SIGIO
                # raised since step 1 began is not lost: SIGIO is blocked, so it waits,
                # pending, and this call returns at once. Had the signal gone to a
                # handler, it could have come after step 1 looked and before the sleep
                # began, and the sleep would have slept through it.
                taken = signal.sigtimedwait(held, min(d.deadline for d in active) - now)
                if taken is not None and taken.si_signo != signal.SIGIO:
                    raise KeyboardInterrupt  # Ctrl-C, or SIGTERM
        finally:
            for download in downloads:
                download.close()


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m coro.signal_client",
                    description=__doc__.split("\n\n")[0], finishing_order=True)


if __name__ == "__main__":
    sys.exit(main())
