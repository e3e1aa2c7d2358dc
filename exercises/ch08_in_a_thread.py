"""Exercise 8.3: blocking work in a thread, its result back on the reactor.

Some work cannot help blocking: a library that has only a blocking call, a long
computation. It belongs in a thread of its own. The thread must not touch the reactor
or the program's state, since the reactor's handlers run in another thread; it hands
its result over with ``call_soon_threadsafe``, the one method another thread may call.
That call queues the result's handler and wakes the loop through its self-pipe, and the
handler runs in the reactor's thread, like every other.

The demonstration is exercise 8.2's, with the sleep sent to a thread: the lag monitor
stays quiet.

    python -m exercises.ch08_in_a_thread [--block SECONDS]
"""

import sys
import threading
import time

from coro.io.threads import signals_for_the_main_thread_only
from exercises.ch08_lag import demonstrate, parser


def call_in_thread(reactor, fn, *args, on_result, on_error):
    """Call ``fn(*args)`` in a new thread; then, in the reactor's thread,
    ``on_result(result)``, or ``on_error(exception)`` if it raised.

    The reactor must still be open when ``fn`` returns: a closed one takes no more calls.
    """
    def work():
        try:
            result = fn(*args)
        except Exception as exc:  # handed over to the reactor's thread, never dropped
            reactor.call_soon_threadsafe(on_error, exc)
        else:
            reactor.call_soon_threadsafe(on_result, result)

    with signals_for_the_main_thread_only():  # Ctrl-C stays the reactor's to handle
        # A daemon: a program that stops (after Ctrl-C, say) does not wait for it.
        thread = threading.Thread(target=work, name=f"call_in_thread {fn.__name__}",
                                  daemon=True)
        thread.start()
    return thread


def sleep_in_a_thread(seconds):
    """A handler that hands a ``seconds``-long sleep to a thread, and returns at once."""
    def hold(reactor, say, finished):
        def done(result):
            say("the thread is done")
            finished()

        def failed(exc):
            say(f"the thread failed: {exc!r}")
            finished()

        say(f"a handler hands a {seconds:g}s sleep to a thread")
        call_in_thread(reactor, time.sleep, seconds, on_result=done, on_error=failed)

    return hold


def main(argv=None):
    """Run the demonstration; return the exit status."""
    options = parser("python -m exercises.ch08_in_a_thread",
                     __doc__.split("\n\n")[0]).parse_args(argv)
    return demonstrate(sleep_in_a_thread(options.block))


if __name__ == "__main__":
    sys.exit(main())
