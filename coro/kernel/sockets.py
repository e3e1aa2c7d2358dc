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

Taking turns. A call that succeeds at once never reaches the kernel, which is the point
of trying first; but then a socket whose peer keeps it full (or, for sends, empty)
never yields, and every other task waits until its buffer happens to drain. So a
Socket counts the calls it has answered since it last yielded, and once that is
:data:`CALLS_PER_TURN`, its next call first yields a *checkpoint*, a sleep of no time:
the other ready tasks run and the sockets are polled, and a pending cancel or a passed
deadline is raised there, before the system call, so no bytes are lost to it. trio
yields at every call; here a checkpoint costs as much as three small ``recv`` calls
(a trap, a turn of the loop, a poll that does not sleep), so one every 16 calls adds
at most a fifth to a run of calls that never wait, and holds the other tasks back for
16 calls at most. A connection that waits now and then, as an echo or a slow poem
does, starts a new turn at each wait and never pays for it.

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
from coro.kernel.traps import Sleep, WaitReadable, WaitWritable, kernel_trap

#: A Socket that has answered this many calls since it last yielded yields before the next.
CALLS_PER_TURN = 16
_CHECKPOINT = Sleep(0)  # a wait of no time: to the back of the ready queue


class Socket:
    """A socket whose operations suspend the task, never the kernel.

    Invariant: the wrapped socket is non-blocking; ``_watched_by`` is the kernel's
    :class:`~coro.kernel.io_waits.IOWaits` that registered its descriptor for it, or None;
    ``_calls`` counts the calls answered since the socket last yielded (at most
    :data:`CALLS_PER_TURN`, then the next call yields first).
    """

    __slots__ = ("_sock", "_fd", "_watched_by", "_drained", "_calls", "_readable",
                 "_writable", "__weakref__")

    def __init__(self, sock):
        sock.setblocking(False)
        self._sock, self._fd, self._watched_by = sock, sock.fileno(), None
        self._drained = False  # the last recv was short: the socket is empty
        self._calls = 0
        self._readable, self._writable = WaitReadable(self), WaitWritable(self)

    def fileno(self):
        return self._fd

    @property
    def raw(self):
        """The wrapped :class:`socket.socket`, for options and addresses."""
        return self._sock

    def _trap(self, trap):
        """Hand ``trap`` (a wait, or a checkpoint) to the kernel: a new turn begins."""
        self._calls = 0
        return kernel_trap(trap)

    @types.coroutine
    def recv(self, size):
        """Receive up to ``size`` bytes; ``b""`` when the peer has closed its side."""
        if self._drained:
            yield from self._trap(self._readable)
        elif self._calls >= CALLS_PER_TURN:
            yield from self._trap(_CHECKPOINT)
        while True:
            try:
                data = self._sock.recv(size)
            except BlockingIOError:
                yield from self._trap(self._readable)
            else:
                self._calls += 1
                self._drained = 0 < len(data) < size
                return data

    @types.coroutine
    def send(self, data):
        """Send what the socket takes of ``data`` now, waiting until it takes something."""
        if self._calls >= CALLS_PER_TURN:
            yield from self._trap(_CHECKPOINT)
        while True:
            try:
                sent = self._sock.send(data)
            except BlockingIOError:
                yield from self._trap(self._writable)
            else:
                self._calls += 1
                return sent

    @types.coroutine
    def sendall(self, data):
        """Send all of ``data``, waiting whenever the socket's buffer is full."""
        if self._calls >= CALLS_PER_TURN:
            yield from self._trap(_CHECKPOINT)
        try:
            sent = self._sock.send(data)
        except BlockingIOError:
            sent = 0
        self._calls += 1
        if sent == len(data):
            return  # the usual case: the socket took it all at once
        with memoryview(data) as whole:
            view = whole[sent:]
            while view:
                if self._calls >= CALLS_PER_TURN:  # a peer that reads as fast as we send
                    yield from self._trap(_CHECKPOINT)
                try:
                    view = view[self._sock.send(view):]
                except BlockingIOError:
                    yield from self._trap(self._writable)
                else:
                    self._calls += 1

    @types.coroutine
    def accept(self):
        """Wait for a connection; returns ``(Socket, address)``."""
        if self._calls >= CALLS_PER_TURN:
            yield from self._trap(_CHECKPOINT)
        while True:
            try:
                sock, address = self._sock.accept()
            except BlockingIOError:
                yield from self._trap(self._readable)
            else:
                self._calls += 1
                return Socket(sock), address

    @types.coroutine
    def connect(self, address):
        """Connect to ``address``, waiting for the handshake to finish.

        Raises:
            OSError: for a refused or unreachable peer (``ConnectionRefusedError``, ...).
        """
        code = self._sock.connect_ex(address)
        if code in (errno.EINPROGRESS, errno.EAGAIN):
            yield from self._trap(self._writable)
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
    """A listening TCP :class:`Socket` bound to ``host:port`` (port 0: any free port),
    in the host's address family: ``"::1"`` listens on IPv6, ``"127.0.0.1"`` on IPv4."""
    # The name lookup blocks, as open_connection's does; it is instant for numeric addresses.
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
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
