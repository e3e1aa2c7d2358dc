"""Exercise 8.2: a timer that notices when the loop was held up.

A handler that blocks holds the whole reactor: no other handler, no timer, no socket
gets its turn until it returns. :class:`LagMonitor` sees it from outside: it sets a
timer for a known time, and when the timer runs it compares the time with the time it
was due. A timer never runs early; if it runs much later than it was due, something held
the loop. Node.js programs watch their "event-loop lag" the same way.

The demonstration runs a reactor with a monitor, and a handler that sleeps (blocks) for
``--block`` seconds.

    python -m exercises.ch08_lag [--block SECONDS]
"""

import argparse
import sys
import time

from coro.reactor.loop import Reactor


class LagMonitor:
    """Wakes every ``interval`` seconds, and reports a wake-up later than ``threshold``.

    There is always exactly one timer set, until :meth:`stop`. ``worst`` is the most it
    was late so far. It cannot say *which* handler held the loop: only the loop, which
    calls them, could time each one.
    """

    def __init__(self, reactor, *, report, interval=0.05, threshold=0.05):
        self.reactor = reactor
        self.report = report
        self.interval, self.threshold = interval, threshold
        self.worst = 0.0
        self.due = reactor.time() + interval
        self.timer = reactor.call_at(self.due, self.check)

    def check(self):
        """The event handler: how late is it?"""
        now = self.reactor.time()
        late = now - self.due
        self.worst = max(self.worst, late)
        if late > self.threshold:
            self.report(f"the loop was {late:.2f}s late")
        self.due = now + self.interval  # from now: no burst of catching up after a delay
        self.timer = self.reactor.call_at(self.due, self.check)

    def stop(self):
        self.timer.cancel()


def demonstrate(hold, *, hold_at=0.3, linger=0.3, out=None):
    """Run a reactor with a :class:`LagMonitor`, call ``hold(reactor, say, finished)``
    at ``hold_at`` seconds, and stop ``linger`` seconds after it calls ``finished()``.
    ``say(text)`` prints a line, with the time since the start."""
    out = out or sys.stdout
    with Reactor() as reactor:
        began = reactor.time()

        def say(text):
            print(f"{reactor.time() - began:.2f}s: {text}", file=out, flush=True)

        def finished():
            reactor.call_later(linger, reactor.stop)

        monitor = LagMonitor(reactor, report=say)
        reactor.call_later(hold_at, hold, reactor, say, finished)
        reactor.run()
        monitor.stop()
        say(f"the loop was at worst {monitor.worst:.2f}s late")
    return 130 if reactor.stopped_by else 0


def block_for(seconds):
    """A handler that holds the loop for ``seconds``."""
    def hold(reactor, say, finished):
        say(f"a handler sleeps for {seconds:g}s")
        time.sleep(seconds)  # the mistake: nothing else runs meanwhile
        say("the handler returns")
        finished()

    return hold


def parser(prog, description):
    """The demonstration's command line: ``--block SECONDS``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--block", type=float, default=0.3, metavar="SECONDS",
                        help="how long the handler sleeps (default: 0.3)")
    return parser


def main(argv=None):
    """Run the demonstration; return the exit status."""
    options = parser("python -m exercises.ch08_lag", __doc__.split("\n\n")[0]).parse_args(argv)
    return demonstrate(block_for(options.block))


if __name__ == "__main__":
    sys.exit(main())
