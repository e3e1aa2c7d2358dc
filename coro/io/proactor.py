"""Completion I/O: submit whole operations, and be told when they are done.

A multiplexer (chapter 5) says that a socket is *ready*; the program then makes the
call and copies the bytes out itself. A proactor takes the whole operation ("connect
this socket", "receive up to n bytes from it") and reports it *completed*, with its
result: the connection is up, or the bytes are already in a buffer.

Two backends, one interface (:class:`Proactor`): ``submit_connect``, ``submit_recv``,
``cancel``, ``wait`` and ``close``. Each operation carries a *token* of the caller's
choosing, handed back with its :class:`Completion`.

- :class:`UringProactor`: the kernel performs the operations, through io_uring
  (Linux 5.6+, and ``liburing``: ``pip install coro-tutorial[uring]``).
- :class:`ThreadPoolProactor`: standard library only. Worker threads make the
  blocking calls: the same from outside, but a thread for every operation in flight.

:func:`open_proactor` picks one, and says why it did not pick io_uring.
"""

import concurrent.futures
import errno
import itertools
import math
import os
import select
import socket
import time
from dataclasses import dataclass
from typing import NamedTuple

from coro.io.threads import signals_for_the_main_thread_only

try:
    import liburing
except ImportError:  # the optional extra; without it, the thread pool stands in
    liburing = None

#: What ``open_proactor`` (and ``--proactor``) accepts.
KINDS = ("auto", "uring", "threads")


class Completion(NamedTuple):
    """An operation is over: the ``token`` it was submitted with, and its ``result``.

    A connect's result is ``None``; a receive's, the bytes (``b""`` once the peer has
    closed); a failed operation's, its :exc:`OSError` (``ECANCELED`` if cancelled).
    """

    token: object
    result: object


class ProactorUnavailable(RuntimeError):
    """The proactor asked for cannot work on this system."""


@dataclass
class _Operation:
    """One submitted operation: what it uses until it completes, then its result."""

    token: object
    sock: socket.socket
    buffer: bytearray = None  # a receive's buffer: the kernel's until the completion
    handle: object = None  # io_uring: the address being connected to; threads: the future
    cancelled: bool = False
    done: bool = False  # set once, with result, when the backend learns the outcome
    result: object = None


class Proactor:
    """The completion interface, and what both backends share.

    An operation is in ``_in_flight`` from its submission until ``wait`` returns its
    completion, exactly once; whatever it uses (socket, buffer, address) is kept alive
    that long. ``close`` returns only when nothing is in flight. A backend supplies
    ``_start_connect``, ``_start_recv``, ``_cancel``, ``_release``, and ``_collect``,
    which waits and marks what is done.
    """

    name = "?"

    def __init__(self):
        self._in_flight = {}  # operation id -> _Operation
        self._ids = itertools.count(1)
        self._closed = False

    def submit_connect(self, sock, address, token):
        """Start connecting ``sock`` to ``address``, a numeric ``(host, port)``."""
        self._submit(sock, token, self._start_connect, address)

    def submit_recv(self, sock, nbytes, token):
        """Start receiving up to ``nbytes`` bytes from ``sock``."""
        self._submit(sock, token, self._start_recv, nbytes)

    def cancel(self, token):
        """Stop every operation in flight that was submitted with ``token``.

        Each still completes, once, with ``OSError(ECANCELED)`` as its result, even if
        it had finished in the meantime.
        """
        for op_id, op in list(self._in_flight.items()):
            if op.token == token and not op.cancelled:
                with signals_for_the_main_thread_only():  # see _submit
                    op.cancelled = True
                    self._cancel(op_id, op)

    def wait(self, timeout=None):
        """Wait up to ``timeout`` seconds (``None``: as long as it takes) for completions.

        Returns:
            A list of :class:`Completion`, at least one unless the timeout passed first
            or nothing was in flight.
        """
        if not self._in_flight:
            return []
        # A backend records each outcome in its operation before it lets go of it, so
        # a Ctrl-C (KeyboardInterrupt) anywhere in here can delay a completion, never
        # lose one, and close() still finds it.
        self._collect(timeout)
        completions = [self._complete(op_id)
                       for op_id, op in list(self._in_flight.items()) if op.done]
        for _, result in completions:
            if isinstance(result, Exception) and not isinstance(result, OSError):
                raise result  # a bug in a call, not a network failure: no result
        return completions

    def close(self):
        """Cancel what is still in flight, wait until it has completed, then let go."""
        if self._closed:
            return
        self._closed = True
        try:
            for op in list(self._in_flight.values()):
                self.cancel(op.token)
            while self._in_flight:
                self.wait()
        finally:
            self._release()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _submit(self, sock, token, start, argument):
        if self._closed:
            raise RuntimeError(f"the {self.name} proactor is closed")
        # Recording an operation and handing it over are one step: Ctrl-C between the
        # two would leave a record with no request (close would wait for ever) or a
        # request with no record (a buffer the kernel writes into, and nobody keeps).
        # So SIGINT waits until the end of the block; threads started inside it (the
        # pool's workers) keep it blocked for good, and leave it to this thread.
        with signals_for_the_main_thread_only():
            op_id = next(self._ids)
            self._in_flight[op_id] = op = _Operation(token, sock)
            start(op_id, op, argument)

    def _complete(self, op_id):
        op = self._in_flight.pop(op_id)
        if op.cancelled:
            cancelled = OSError(errno.ECANCELED, os.strerror(errno.ECANCELED))
            return Completion(op.token, cancelled)
        return Completion(op.token, op.result)


#: The user_data of cancel requests: their own completions are not the caller's.
_CANCEL_REQUEST = 0


class UringProactor(Proactor):
    """Completions from io_uring: the kernel performs each operation itself.

    Two rings of memory are shared with the kernel. We write requests (SQEs) into the
    submission ring and enter the kernel once for all of them; it writes one result
    (CQE) per request into the completion ring. A CQE carries its SQE's ``user_data``,
    here the operation's id, and ``res``: a byte count, 0, or minus an errno.
    """

    name = "io_uring"

    def __init__(self, entries=64):
        super().__init__()
        if liburing is None:
            raise ProactorUnavailable(_NO_PACKAGE)
        self._ring = liburing.Ring()
        liburing.io_uring_queue_init(entries, self._ring)  # io_uring_setup, and the rings
        self._cqe = liburing.Cqe()
        # We sleep in poll() on the ring's own descriptor, which is readable while
        # completions are waiting. liburing's io_uring_wait_cqe would do, but the
        # Python binding holds the GIL while it waits, which would freeze every other
        # thread of the process. This is one descriptor for all operations, and it
        # says "something completed", not "a socket is ready".
        self._doorbell = select.poll()
        self._doorbell.register(self._ring.ring_fd, select.POLLIN)

    def _start_connect(self, op_id, op, address):
        op.handle = liburing.Sockaddr(op.sock.family, address[0], address[1])
        self._queue(op_id, liburing.io_uring_prep_connect, op.sock.fileno(), op.handle)

    def _start_recv(self, op_id, op, nbytes):
        op.buffer = bytearray(nbytes)
        self._queue(op_id, liburing.io_uring_prep_recv, op.sock.fileno(), op.buffer)

    def _cancel(self, op_id, op):
        self._queue(_CANCEL_REQUEST, liburing.io_uring_prep_cancel64, op_id)

    def _queue(self, user_data, prepare, *args):
        """Write one request into the submission ring; ``wait`` submits it."""
        sqe = liburing.io_uring_get_sqe(self._ring)
        if sqe is None:  # the ring is full: hand what is in it to the kernel first
            liburing.io_uring_submit(self._ring)
            sqe = liburing.io_uring_get_sqe(self._ring)
        prepare(sqe, *args)
        liburing.io_uring_sqe_set_data64(sqe, user_data)

    def _collect(self, timeout):
        liburing.io_uring_submit(self._ring)  # every queued request, one system call
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._reap():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return
            self._doorbell.poll(None if left is None else math.ceil(left * 1000))

    def _reap(self):
        """Record the result of each completion in the ring; say if anything is done."""
        while True:
            try:
                liburing.io_uring_peek_cqe(self._ring, self._cqe)
            except BlockingIOError:  # EAGAIN: the completion ring is empty
                return any(op.done for op in self._in_flight.values())
            cqe = self._cqe[0]
            op = self._in_flight.get(liburing.io_uring_cqe_get_data64(cqe))
            if op is not None:  # None: the completion of a cancel request itself
                op.result, op.done = self._result(op, cqe), True
            liburing.io_uring_cqe_seen(self._ring, cqe)  # the slot is the kernel's again

    @staticmethod
    def _result(op, cqe):
        try:
            res = cqe.res
        except OSError as exc:  # the binding turns -errno into the matching OSError
            return exc
        if op.buffer is None:
            return None  # a connect: res is 0, connected
        # A receive: the kernel has written res bytes into the buffer, ours again now.
        return bytes(memoryview(op.buffer)[:res])

    def _release(self):
        self._doorbell.unregister(self._ring.ring_fd)
        liburing.io_uring_queue_exit(self._ring)  # closes the ring's descriptor


class ThreadPoolProactor(Proactor):
    """Completions from a pool of threads that make the blocking calls.

    A worker blocks in ``connect`` or ``recv``; the call's future holds what happened
    (its return value or exception) until ``wait`` finds it done. Only shutting its
    socket down wakes a thread blocked in ``recv``, so that is how cancelling works,
    and the socket is of no further use. Past ``max_workers`` operations in flight,
    the next waits for a free thread.
    """

    name = "thread pool"

    def __init__(self, max_workers=64):
        super().__init__()
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers, thread_name_prefix="proactor")

    def _start_connect(self, op_id, op, address):
        self._run(op, op.sock.connect, address)

    def _start_recv(self, op_id, op, nbytes):
        self._run(op, op.sock.recv, nbytes)

    def _run(self, op, call, argument):
        op.handle = self._pool.submit(call, argument)  # a worker thread makes the call

    def _cancel(self, op_id, op):
        if op.handle.cancel():  # it had not started: now it never will
            return
        try:
            op.sock.shutdown(socket.SHUT_RDWR)  # wakes the worker blocked on the socket
        except OSError as exc:
            if exc.errno != errno.ENOTCONN:  # not connected: the call ends by itself
                raise

    def _collect(self, timeout):
        futures = [op.handle for op in self._in_flight.values()]
        concurrent.futures.wait(futures, timeout, concurrent.futures.FIRST_COMPLETED)
        for op in self._in_flight.values():
            if op.handle.done() and not op.done:
                op.result, op.done = _outcome(op.handle), True

    def _release(self):
        self._pool.shutdown(wait=True)


def _outcome(future):
    """What a finished call gave: its value, or its exception (an error is a result)."""
    if future.cancelled():
        return None  # reported as ECANCELED
    return future.exception() or future.result()


_NO_PACKAGE = "the liburing package is not installed (pip install coro-tutorial[uring])"
_OPERATIONS = ("IORING_OP_CONNECT", "IORING_OP_RECV", "IORING_OP_ASYNC_CANCEL")


def uring_unavailable():
    """Say why io_uring cannot be used here; ``None`` if it can.

    It tries what :class:`UringProactor` needs: the ``liburing`` package, a ring (the
    kernel may refuse one: ``/proc/sys/kernel/io_uring_disabled``, a seccomp filter,
    a kernel older than 5.1) and the three operations it submits.
    """
    if liburing is None:
        return _NO_PACKAGE
    ring = liburing.Ring()
    try:
        liburing.io_uring_queue_init(1, ring)
    except OSError as exc:
        return f"the kernel refused io_uring_setup ({exc.strerror})"
    liburing.io_uring_queue_exit(ring)
    try:
        missing = [op for op in _OPERATIONS if not liburing.probe().get(op)]
    except RuntimeError:  # a kernel too old to be asked (before Linux 5.6)
        missing = _OPERATIONS
    if missing:
        return f"this kernel lacks {', '.join(missing)} (Linux 5.6 or newer has them)"
    return None


def open_proactor(kind="auto"):
    """Open the proactor ``kind`` names: ``"uring"``, ``"threads"`` or ``"auto"``.

    Returns:
        ``(proactor, description)``: the open proactor (for ``"auto"``, io_uring where
        it works) and a sentence that names it, and says why when ``"auto"`` could
        not have io_uring.

    Raises:
        ProactorUnavailable: ``kind`` is ``"uring"`` and io_uring cannot work here.
        ValueError: ``kind`` is not one of :data:`KINDS`.
    """
    if kind not in KINDS:
        raise ValueError(f"no proactor called {kind!r}; choose one of {', '.join(KINDS)}")
    if kind == "threads":
        return ThreadPoolProactor(), "Completions from a thread pool."
    why_not = uring_unavailable()
    if why_not is None:
        return UringProactor(), "Completions from io_uring."
    if kind == "uring":
        raise ProactorUnavailable(f"io_uring is unavailable: {why_not}")
    return (ThreadPoolProactor(),
            f"Completions from a thread pool (io_uring unavailable: {why_not}).")
