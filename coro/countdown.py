"""Chapter 8: countdowns on a reactor, the smallest event-driven program.

Each countdown is one event handler, ``tick``, which prints a number and asks the
reactor to call it again in ``--interval`` seconds. Nothing in it waits: the waiting
happens in one place, the reactor's loop, which sleeps until the nearest timer is
due. Several countdowns share the one thread, and their lines interleave by time.
When the last one reaches zero, it stops the reactor, and ``run()`` returns.

    python -m coro.countdown [--interval SECONDS] [N ...]
"""

import argparse
import sys

from coro.reactor.loop import Reactor


class Countdown:
    """Counts down from ``start`` to 0, one number per ``interval`` seconds."""

    def __init__(self, reactor, name, start, interval, *, on_done, out=None):
        self.reactor = reactor
        self.name = name
        self.left = start
        self.interval = interval
        self.on_done = on_done
        self.out = out or sys.stdout
        self.began = self.due = reactor.time()

    def tick(self):
        """The event handler: say the number, then ask to be called again."""
        elapsed = self.reactor.time() - self.began
        if self.left:
            print(f"{elapsed:4.1f}s  {self.name}: {self.left}...", file=self.out)
            self.left -= 1
            # Due at began + k * interval exactly: call_later(interval) from "now"
            # would add each tick's lateness to all the ticks after it.
            self.due += self.interval
            self.reactor.call_at(self.due, self.tick)
        else:
            print(f"{elapsed:4.1f}s  {self.name}: liftoff!", file=self.out)
            self.on_done(self)


def main(argv=None):
    """Run the countdowns; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m coro.countdown",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("starts", nargs="*", type=int, default=[5], metavar="N",
                        help="count down from N; one countdown per N (default: 5)")
    parser.add_argument("--interval", type=float, default=0.5, metavar="SECONDS",
                        help="seconds between two numbers (default: 0.5)")
    options = parser.parse_args(argv)
    if any(n < 0 for n in options.starts) or not options.interval > 0:
        parser.error("N must be >= 0 and --interval > 0")
    with Reactor() as reactor:
        running = set()

        def done(countdown):
            running.discard(countdown)
            if not running:
                reactor.stop()

        for number, start in enumerate(options.starts, start=1):
            countdown = Countdown(reactor, f"countdown {number}", start,
                                  options.interval * number, on_done=done)
            running.add(countdown)
            reactor.call_soon(countdown.tick)
        reactor.run()
    return 130 if reactor.stopped_by else 0


if __name__ == "__main__":
    sys.exit(main())
