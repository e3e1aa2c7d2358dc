"""Chapter 8: an event handler for lines typed on the keyboard, and a timer beside it.

Type a poem's name and press Enter: the handler answers with the poem's first line.
Stay quiet, and a timer says it is still waiting. Two kinds of event, one thread:
the reactor sleeps until either a line arrives on stdin or the timer is due, and
calls whichever handler the event belongs to. Neither handler waits for anything;
each does its small piece of work and returns to the loop. End the input (Ctrl-D)
to stop.

    python -m coro.stdin_handler [--nudge SECONDS]
"""

import argparse
import os
import sys

from coro.reactor.loop import Reactor
from poetry_server import PoemError, catalogue, load_poem


class LineReader:
    """Turns what arrives on a descriptor into whole lines for ``on_line``.

    The bytes of a line may arrive in pieces, so they are kept until the newline
    comes; at most ``max_line`` of them, so that a line with no end cannot fill
    memory (it is cut off and reported as too long).
    """

    def __init__(self, reactor, fd, *, on_line, on_eof, max_line=1024):
        self.reactor = reactor
        self.fd = fd
        self.on_line, self.on_eof = on_line, on_eof
        self.max_line = max_line
        self.partial = bytearray()
        self.skipping = False  # dropping the rest of a line that was too long
        reactor.add_reader(fd, self.on_readable)

    def on_readable(self):
        """The event handler: read what is there (at once: it is readable) and split it."""
        data = os.read(self.fd, 4096)
        if not data:
            self.reactor.remove_reader(self.fd)
            if self.partial:
                self.on_line(self.partial.decode(errors="replace"))
            self.on_eof()
            return
        *lines, rest = data.split(b"\n")
        for line in lines:
            self.partial += line
            if not self.skipping:
                self.on_line(self.partial.decode(errors="replace"))
            self.partial.clear()
            self.skipping = False
        self.partial += rest
        if len(self.partial) > self.max_line:
            if not self.skipping:
                self.on_line(None)  # too long
            self.partial.clear()
            self.skipping = True


class PoemLookup:
    """Answers each line with the first line of the poem it names."""

    def __init__(self, reactor, *, nudge, out=None):
        self.reactor = reactor
        self.nudge = nudge
        self.out = out or sys.stdout
        self.timer = reactor.call_later(nudge, self.on_quiet)

    def on_line(self, line):
        """Event handler: a line was typed."""
        self.timer.cancel()
        self.timer = self.reactor.call_later(self.nudge, self.on_quiet)
        self.say(self.answer(line))

    def answer(self, line):
        if line is None:
            return "That line is too long to be a poem's name."
        name = line.strip()
        if not name:
            return f"Type one of: {', '.join(catalogue())}."
        if name not in catalogue():
            return f"There is no poem called {name!r} here."
        try:
            title, author, _, first, *_ = load_poem(name).data.decode().splitlines()
        except (PoemError, ValueError) as exc:
            return f"{name}: cannot be read ({exc})"
        return f"{title}, by {author}: {first}"

    def on_quiet(self):
        """Event handler: nothing was typed for a while."""
        self.say("(still listening; type a poem's name, or Ctrl-D to stop)")
        self.timer = self.reactor.call_later(self.nudge, self.on_quiet)

    def on_eof(self):
        """Event handler: the input ended."""
        self.timer.cancel()
        self.say("Bye.")
        self.reactor.stop()

    def say(self, text):
        print(text, file=self.out, flush=True)


def main(argv=None):
    """Run until the input ends; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m coro.stdin_handler",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--nudge", type=float, default=10.0, metavar="SECONDS",
                        help="say something after this long without input (default: 10)")
    options = parser.parse_args(argv)
    if not options.nudge > 0:
        parser.error("--nudge must be a number of seconds > 0")
    with Reactor() as reactor:
        lookup = PoemLookup(reactor, nudge=options.nudge)
        reader = LineReader(reactor, sys.stdin.fileno(), on_line=lookup.on_line,
                            on_eof=lookup.on_eof)
        # Said from inside the loop, which stops cleanly on Ctrl-C or SIGTERM from the
        # moment it runs: a reader may press Ctrl-C as soon as the line is out.
        reactor.call_when_running(lookup.say, "Type a poem's name (Ctrl-D to stop).")
        reactor.run()
        reactor.remove_reader(reader.fd)
    return 130 if reactor.stopped_by else 0


if __name__ == "__main__":
    sys.exit(main())
