"""Threads and Ctrl-C: keep the stop signals for the main thread.

Chapter 3's threaded client and server both start threads and then wait in the main
thread. This is what makes Ctrl-C reach them there.
"""

import contextlib
import signal


@contextlib.contextmanager
def signals_for_the_main_thread_only():
    """Threads started inside this block (and the threads they start) never take
    SIGINT or SIGTERM.

    The kernel hands a signal meant for the process to any thread that does not block
    it. Python runs the handler in the main thread, but only once that thread runs
    again, and a main thread asleep in a lock (``queue.get``, ``join``) is woken only by
    a signal delivered to itself. So every other thread blocks the stop signals, and
    Ctrl-C always lands where it can stop the program.
    """
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    before = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
