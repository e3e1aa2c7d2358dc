"""The I/O layer: what every loop in the book stands on (chapters 4 to 8).

- :mod:`~coro.io.nonblocking`: one download on a non-blocking socket (chapters 4 to 6);
- :mod:`~coro.io.multiplexer`: select, poll and epoll behind one interface (chapter 5);
- :mod:`~coro.io.proactor`: completions from io_uring or a pool of threads (chapter 7);
- :mod:`~coro.io.threads`: threads that leave Ctrl-C to the main thread (chapter 3);
- :mod:`~coro.io.clock`: the real clock and the fake one that tests move by hand;
- :mod:`~coro.io.timers`: the timer heap that the reactor and the kernel share;
- :mod:`~coro.io.self_pipe`: how a signal or another thread wakes a sleeping poll;
- :mod:`~coro.io.report`: how an error that nobody handled is reported.

This layer imports nothing from the layers above it: the reactor, Deferreds, the kernel.
"""

from coro.io.clock import FakeClock, MonotonicClock
from coro.io.multiplexer import (FD_SETSIZE, READ, WRITE, Interest, Multiplexer, TooManyDescriptors,
                                 best_backend, create)
from coro.io.nonblocking import Download, State, os_error
from coro.io.proactor import ProactorUnavailable, open_proactor
from coro.io.report import print_error
from coro.io.self_pipe import SelfPipe
from coro.io.threads import signals_for_the_main_thread_only
from coro.io.timers import Timer, TimerHeap

__all__ = [
    "FD_SETSIZE", "READ", "WRITE", "Download", "FakeClock", "Interest", "MonotonicClock",
    "Multiplexer", "ProactorUnavailable", "SelfPipe", "State", "Timer", "TimerHeap",
    "TooManyDescriptors", "best_backend", "create", "open_proactor", "os_error",
    "print_error", "signals_for_the_main_thread_only",
]
