"""A multiplexer that wraps another: the seam the toolkit uses to watch a loop wait.

Every loop of this book takes its multiplexer as an argument, and every turn of it goes
through one call, ``poll``. So a test tool that must act where the loop waits (move a
fake clock on, keep a limit in real time) wraps the loop's multiplexer and changes
``poll`` alone; :class:`WrappedMultiplexer` passes everything else to the one it wraps.
"""

from coro.io import multiplexer as _multiplexer


class WrappedMultiplexer:
    """Passes every call to ``multiplexer`` (the best backend by default), which it closes
    when it is closed; a subclass changes :meth:`poll`."""

    def __init__(self, multiplexer=None):
        self.multiplexer = _multiplexer.create() if multiplexer is None else multiplexer

    @property
    def name(self):
        return self.multiplexer.name

    def poll(self, timeout=None):
        """The wrapped multiplexer's poll."""
        return self.multiplexer.poll(timeout)

    def register(self, fd, interest):
        """Start watching ``fd`` for ``interest``."""
        self.multiplexer.register(fd, interest)

    def modify(self, fd, interest):
        """Watch ``fd`` for ``interest`` instead."""
        self.multiplexer.modify(fd, interest)

    def unregister(self, fd):
        """Stop watching ``fd``."""
        self.multiplexer.unregister(fd)

    def close(self):
        """Close the wrapped multiplexer."""
        self.multiplexer.close()

    def __len__(self):
        return len(self.multiplexer)

    def __contains__(self, fd):
        return fd in self.multiplexer

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
