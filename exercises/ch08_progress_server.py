"""Exercise 8.1: a poetry server that says every second how many clients it is serving.

The server is chapter 8's reactor server, unchanged. The progress line is one more
event handler on the same reactor: a timer that prints a line on stderr and sets
itself again, while the senders' timers and the acceptors' readers go on around it,
all in one thread.

    python -m exercises.ch08_progress_server [the options of python -m poetry_server] POEM ...
"""

import sys

from poetry_server import cli, reactor_server

#: Seconds between two progress lines.
EVERY = 1.0


class Progress:
    """Prints, every ``every`` seconds, how many clients ``limit`` says are being served.

    There is always exactly one timer set for the next line, until :meth:`stop`.
    """

    def __init__(self, reactor, limit, every, out=None):
        self.reactor = reactor
        self.limit = limit
        self.every = every
        self.out = out or sys.stderr
        self.began = self.due = reactor.time()
        self.timer = None
        self.set_timer()

    def set_timer(self):
        # At began + k * every, as the countdown's ticks are: lateness does not add up.
        self.due += self.every
        self.timer = self.reactor.call_at(self.due, self.tick)

    def tick(self):
        """The event handler: say how many clients there are now, and set the next timer."""
        count = self.limit.count
        print(f"{self.reactor.time() - self.began:4.1f}s: serving {count} "
              f"client{'' if count == 1 else 's'}", file=self.out, flush=True)
        self.set_timer()

    def stop(self):
        self.timer.cancel()


def main(argv=None, prog="python -m exercises.ch08_progress_server"):
    """Run the server until Ctrl-C or SIGTERM; return the exit status."""
    progress = []

    def serve(reactor, listener, poem, options, limit):
        reactor_server.serve(reactor, listener, poem, options, limit)
        if not progress:  # one progress line for the whole server, however many ports
            progress.append(Progress(reactor, limit, EVERY))

    return cli.serve_on_reactor(argv, prog, __doc__.split("\n\n")[0], serve, framed=True)


if __name__ == "__main__":
    sys.exit(main())
