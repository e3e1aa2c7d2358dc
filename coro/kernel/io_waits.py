"""Which task waits on which descriptor, and what the multiplexer is told about it.

The kernel (:mod:`coro.kernel.loop`) keeps one :class:`IOWaits`. A task that yields
:class:`~coro.kernel.traps.WaitReadable` takes the descriptor's reader slot until the poll
says it is readable; then the slot is free again and the task is ready.

Telling the multiplexer costs a system call each time (``epoll_ctl``), and a task
that waits on a socket usually waits on it again a moment later. So registrations
are kept *lazily*: when a wait ends, the descriptor stays registered; the interest is
dropped only when the poll reports readiness that no task waits for. An echo
connection then costs no ``epoll_ctl`` at all after its first wait.

A registration must never outlive its descriptor: once closed, the number is given
to the next socket, and the poll would watch the wrong thing (select fails on it;
epoll silently drops it while the bookkeeping here says it is watched). A
:class:`~coro.kernel.sockets.Socket` therefore calls :meth:`IOWaits.forget` when it
closes. Any other object (a plain socket, a raw descriptor) cannot, so it is
unregistered *eagerly*, as soon as each of its waits ends.

A lazy registration belongs to the Socket that made it, not to its number, and a
Socket may be closed without a word: dropped and collected, or its raw socket closed
under it. Then epoll has forgotten the file already, and the number may come back
with another object. So each lazy registration keeps a weak reference to its Socket
(weak: a dropped Socket must still be collected and closed). A wait through any other
object on that number first drops the old registration, and a Socket that is
collected has its registration dropped before the next poll.
"""

import errno
import weakref

from coro.io.multiplexer import READ, WRITE
from coro.kernel.sockets import Socket
from coro.kernel.task import SUSPEND, TaskState, Waiting

_READY, _WAITING = TaskState.READY, TaskState.WAITING


class IOWaits:
    """The reader and writer slots of every descriptor, over one multiplexer.

    Invariant: a descriptor has at most one reading and one writing task, and the
    multiplexer watches it for at least the directions that have one (perhaps more,
    lazily), as ``_interest`` records. A registered descriptor is either eager or
    owned: ``_owners`` holds a weak reference to the Socket whose lazy registration it is.

    Args:
        multiplexer: Where descriptors are registered.
        checkpoint: ``checkpoint(task)``, the kernel's first step of every wait: it
            raises a pending cancel or a passed deadline instead.
        wake: ``wake(task, value, exc)``, the kernel's way to make a task ready.
    """

    def __init__(self, multiplexer, checkpoint, wake):
        self._multiplexer, self._checkpoint, self._wake = multiplexer, checkpoint, wake
        self.readers, self.writers = {}, {}  # fd -> the task waiting on it
        self._interest = {}  # fd -> what it is registered for
        self._eager = set()  # descriptors to unregister as soon as their waits end
        self._owners = {}  # fd -> a weak reference to the Socket that registered it lazily
        self._collected = []  # (fd, reference) of owners collected since the last poll

    def __bool__(self):
        """Whether any task waits on a descriptor."""
        return bool(self.readers or self.writers)

    def wait(self, task, trap):
        """The handler of :class:`~coro.kernel.traps.WaitReadable` and
        :class:`~coro.kernel.traps.WaitWritable`."""
        fd = trap.fd
        if trap.reading:
            waiters, kind, flag = self.readers, Waiting.READABLE, READ
        else:
            waiters, kind, flag = self.writers, Waiting.WRITABLE, WRITE
        if fd in waiters:  # one task may read while another writes, not two read
            other = waiters[fd]
            verb = "read" if trap.reading else "write"
            raise RuntimeError(f"task {task.id} ({task.name}) cannot wait to {verb} descriptor "
                               f"{fd}: task {other.id} ({other.name}) already waits to {verb} "
                               f"it, and a descriptor has one waiting task each way")
        if task.cancel_pending or task._deadlines:
            self._checkpoint(task)
        fileobj, owner = trap.fileobj, self._owners.get(fd)
        if owner is not None and owner() is not fileobj and not (
                fd in self.readers or fd in self.writers):
            self._disown(fd)  # the number came back with another object
            owner = None
        registered = self._interest.get(fd, 0)
        if not registered & flag:  # register first: if the multiplexer refuses, no trace
            self._set_interest(fd, registered | flag)
        if owner is None:  # registered just now, or eagerly
            if isinstance(fileobj, Socket):
                self._own(fd, fileobj)
            elif not registered:
                self._eager.add(fd)
        task.state, task._wait_kind, task._wait_arg = _WAITING, kind, fd
        waiters[fd] = task
        return SUSPEND

    def poll(self, timeout):
        """Drop the registrations of the Sockets collected since the last poll; then poll."""
        while self._collected:
            fd, reference = self._collected.pop()
            if self._owners.get(fd) is reference:  # not a new owner's yet
                self._disown(fd)
        return self._multiplexer.poll(timeout)

    def collect(self, events, ready):
        """Append to ``ready`` each task whose descriptor is ready, per ``poll``'s events."""
        readers, writers, eager = self.readers, self.writers, self._eager
        for fd, interest in events:
            unwanted = False
            if interest & READ:
                task = readers.pop(fd, None)
                if task is None:
                    unwanted = True
                else:
                    task.state = _READY
                    ready.append(task)
            if interest & WRITE:
                task = writers.pop(fd, None)
                if task is None:
                    unwanted = True
                else:
                    task.state = _READY
                    ready.append(task)
            if unwanted or fd in eager:
                self._update_interest(fd)

    def undo(self, task):
        """Take ``task`` out of the slot it waits in (it is cancelled, or timed out)."""
        fd = task._wait_arg
        del (self.readers if task._wait_kind is Waiting.READABLE else self.writers)[fd]
        if fd in self._eager:
            self._update_interest(fd)

    def forget(self, sock):
        """``sock``, a Socket, is about to close: wake its waiters with an error, and
        unregister it (unless its number is another object's registration now)."""
        fd = sock.fileno()
        owner = self._owners.get(fd)
        if owner is None or owner() is not sock:
            return
        for waiters in (self.readers, self.writers):
            task = waiters.pop(fd, None)
            if task is not None:
                self._wake(task, None, OSError(errno.EBADF, "the socket was closed while "
                                                            "this task waited on it"))
        self._set_interest(fd, 0)

    def close(self):
        """The kernel is closing its multiplexer: the registrations end with it, and a
        Socket closed later has nothing to tell."""
        self._interest.clear()
        self._eager.clear()
        self._owners.clear()
        self._collected.clear()

    def _update_interest(self, fd):
        self._set_interest(fd, (READ if fd in self.readers else 0)
                           | (WRITE if fd in self.writers else 0))

    def _set_interest(self, fd, interest):
        registered = self._interest.get(fd, 0)
        if interest == registered:
            return
        if not registered:
            self._multiplexer.register(fd, interest)
        elif interest:
            self._multiplexer.modify(fd, interest)
        else:
            self._multiplexer.unregister(fd)
        if interest:
            self._interest[fd] = interest
        else:
            del self._interest[fd]
            self._eager.discard(fd)
            self._owners.pop(fd, None)

    def _own(self, fd, sock):
        """Make ``fd``'s registration lazy, and ``sock``'s: it lasts until ``sock`` closes."""
        self._eager.discard(fd)
        collected = self._collected
        self._owners[fd] = weakref.ref(sock, lambda ref: collected.append((fd, ref)))
        sock._watched_by = self

    def _disown(self, fd):
        """Drop the registration of ``fd``, whose Socket has closed without a word."""
        del self._interest[fd], self._owners[fd]
        try:
            self._multiplexer.unregister(fd)
        except OSError as error:
            # epoll dropped it when the file closed: ENOENT if the number names another
            # file now, EBADF if it names none. select and poll keep theirs by number.
            if error.errno not in (errno.ENOENT, errno.EBADF):
                raise
