"""One download on a non-blocking socket, driven step by step by a loop.

A blocking socket turns "not yet" into waiting. A non-blocking socket turns it into
an answer: ``connect`` says ``EINPROGRESS``, ``recv`` raises
:exc:`BlockingIOError`, and the call returns at once. That frees one thread to drive
many downloads, as long as something calls each download's next step at the right
time. :class:`Download` holds those steps; chapter 4 calls them in a busy loop,
chapter 5 when a multiplexer says the socket is ready.
"""

import enum
import errno
import io
import os
import socket
import time

from coro.trace import Event


class State(enum.Enum):
    CONNECTING = "connecting"
    READING = "reading"
    FINISHED = "finished"


class Download:
    """One poem download over a non-blocking socket.

    A download is CONNECTING, then READING, then FINISHED. While it is not FINISHED
    its socket is open; once FINISHED, ``done`` has been called exactly once and the
    socket is closed. ``deadline`` is when it times out unless bytes arrive first.
    """

    def __init__(self, task, address, *, timeout, trace, done, before_close=None,
                 clock=time.monotonic):
        self.task = task
        self.address = address
        self.timeout = timeout
        self.trace = trace
        self._done = done
        self._before_close = before_close
        self._clock = clock
        self._poem = io.BytesIO()  # the poem, held once (chapter 2 says how)
        self.sock = None
        self._sockaddr = None
        self.state = State.CONNECTING
        self.deadline = clock() + timeout

    def start(self):
        """Begin connecting; the connection completes later, in the background."""
        self.trace.record(self.task, Event.START)
        try:
            # Looking a name up blocks; for the loopback addresses of this book it is
            # instant. (asyncio hands getaddrinfo to a thread for this reason.)
            family, kind, proto, _, self._sockaddr = socket.getaddrinfo(
                *self.address, type=socket.SOCK_STREAM)[0]
            self.sock = socket.socket(family, kind, proto)
            self.sock.setblocking(False)
            code = self.sock.connect_ex(self._sockaddr)
        except OSError as exc:
            self.fail(exc)
            return
        if code == 0:
            self._connected()
        elif code != errno.EINPROGRESS:
            self.fail(os_error(code))

    def fileno(self):
        return self.sock.fileno()

    def try_connect(self):
        """Ask whether the connection is up yet, without waiting (chapter 4's way).

        Returns:
            True if the download moved on (connected or failed).
        """
        code = self.sock.connect_ex(self._sockaddr)
        if code in (errno.EINPROGRESS, errno.EALREADY):
            return False
        if code in (0, errno.EISCONN):
            self._connected()
        else:
            self.fail(os_error(code))
        return True

    def finish_connect(self):
        """The socket became writable: the connect finished, well or badly."""
        code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self.fail(os_error(code))
        else:
            self._connected()

    def _connected(self):
        self.state = State.READING
        self.deadline = self._clock() + self.timeout
        self.trace.record(self.task, Event.CONNECTED)

    def try_recv(self, size=4096):
        """Read what has arrived, if anything, without waiting.

        Returns:
            True if the download moved on (bytes arrived, the poem ended, or it failed).
        """
        try:
            data = self.sock.recv(size)
        except BlockingIOError:
            return False  # nothing yet: the socket would have blocked
        except OSError as exc:
            self.fail(exc)
            return True
        if not data:
            self._finish(poem=self._poem.getvalue())
        else:
            self.trace.record(self.task, Event.RECEIVED, len(data))
            self._poem.write(data)
            self.deadline = self._clock() + self.timeout
        return True

    def check_deadline(self, now):
        """Fail with a timeout if nothing happened since ``deadline``."""
        if self.state is not State.FINISHED and now >= self.deadline:
            self.fail(TimeoutError(errno.ETIMEDOUT, "timed out"))

    def fail(self, error):
        """End the download with ``error``."""
        self._finish(error=error)

    def _finish(self, **outcome):
        if self.state is State.FINISHED:
            raise RuntimeError(f"task {self.task} finished twice")
        self.state = State.FINISHED
        self.close()
        self._done(self.task, **outcome)

    def close(self):
        """Close the socket, first telling ``before_close`` (once)."""
        if self.sock is not None:
            if self._before_close is not None:
                self._before_close(self)
            self.sock.close()
            self.sock = None


def os_error(code):
    """The exception for an errno: ``OSError`` picks the subclass itself
    (ECONNREFUSED gives :exc:`ConnectionRefusedError`)."""
    return OSError(code, os.strerror(code))
