"""I/O multiplexing: sleep until one of many descriptors is ready.

A multiplexer watches file descriptors for two kinds of readiness, READ (bytes to
read, a connection to accept, or the peer closed) and WRITE (room to send, or a
non-blocking connect finished). ``poll(timeout)`` sleeps until at least one watched
descriptor is ready or the timeout passes, then says which ones and for what.

Three backends do the same job with different system calls:

- ``select`` passes the whole set of descriptors to the kernel on every call and
  gets it back rewritten; its cost grows with the number watched, and it cannot
  watch a descriptor numbered FD_SETSIZE (1024) or above.
- ``poll`` passes an array instead of bitmaps: no limit on descriptor numbers, but
  still the whole set on every call.
- ``epoll`` (Linux) keeps the set inside the kernel; a call returns only the ready
  descriptors, so its cost follows the number of ready descriptors, not watched ones.

All three are *level-triggered* here: a descriptor that is still ready (bytes left
unread) is reported again on the next call. (epoll can also be edge-triggered, and
then reports only changes; a loop must then read until EAGAIN or lose its wake-up.)

``poll`` and ``epoll`` differ only by data (the poller, its flag values, its unit of
time), so they share one class; ``select`` needs its own ``poll``.
"""

import enum
import select


class Interest(enum.IntFlag):
    """What a descriptor is watched for."""

    READ = 1
    WRITE = 2


#: The same two values as plain ints, which is what ``poll`` returns. An event loop
#: tests them on every event, and arithmetic on an enum member runs Python code
#: (Flag.__and__); arithmetic on an int does not.
READ, WRITE = int(Interest.READ), int(Interest.WRITE)

#: The size of select()'s descriptor bitmaps in glibc (descriptors 0 to 1023).
FD_SETSIZE = 1024


class TooManyDescriptors(ValueError):
    """select() was asked to watch a descriptor it cannot represent."""


class Multiplexer:
    """Watches descriptors for readiness; a backend supplies the system call.

    Each watched descriptor appears once, with a non-empty interest; registering it
    twice is an error, since two owners would steal each other's events.
    """

    name = "?"

    def __init__(self):
        self._interest = {}

    def register(self, fd, interest):
        """Start watching ``fd`` (an int or an object with ``fileno()``) for ``interest``."""
        fd = _fileno(fd)
        if fd in self._interest:
            raise ValueError(f"descriptor {fd} is already watched; use modify()")
        self._check(fd, interest)
        self._add(fd, interest)
        self._interest[fd] = int(interest)

    def modify(self, fd, interest):
        """Watch ``fd`` for ``interest`` instead of what it was watched for."""
        fd = _fileno(fd)
        if fd not in self._interest:
            raise KeyError(f"descriptor {fd} is not watched")
        if self._interest[fd] != interest:
            self._check(fd, interest)
            self._change(fd, interest)
            self._interest[fd] = int(interest)

    def unregister(self, fd):
        """Stop watching ``fd``. Do this before closing it."""
        fd = _fileno(fd)
        del self._interest[fd]
        self._remove(fd)

    def poll(self, timeout=None):
        """Sleep until a watched descriptor is ready, or ``timeout`` seconds pass.

        Args:
            timeout: Seconds to wait at most; ``None`` waits for ever, 0 not at all.

        Returns:
            A list of ``(fd, interest)`` for the ready descriptors, possibly empty;
            ``interest`` is READ, WRITE or ``READ | WRITE``, as an int.
        """
        raise NotImplementedError

    def close(self):
        """Release the backend's resources; the descriptors themselves stay open."""
        self._interest.clear()

    def __len__(self):
        return len(self._interest)

    def __contains__(self, fd):
        return _fileno(fd) in self._interest

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _check(self, fd, interest):
        if not interest or interest & ~(READ | WRITE):
            raise ValueError(f"interest must be READ, WRITE or both, not {interest!r}")

    def _add(self, fd, interest):
        pass

    def _change(self, fd, interest):
        pass

    def _remove(self, fd):
        pass


def _fileno(fd):
    return fd if isinstance(fd, int) else fd.fileno()


class SelectMultiplexer(Multiplexer):
    """select(): three bitmaps in, three bitmaps out, every call."""

    name = "select"

    def _check(self, fd, interest):
        super()._check(fd, interest)
        if fd >= FD_SETSIZE:
            raise TooManyDescriptors(
                f"select() cannot watch descriptor {fd}: it handles only descriptors "
                f"below FD_SETSIZE ({FD_SETSIZE}). The poll and epoll backends have no "
                "such limit (--backend poll or --backend epoll).")

    def poll(self, timeout=None):
        readers = [fd for fd, interest in self._interest.items() if interest & READ]
        writers = [fd for fd, interest in self._interest.items() if interest & WRITE]
        if not readers and not writers:
            raise ValueError("nothing to wait for: no descriptor is watched")
        # Errors (a reset, a refused connect) show up as readable or writable: the next
        # recv() or SO_ERROR says what happened, so the third set is not needed.
        readable, writable, _ = select.select(readers, writers, [], timeout)
        ready = dict.fromkeys(readable, READ)
        for fd in writable:
            ready[fd] = ready.get(fd, 0) | WRITE
        return list(ready.items())


class _PollLike(Multiplexer):
    """poll() and epoll(): the kernel takes each descriptor with a bit mask."""

    _make_poller = None  # a factory: select.poll or select.epoll
    _IN = _OUT = _ERRORS = 0  # the backend's own flag values
    _UNITS_PER_SECOND = 1  # what the backend's timeout counts
    _FOREVER = None  # the backend's "no timeout"

    def __init__(self):
        super().__init__()
        self._poller = type(self)._make_poller()

    def _mask(self, interest):
        return (self._IN if interest & READ else 0) | (self._OUT if interest & WRITE else 0)

    def _add(self, fd, interest):
        self._poller.register(fd, self._mask(interest))

    def _change(self, fd, interest):
        self._poller.modify(fd, self._mask(interest))

    def _remove(self, fd):
        self._poller.unregister(fd)

    def poll(self, timeout=None):
        if not self._interest:
            raise ValueError("nothing to wait for: no descriptor is watched")
        # CPython rounds a fractional timeout up, never down to 0 ms, so a loop that
        # waits 0.0004s for a deadline sleeps once instead of spinning until it.
        limit = self._FOREVER if timeout is None else max(timeout, 0) * self._UNITS_PER_SECOND
        # An error wakes whichever side waits; then report only what was asked for.
        readable, writable = self._IN | self._ERRORS, self._OUT | self._ERRORS
        watched, ready = self._interest, []
        for fd, mask in self._poller.poll(limit):
            interest = ((READ if mask & readable else 0) | (WRITE if mask & writable else 0)
                        ) & watched.get(fd, 0)
            if interest:
                ready.append((fd, interest))
        return ready


class PollMultiplexer(_PollLike):
    """poll(): an array of (fd, events) in, the same array with revents out."""

    name = "poll"
    _make_poller = select.poll
    _IN, _OUT = select.POLLIN, select.POLLOUT
    _ERRORS = select.POLLERR | select.POLLHUP | select.POLLNVAL
    _UNITS_PER_SECOND = 1000  # milliseconds


class EpollMultiplexer(_PollLike):
    """epoll (Linux): the watched set lives in the kernel; only ready ones come back."""

    name = "epoll"
    _make_poller = select.epoll
    _IN, _OUT = select.EPOLLIN, select.EPOLLOUT
    _ERRORS = select.EPOLLERR | select.EPOLLHUP
    _FOREVER = -1

    def close(self):
        super().close()
        self._poller.close()


BACKENDS = {cls.name: cls for cls in (SelectMultiplexer, PollMultiplexer, EpollMultiplexer)
            if cls.name != "epoll" or hasattr(select, "epoll")}


def best_backend():
    """The name of the most scalable backend this system has."""
    return "epoll" if "epoll" in BACKENDS else "poll"


def create(name=None):
    """Make a multiplexer by backend name (``select``, ``poll``, ``epoll``), or the best."""
    try:
        return BACKENDS[name or best_backend()]()
    except KeyError:
        raise ValueError(f"no backend {name!r}; this system has {', '.join(BACKENDS)}") from None
