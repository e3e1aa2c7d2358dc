"""Sockets for kernel tasks: try the call first, and wait only when it would block.

A :class:`Socket` wraps a non-blocking socket. Each operation first makes the system
call; only when it fails with :exc:`BlockingIOError` (EAGAIN) does the task hand the
kernel a trap (:class:`~coro.kernel.traps.WaitReadable` or :class:`~coro.kernel.traps.WaitWritable`)
and try again once the kernel wakes it. When data is already there, which is most of the time
on a busy connection, a ``recv`` costs one system call and never touches the kernel.

One exception, measured in ``make bench``: a ``recv`` that returned less than it asked
for has emptied the socket, so the next ``recv`` would almost surely fail with EAGAIN.
A failed call is a system call plus an exception, about a fifth of an echo request's
cost, so after a short read the next ``recv`` waits first. If bytes came meanwhile,
the wait ends at the next poll; nothing is lost, only that one call is saved.

The operations are coroutines marked with :func:`types.coroutine`, so a generator task
writes ``data = yield from sock.recv(1024)`` and an ``async def`` task writes
``data = await sock.recv(1024)``. :meth:`Socket.close` is a plain call: it tells the
kernel first (if one watches the socket), so that no registration outlives it.

EINTR needs no code here: since Python 3.5 the socket methods retry it themselves.
"""

import errno
import socket
import types

from coro.io.nonblocking import os_error
from coro.kernel.traps import WaitReadable, WaitWritable, kernel_trap


class Socket:
    """A socket whose operations suspend the task, never the kernel.

    Invariant: the wrapped socket is non-blocking, and ``_watched_by`` is the kernel's
    :class:`~coro.kernel.io_waits.IOWaits` that registered its descriptor for it, or None.
    """

    __slots__ = ("_sock", "_fd", "_watched_by", "_drained", "_readable", "_writable",
                 "__weakref__")

    def __init__(self, sock):
        sock.setblocking(False)
        self._sock, self._fd, self._watched_by = sock, sock.fileno(), None
        self._drained = False  # the last recv was short: the socket is empty
        self._readable, self._writable = WaitReadable(self), WaitWritable(self)

    def fileno(self):
        return self._fd

    @property
    def raw(self):
        """The wrapped :class:`socket.socket`, for options and addresses."""
        return self._sock

    @types.coroutine
    def recv(self, size):
        """Receive up to ``size`` bytes; ``b""`` when the peer has closed its side."""
        if self._drained:
            yield from kernel_trap(self._readable)
        while True:
            try:
                data = self._sock.recv(size)
            except BlockingIOError:
                yield from kernel_trap(self._readable)
            else:
                self._drained = 0 < len(data) < size
                return data

    @types.coroutine
    def send(self, data):
        """Send what the socket takes of ``data`` now, waiting until it takes something."""
        while True:
            try:
                return self._sock.send(data)
            except BlockingIOError:
                yield from kernel_trap(self._writable)

    @types.coroutine
    def sendall(self, data):
        """Send all of ``data``, waiting whenever the socket's buffer is full."""
        try:
            sent = self._sock.send(data)
        except BlockingIOError:
            sent = 0
        if sent == len(data):
            return  # the usual case: the socket took it all at once
        with memoryview(data) as whole:
            view = whole[sent:]
            while view:
                try:
                    view = view[self._sock.send(view):]
                except BlockingIOError:
                    yield from kernel_trap(self._writable)

    @types.coroutine
    def accept(self):
        """Wait for a connection; returns ``(Socket, address)``."""
        while True:
            try:
                sock, address = self._sock.accept()
            except BlockingIOError:
                yield from kernel_trap(self._readable)
            else:
                return Socket(sock), address

    @types.coroutine
    def connect(self, address):
        """Connect to ``address``, waiting for the handshake to finish.

        Raises:
            OSError: for a refused or unreachable peer (``ConnectionRefusedError``, ...).
        """
        code = self._sock.connect_ex(address)
        if code in (errno.EINPROGRESS, errno.EAGAIN):
            yield from kernel_trap(self._writable)
            code = self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            raise os_error(code)

    def shutdown(self, how):
        """Close one direction: ``socket.SHUT_WR`` sends the peer an end of file."""
        self._sock.shutdown(how)

    def close(self):
        """Close the socket; a task still waiting on it gets an :exc:`OSError` (EBADF)."""
        if self._watched_by is not None:
            self._watched_by.forget(self)
            self._watched_by = None
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        return f"<kernel Socket fd={self._sock.fileno()}>"


def listen(host, port, *, backlog=128):
    """A listening TCP :class:`Socket` bound to ``host:port`` (port 0: any free port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        return Socket(sock)
    except BaseException:
        sock.close()
        raise


@types.coroutine
def open_connection(host, port):
    """Connect to ``host:port``; returns a connected :class:`Socket`.

    Raises:
        OSError: when the connection fails; the socket is closed first.
    """
    # The name lookup blocks, as coro.reactor.tcp's does; it is instant for the loopback
    # addresses this book uses.
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM)[0]
    sock = Socket(socket.socket(family, kind, proto))
    try:
        sock.raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        yield from sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock
