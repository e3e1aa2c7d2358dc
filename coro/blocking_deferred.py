"""Chapter 11: a Deferred does not make blocking code non-blocking.

A function that returns a Deferred looks asynchronous, but the Deferred only carries
a result; it does no waiting of its own. :func:`blocking_get_poetry` returns a
Deferred and reads the poem from a blocking socket: while it reads, it holds the
reactor's one thread, so no timer, no other socket and no other callback runs. By
the time it returns, its Deferred has fired already, and the callback the caller
adds runs at once, inside ``add_callbacks``.

The demo shows it with a timer that ticks every 0.1 seconds on a reactor, and a
download that starts at 0.35 seconds, done twice on a fresh reactor: first with
:func:`blocking_get_poetry`, then with :func:`coro.deferred_client.get_poetry`,
which returns at once and lets the reactor read the socket. The ticks stop during
the first download and go on during the second.

What it does not show is a way out for work that cannot help blocking (a library
that only has a blocking call, a long computation): that work needs a thread of its
own, whose result comes back to the reactor with ``call_soon_threadsafe``.

    python -m coro.blocking_deferred [--timeout SECONDS] [HOST:]PORT
"""

import argparse
import enum
import functools
import socket
import sys
from dataclasses import dataclass

from coro import cli
from coro.deferred.deferred import fail, maybe_deferred, succeed
from coro.deferred_client import get_poetry
from coro.reactor.loop import Reactor

#: Seconds between two ticks.
INTERVAL = 0.1
#: Seconds from the start to the download, half-way between two ticks.
START_AFTER = 0.35
#: Ticks after the download has ended, before the reactor stops.
TICKS_AFTER = 3


def blocking_get_poetry(host, port, *, timeout=10.0):
    """Download the poem at ``host:port`` with a blocking socket; the misconception.

    Returns:
        A Deferred that has fired already, with the poem's bytes or the error,
        because the whole download happened before this function returned.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            chunks = []
            while data := sock.recv(65536):
                chunks.append(data)
    except OSError:
        return fail()
    return succeed(b"".join(chunks))


class Happened(enum.Enum):
    """What the log of a part records."""

    TICK = "tick"  # detail: when it was due
    CALLED = "called"  # the download function was called
    RETURNED = "returned"  # it returned its Deferred; detail: whether it had fired
    ADDED = "added"  # add_callbacks(got_poem, poem_failed) returned
    GOT_POEM = "got poem"  # detail: the poem's bytes
    FAILED = "failed"  # detail: the exception


@dataclass(frozen=True)
class Entry:
    """One thing that happened, ``time`` seconds after the part started."""

    time: float
    what: Happened
    detail: object = None


class Log:
    """What happened in one part, in the order it happened.

    Times are read from ``clock`` when each entry is recorded, so they never go
    backwards; they count from the moment the log was made.
    """

    def __init__(self, clock):
        self.clock = clock
        self.start = clock()
        self.entries = []

    def record(self, what, detail=None):
        """Record that ``what`` happened just now."""
        self.entries.append(Entry(self.clock() - self.start, what, detail))


def run_part(reactor, download, log, *, interval=INTERVAL, start_after=START_AFTER,
             ticks_after=TICKS_AFTER):
    """Tick every ``interval`` seconds on ``reactor``, and download once meanwhile.

    Args:
        download: Called with no argument ``start_after`` seconds in; returns a
            Deferred that fires with a poem.
        log: The :class:`Log` to record ticks and the download's steps in, made
            just now from the reactor's clock: the ticks are due at ``interval``,
            ``2 * interval``... after its start.
        ticks_after: Stop the reactor at this many ticks after the download ended.
    """
    due = log.start  # the ticks' grid starts when the log does
    ticks_left = None  # counts down once the download has ended

    def tick():
        nonlocal due, ticks_left
        log.record(Happened.TICK, due - log.start)
        if ticks_left is not None:
            ticks_left -= 1
            if not ticks_left:
                reactor.stop()
                return
        # Ticks fall on a grid of `interval` seconds. The ones that came due while
        # the reactor was held up are not made up for: this one ran late, instead.
        now = reactor.time()
        while due <= now:
            due += interval
        reactor.call_at(due, tick)

    def start():
        log.record(Happened.CALLED)
        d = maybe_deferred(download)  # an exception raised at once fails d too
        log.record(Happened.RETURNED, d.called)
        d.add_callbacks(got_poem, poem_failed)
        log.record(Happened.ADDED)

    def got_poem(poem):
        nonlocal ticks_left
        log.record(Happened.GOT_POEM, poem)
        ticks_left = ticks_after

    def poem_failed(failure):
        nonlocal ticks_left
        log.record(Happened.FAILED, failure.value)
        ticks_left = ticks_after

    due += interval
    reactor.call_at(due, tick)
    reactor.call_at(log.start + start_after, start)
    reactor.run()


def span(log):
    """When the download was called, and when it ended (with a poem or a failure)."""
    called = next(e.time for e in log.entries if e.what is Happened.CALLED)
    ended = next(e.time for e in log.entries
                 if e.what in (Happened.GOT_POEM, Happened.FAILED))
    return called, ended


def ticks_around(log):
    """The ticks (entries) before the download, while it ran, and after it ended."""
    called, ended = span(log)
    before, during, after = [], [], []
    for entry in log.entries:
        if entry.what is Happened.TICK:
            when = before if entry.time < called else during if entry.time < ended else after
            when.append(entry)
    return before, during, after


def seconds(t):
    """A time, rounded to 0.05 s so that the output keeps its shape from run to run."""
    return f"{round(t * 20) / 20:.2f}s"


def describe(log, name, describe_error=str, *, interval=INTERVAL):
    """The lines that tell what happened in one part.

    Args:
        log: The part's :class:`Log`.
        name: The download function's name.
        describe_error: Turns an exception into a few words.
        interval: The ticks' interval: a tick that ran later than this after it was
            due shows that something held up the reactor.
    """
    lines = []
    added = False
    for entry in log.entries:
        at = f"  {seconds(entry.time)}  "
        where = "called by the reactor" if added else "inside add_callbacks"
        if entry.what is Happened.CALLED:
            lines.append(f"{at}{name}() called")
        elif entry.what is Happened.RETURNED:
            lines.append(f"{at}it returns a Deferred that "
                         + ("has fired already" if entry.detail else "has not fired yet"))
        elif entry.what is Happened.ADDED:
            added = True
            lines.append(f"{at}add_callbacks(got_poem, poem_failed) returns")
        elif entry.what is Happened.GOT_POEM:
            lines.append(f"{at}got_poem runs, {where}: {len(entry.detail)} bytes")
        elif entry.what is Happened.FAILED:
            lines.append(f"{at}poem_failed runs, {where}: {describe_error(entry.detail)}")
    before, during, after = ticks_around(log)
    for label, ticks in (("before the download:", before), ("while it ran:", during),
                         ("after it ended:", after)):
        shown = " ".join(seconds(tick.time)[:-1] for tick in ticks) or "none"
        lines.append(f"  ticks {label:<20} {shown}")
    late = [tick for tick in after if tick.time - tick.detail > interval]
    if late:
        called, ended = span(log)
        lines.append(f"  No tick from {seconds(called)} to {seconds(ended)}: {name} held up "
                     f"the whole reactor;\n  the tick due at {seconds(late[0].detail)} ran "
                     f"at {seconds(late[0].time)}.")
    else:
        lines.append(f"  No tick was late: the reactor ticked {len(during)} "
                     f"time{'' if len(during) == 1 else 's'} while the download ran.")
    return lines


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise cli.UsageError(message)


def main(argv=None):
    """Run both parts against one poetry server; return the exit status."""
    prog = "python -m coro.blocking_deferred"
    parser = _Parser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("address", type=cli.parse_address, metavar="[HOST:]PORT",
                        help="a slow poetry server (host: 127.0.0.1)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="give up on a server that sends nothing for this long "
                             "(default: 10)")
    try:
        options = parser.parse_args(argv)
        if not 0 < options.timeout < float("inf"):
            raise cli.UsageError(f"--timeout must be > 0, not {options.timeout:g}")
    except cli.UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return cli.USAGE_ERROR
    # Its lines come before, between and after the two reactors' runs: Ctrl-C, or
    # SIGTERM, ends the demo the same way at any of them.
    try:
        with cli.interrupted_by_signals():
            return _run_parts(options.address, options.timeout)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return cli.INTERRUPTED


def _run_parts(address, timeout):
    """Download the poem with each function, on a fresh reactor; return the exit status."""
    print(f"A timer ticks every {INTERVAL:g}s; at {START_AFTER:g}s the program downloads "
          f"the poem at\n{cli.format_address(address)}, once with each function, each time "
          f"on a fresh reactor.")
    parts = {
        "blocking_get_poetry": lambda reactor: blocking_get_poetry(*address, timeout=timeout),
        "get_poetry": lambda reactor: get_poetry(reactor, *address, timeout=timeout),
    }
    status = cli.OK
    for name, download in parts.items():
        with Reactor() as reactor:
            log = Log(reactor.time)
            run_part(reactor, functools.partial(download, reactor), log)
        if reactor.stopped_by:
            raise KeyboardInterrupt
        print(f"\n{name}:")
        for line in describe(log, name, lambda error: cli.describe(error, address, timeout)):
            print(line)
        if any(entry.what is Happened.FAILED for entry in log.entries):
            status = cli.FAILED
    return status


if __name__ == "__main__":
    sys.exit(main())
