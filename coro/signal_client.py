"""Chapter 6: the signal-driven client.

Chapter 5's select client asks the kernel which of its sockets are ready, and sleeps
in ``select`` until one is. This client asks to be told instead: each socket is put
in ``O_ASYNC`` mode with this thread as its owner, and the kernel sends the signal
SIGIO whenever something happens to any of them (a connection completes or is
refused, bytes arrive, the server closes or resets). Between two signals the client
sleeps in ``sigtimedwait``, with SIGIO blocked so that no signal can slip by unseen.

A SIGIO says only that something happened to some socket: not to which one (plain
SIGIO names no descriptor, and Python could not read one anyway), and not how often
(arrivals while a SIGIO is already pending make no second signal). So after each
signal the client tries every socket, and reads each one until it would block.

It runs in the main thread only, where Python handles signals. What it still lacks:
SIGIO is one signal for the whole process, so no other part of the program may use
it; each signal costs a look at every socket, as a ``select`` call does; and the
kernel still only says "ready", after which the client does the reading itself.
Chapter 7 hands the reading to the kernel and is told when it has been done.

    python -m coro.signal_client [--timeout SECONDS] [--save DIR] [--timeline] [HOST:]PORT ...
"""

import contextlib
import errno
import fcntl
import os
import signal
import socket
import struct
import sys
import threading
import time

from coro import cli
from coro.trace import Event

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
    # setblocking, not a bare O_NONBLOCK, so that the socket object knows it too:
    # a "blocking" Python socket would wait inside connect_ex for the handshake.
    sock.setblocking(False)
    fcntl.fcntl(sock, fcntl.F_SETFL, fcntl.fcntl(sock, fcntl.F_GETFL) | os.O_ASYNC)


class _Download:
    """One poem's download: its socket, what has arrived, and when it gives up.

    A download is connecting, then receiving, then over. It is over exactly when
    ``done`` has been called for it, and by then its socket is closed.
    """

    def __init__(self, task, address, timeout):
        self.task = task
        self.address = address
        self.timeout = timeout
        self.sock = None
        self.connected = False
        self.over = False
        self.chunks = []
        self.deadline = time.monotonic() + timeout

    def heard_from(self):
        """The server did something: give it ``timeout`` seconds more."""
        self.deadline = time.monotonic() + self.timeout


def _connect_nowait(download, trace):
    """Start connecting ``download``'s socket; the handshake goes on without us.

    Raises:
        OSError: the host has no address, or the connection failed at once.
    """
    trace.record(download.task, Event.START)
    host, port = download.address
    # The name lookup blocks; for an address such as 127.0.0.1 there is none to do.
    family, kind, proto, _, sockaddr = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM)[0]
    download.sock = socket.socket(family, kind, proto)
    ask_for_sigio(download.sock)  # before connecting: the handshake raises SIGIO too
    error = download.sock.connect_ex(sockaddr)
    if error not in (0, errno.EINPROGRESS):
        raise OSError(error, os.strerror(error))
    download.heard_from()


def _receive_nowait(download, trace):
    """Do whatever ``download``'s socket allows right now, never waiting.

    Returns:
        The whole poem once the server has closed, else None.

    Raises:
        OSError: the connection was refused or reset.
    """
    sock = download.sock
    if not download.connected:
        # A connect that failed leaves its error in SO_ERROR, and reading it clears
        # it: after that a refused socket reads as a clean, empty close. So act on
        # it now. No error and no peer yet means the handshake is still going on.
        error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            raise OSError(error, os.strerror(error))  # ConnectionRefusedError, ...
        try:
            sock.getpeername()
        except OSError as exc:
            if exc.errno == errno.ENOTCONN:
                return None
            raise
        download.connected = True
        trace.record(download.task, Event.CONNECTED)
        download.heard_from()
    while True:  # until it would block: one SIGIO may stand for many arrivals
        try:
            data = sock.recv(4096)
        except BlockingIOError:
            return None
        if not data:
            return b"".join(download.chunks)  # end of connection is end of poem
        trace.record(download.task, Event.RECEIVED, len(data))
        download.chunks.append(data)
        download.heard_from()


def _finish(download, done, **result):
    """End ``download`` with ``poem=...`` or ``error=...``: close it, then tell ``done``."""
    download.over = True
    if download.sock is not None:
        download.sock.close()
    done(download.task, **result)


def _step(download, trace, done):
    """Move ``download`` on as far as it goes without waiting."""
    try:
        poem = _receive_nowait(download, trace)
    except OSError as exc:
        _finish(download, done, error=exc)
    else:
        if poem is not None:
            _finish(download, done, poem=poem)


def _sigio_handler(signum, frame):
    """SIGIO's handler while the client runs: it stays blocked, so this never runs.

    It stands in for the default action, which is to end the process, should a SIGIO
    ever reach a thread that does not block it (where F_SETOWN_EX is missing).
    """


@contextlib.contextmanager
def _sigio_held_for_sigtimedwait():
    """Block SIGIO for the duration, then leave the signal state as it was."""
    previous_handler = signal.signal(signal.SIGIO, _sigio_handler)
    try:
        previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGIO})
        try:
            yield
        finally:
            # Our sockets are closed by now and raise no more signals, but one may be
            # pending still. Take it (standard signals do not queue: there is at
            # most one), or it would reach the caller's handler, or end the process
            # the moment SIGIO is unblocked with its default action.
            signal.sigtimedwait({signal.SIGIO}, 0)
            signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
    finally:
        signal.signal(signal.SIGIO, previous_handler)


def download_all(addresses, *, timeout, trace, done):
    """Download the poems at the same time, reading whenever SIGIO says something happened.

    The signal mask and SIGIO's handler are left as they were found, and every
    socket is closed, even when the run ends with an exception such as
    KeyboardInterrupt.

    Raises:
        RuntimeError: called from a thread other than the main one.
    """
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("the signal-driven client runs in the main thread only, "
                           "where Python handles signals")
    downloads = [_Download(task, address, timeout)
                 for task, address in enumerate(addresses, start=1)]
    with _sigio_held_for_sigtimedwait():
        try:
            for download in downloads:
                try:
                    _connect_nowait(download, trace)
                except OSError as exc:
                    _finish(download, done, error=exc)
            while True:
                # 1. Try every socket: the signal did not say which one has news.
                for download in downloads:
                    if not download.over:
                        _step(download, trace, done)
                # 2. Fail the downloads whose servers have been silent too long.
                now = time.monotonic()
                for download in downloads:
                    if not download.over and now >= download.deadline:
                        _finish(download, done, error=TimeoutError(
                            f"no bytes for {timeout:g}s"))
                waiting = [download for download in downloads if not download.over]
                if not waiting:
                    break
                # 3. Wait for the next SIGIO, or the nearest deadline. A SIGIO raised
                # since step 1 began is pending, not lost: SIGIO is blocked, so it
                # waits for this call, which returns at once. With the signal
                # unblocked and a handler, it could arrive after step 1 looked and
                # before the wait began, and the wait would sleep through it.
                signal.sigtimedwait({signal.SIGIO},
                                    min(download.deadline for download in waiting) - now)
        finally:
            for download in downloads:
                pass


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m coro.signal_client",
                    description=__doc__.split("\n\n")[0])


if __name__ == "__main__":
    sys.exit(main())
