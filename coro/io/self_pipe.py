"""The self-pipe: how a signal, or another thread, wakes a loop asleep in ``poll``.

A loop asleep in ``poll`` wakes up for its descriptors and its timeout, nothing else.
So the loop watches one end of a socket pair it owns, and anyone who needs to wake it
writes a byte to the other end: the poll returns, the loop drains the byte and goes
round again. The reactor (chapter 8) and the kernel (chapter 16) both use one.

Ctrl-C is a signal, SIGINT. Python's default handler raises :exc:`KeyboardInterrupt`
wherever the main thread happens to be, which may be in the middle of a callback or a
task, half-way through changing some state. So while a loop runs, it installs its own
handlers for SIGINT and SIGTERM, which only take note; :func:`signal.set_wakeup_fd`
makes the signal itself write a byte to the self-pipe, so the poll returns at once.
"""

import signal
import socket
import threading

#: The signals that stop a running loop (when it runs in the main thread).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SelfPipe:
    """A socket pair that wakes a poll.

    Invariant: both ends are non-blocking, so neither waking nor draining ever blocks;
    once :meth:`close` has been called, :meth:`wake` does nothing.
    """

    def __init__(self):
        self._in, self._out = socket.socketpair()
        self.closed = False
        for sock in (self._in, self._out):
            sock.setblocking(False)

    def fileno(self):
        """The descriptor the loop watches for reading."""
        return self._in.fileno()

    def wake(self):
        """Make the poll return. Any thread may call it, and a signal handler too."""
        try:
            self._out.send(b"\0")
        except BlockingIOError:
            pass  # the pipe is full of wake-ups already: the poll will return anyway
        except OSError:
            if not self.closed:  # else another thread closed it meanwhile: nothing to wake
                raise

    def drain(self):
        """Read every waiting byte, so that the next poll sleeps again."""
        try:
            while self._in.recv(4096):
                pass
        except BlockingIOError:
            pass  # drained

    def catch_stop_signals(self, on_signal):
        """Until undone, call ``on_signal(signal)`` on SIGINT or SIGTERM, and wake the poll.

        Returns:
            A function that puts the previous handlers back. Outside the main thread,
            where Python cannot install handlers, nothing is installed.
        """
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def handler(signum, frame):
            on_signal(signal.Signals(signum))

        previous, previous_fd = {}, None

        def restore():
            if previous_fd is not None:
                signal.set_wakeup_fd(previous_fd)
            for signum, old in previous.items():
                signal.signal(signum, old)

        try:  # a Ctrl-C that lands half way puts back what was already changed
            for signum in STOP_SIGNALS:
                previous[signum] = signal.signal(signum, handler)
            previous_fd = signal.set_wakeup_fd(self._out.fileno(), warn_on_full_buffer=False)
        except BaseException:
            restore()
            raise
        return restore

    def close(self):
        """Close both ends; :meth:`wake` does nothing from now on."""
        self.closed = True
        self._in.close()
        self._out.close()
