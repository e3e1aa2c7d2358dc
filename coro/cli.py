"""The command line every client stage shares.

    python -m coro.<stage> [--timeout SECONDS] [--save DIR] [--timeline] [HOST:]PORT ...

A stage module supplies one function, ``download_all(addresses, *, timeout, trace,
done)``, which downloads one poem from each address its own way and calls
``done(task, poem=...)`` or ``done(task, error=...)`` exactly once per task. This
module does everything else the same way for every stage, so that two stages differ
only in how they wait:

- one line per finished task, as it finishes:
  ``Task 1: got 3003 bytes of poetry from 127.0.0.1:40001 in 1.02s``; a stage whose
  tasks run at the same time, and so finish in any order, says first, once, that each
  time is the task's own (:data:`IN_FINISHING_ORDER`);
- one line per failed task: ``Task 2: failed: connection refused by 127.0.0.1:40002``;
- last, ``Got 3 poems in 1.05s``;
- after Ctrl-C or SIGTERM, in place of that last line, one line per task cut short,
  ``Task 3: cut short after 1200 bytes of poetry from 127.0.0.1:40003`` (and with
  ``--timeline`` the timeline of the run up to then), then ``Interrupted.`` on stderr;
- exit status 0 when every task succeeded, 1 when any failed, 2 on a usage error,
  130 after Ctrl-C or SIGTERM, from the first line printed to the last; never a
  traceback.

``--timeout`` gives up on a server that goes quiet, not on one that trickles. The
stages from chapter 13 on add :data:`DEADLINE_OPTION`, a limit for the whole run: each
task still running when it passes fails with :exc:`DeadlinePassed`.
"""

import argparse
import contextlib
import ipaddress
import math
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from coro.trace import Event, Trace, render_timeline

OK, FAILED, USAGE_ERROR, INTERRUPTED = 0, 1, 2, 130

#: The header of a run whose task lines come as the tasks finish, in any order; each
#: time is that task's own, neither a running total nor the run's time so far.
IN_FINISHING_ORDER = ("Tasks as they finish; each time is the task's own, "
                      "from its start to its end:")


class UsageError(Exception):
    """A mistake on the command line, told to the user in one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def parse_address(text):
    """Turn ``PORT`` or ``HOST:PORT`` into ``(host, port)``; the host defaults to 127.0.0.1.

    An IPv6 address goes in brackets, as in a URL: ``[::1]:10001``. Without them, the
    colons of ``::1:10001`` could end the address anywhere.

    >>> from coro.cli import parse_address
    >>> parse_address("10001")
    ('127.0.0.1', 10001)
    >>> parse_address("localhost:10002")
    ('localhost', 10002)
    >>> parse_address("[::1]:10003")
    ('::1', 10003)

    Raises:
        argparse.ArgumentTypeError: for anything else, saying what is wrong; the
            command line makes it a usage error.
    """
    if text.startswith("["):
        host, rest = _in_brackets(text)
        if not rest.startswith(":"):
            raise argparse.ArgumentTypeError(f"no port after the IPv6 address in {text!r}")
        port = rest[1:]
    else:
        host, _, port = text.rpartition(":")
        if ":" in host:
            raise argparse.ArgumentTypeError(
                f"an IPv6 address goes in brackets: [{host}]:{port}, not {text!r}")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"not a port (1-65535) or HOST:PORT: {text!r}")
    return host or "127.0.0.1", int(port)


def parse_host(text):
    """A host alone, such as a server's ``--iface``: a name, an IPv4 address, or an IPv6
    address with or without brackets (``[::1]`` is ``::1``), as :func:`parse_address` has it.
    """
    host, rest = _in_brackets(text) if text.startswith("[") else (text, "")
    if rest:
        raise argparse.ArgumentTypeError(f"not a host alone: {text!r}")
    return host


def _in_brackets(text):
    """``[IPV6]REST`` as ``(IPV6, REST)``, once IPV6 is checked."""
    host, bracket, rest = text[1:].partition("]")
    if not bracket:
        raise argparse.ArgumentTypeError(f"no ']' after the IPv6 address in {text!r}")
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IPv6 address in brackets: {text!r}") from None
    return host, rest


def format_address(address):
    """``(host, port)`` as the command line takes it: ``127.0.0.1:10001``, ``[::1]:10001``.

    >>> from coro.cli import format_address
    >>> format_address(("::1", 10001, 0, 0))
    '[::1]:10001'
    """
    host, port = address[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, not {text!r}")
    return value


#: ``--deadline SECONDS``, as an entry of ``stage_options``: its value goes to
#: ``download_all(..., deadline=...)``, None when it is not given.
DEADLINE_OPTION = (("--deadline",), {
    "type": _seconds, "metavar": "SECONDS",
    "help": "cancel the downloads still running after this many seconds "
            "(default: no deadline)"})


class DeadlinePassed(Exception):
    """The run's deadline passed while the task was still running, so it was cancelled."""

    def __init__(self, seconds):
        super().__init__(f"cancelled: the run's deadline of {seconds:g}s passed")


def make_parser(prog, description, stage_options=()):
    """The argument parser every client stage uses.

    Args:
        prog: The command, as ``python -m <module>``.
        description: One paragraph for ``--help``.
        stage_options: ``(flags, keyword arguments)`` of ``add_argument`` for each
            option of the stage's own, such as ``--backend``.
    """
    parser = _Parser(prog=prog, description=description)
    parser.add_argument("addresses", nargs="+", type=parse_address, metavar="[HOST:]PORT",
                        help="a poetry server to download from (host: 127.0.0.1; IPv6: [::1]:PORT)")
    parser.add_argument("--timeout", type=_seconds, default=10.0, metavar="SECONDS",
                        help="give up on a server that sends nothing for this long "
                             "(default: 10)")
    parser.add_argument("--save", type=Path, metavar="DIR",
                        help="write each poem's bytes to DIR/poem-<task>.txt")
    parser.add_argument("--timeline", action="store_true",
                        help="draw a timeline of the run when it ends")
    parser.add_argument("--cpu", action="store_true",
                        help="say how much CPU time the run used against its wall time")
    parser.stage_option_names = [parser.add_argument(*flags, **keywords).dest
                                 for flags, keywords in stage_options]
    return parser


def describe(error, address, timeout):
    """Say in a few words why a download failed.

    >>> from coro.cli import describe
    >>> describe(ConnectionRefusedError(111, "Connection refused"), ("127.0.0.1", 1), 10)
    'connection refused by 127.0.0.1:1'
    """
    where = format_address(address)
    if isinstance(error, ConnectionRefusedError):
        return f"connection refused by {where}"
    if isinstance(error, ConnectionResetError):
        return f"connection reset by {where}"
    if isinstance(error, TimeoutError):
        return f"timed out: {where} sent nothing for {timeout:g}s"
    if isinstance(error, socket.gaierror):
        return f"cannot find host {address[0]!r}: {error.strerror}"
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror.lower()} ({where})"
    return f"{error} ({where})"


class Report:
    """Prints each task's line as it ends, and the summary at the end, or what was cut short.

    Each task ends exactly once: a second ``done`` for the same task is a bug in the
    stage and raises. ``done`` may be called from any thread. Once the run has been
    :meth:`cut short <cut_short>`, it is over: a task that ends after that (in a thread
    still running, say) is no news, and its ``done`` prints nothing.
    """

    def __init__(self, addresses, trace, *, timeout, save=None, out=None,
                 finishing_order=False):
        self.addresses = addresses
        self.finishing_order = finishing_order
        self.trace = trace
        self.timeout = timeout
        self.save = save
        self.out = out or sys.stdout
        self.poems = {}
        self.errors = {}
        self.cpu_time = 0.0
        self._over = False
        self._lock = threading.Lock()

    def done(self, task, *, poem=None, error=None):
        """Task ``task`` ended with ``poem`` (bytes) or ``error`` (an exception)."""
        with self._lock:
            if self._over:
                return
            if task in self.poems or task in self.errors:
                raise RuntimeError(f"task {task} ended twice")
            address = self.addresses[task - 1]
            if error is None:
                error = self._save(task, poem)
            if error is None:
                self.poems[task] = poem
                self.trace.record(task, Event.DONE, len(poem))
                line = (f"Task {task}: got {len(poem)} bytes of poetry from "
                        f"{format_address(address)} in {self._elapsed(task):.2f}s")
            else:
                self.errors[task] = error
                self.trace.record(task, Event.FAILED)
                line = f"Task {task}: failed: {describe(error, address, self.timeout)}"
            print(line, file=self.out, flush=True)

    def _save(self, task, poem):
        if self.save is None:
            return None
        try:
            (self.save / f"poem-{task}.txt").write_bytes(poem)
        except OSError as exc:
            return OSError(exc.errno, f"cannot save the poem: {exc.strerror}")
        return None

    def _elapsed(self, task):
        first, last = self.trace.span(task)
        return last - first

    def summary(self):
        """Print the last line and return the exit status."""
        got = len(self.poems)
        line = f"Got {got} poem{'' if got == 1 else 's'} in {self.trace.duration():.2f}s"
        if self.errors:
            line += f"; {len(self.errors)} failed"
        print(line, file=self.out, flush=True)
        return FAILED if self.errors else OK

    def unfinished(self):
        """The tasks that have not ended, in order."""
        return [task for task in range(1, len(self.addresses) + 1)
                if task not in self.poems and task not in self.errors]

    def cut_short(self):
        """The run was interrupted: end it, and give each unfinished task its line.

        From now on ``trace`` is the run as it was at this moment, with a ``CUT_SHORT``
        record for each task that had not ended.

        Returns:
            The tasks cut short.
        """
        with self._lock:
            self._over = True
            self.trace = self.trace.until_now()
            unfinished = self.unfinished()
            for task in unfinished:
                self.trace.record(task, Event.CUT_SHORT)
            for task in unfinished:
                print(f"Task {task}: cut short after {self.trace.received(task)} bytes of "
                      f"poetry from {format_address(self.addresses[task - 1])}",
                      file=self.out, flush=True)
        return unfinished

    def download(self, download_all, **stage_options):
        """Run ``download_all`` over the report's addresses, then print the summary
        (and first, in ``finishing_order``, :data:`IN_FINISHING_ORDER`).

        Returns:
            The exit status, 0 or 1.
        """
        if self.finishing_order:
            print(IN_FINISHING_ORDER, file=self.out, flush=True)
        cpu_before = time.process_time()
        download_all(self.addresses, timeout=self.timeout, trace=self.trace, done=self.done,
                     **stage_options)
        self.cpu_time = time.process_time() - cpu_before
        if missing := self.unfinished():
            raise RuntimeError(f"tasks {missing} never ended")
        return self.summary()


def run(download_all, addresses, *, timeout=10.0, save=None, out=None, finishing_order=False,
        **stage_options):
    """Run one stage's ``download_all`` over ``addresses`` and report as it goes.

    ``stage_options`` (``backend="poll"``, say) go to ``download_all`` as they are.
    ``finishing_order`` says that the tasks run at the same time, so that their lines
    come as they finish, under the header :data:`IN_FINISHING_ORDER`.

    Returns:
        ``(report, status)``: the :class:`Report` (poems, errors, trace, and the CPU
        time the process used meanwhile, ``cpu_time``) and the exit status, 0 or 1.
    """
    report = Report(addresses, Trace(), timeout=timeout, save=save, out=out,
                    finishing_order=finishing_order)
    return report, report.download(download_all, **stage_options)


def main(download_all, argv=None, *, prog, description, stage_options=(), cpu=False,
         finishing_order=False):
    """The whole command line of a client stage; returns the exit status.

    Args:
        download_all: The stage's way of downloading (see the module docstring).
        argv: The arguments, ``sys.argv[1:]`` by default.
        prog: The command, as ``python -m <module>``.
        description: One paragraph for ``--help``.
        stage_options: The stage's own options, as for :func:`make_parser`; their
            values go to ``download_all`` as keyword arguments.
        cpu: Report CPU against wall time even without ``--cpu``.
        finishing_order: As for :func:`run`.
    """
    parser = make_parser(prog, description, stage_options)
    try:
        options = parser.parse_args(argv)
        if options.save is not None:
            _make_folder(options.save)
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    report = Report(options.addresses, Trace(), timeout=options.timeout, save=options.save,
                    finishing_order=finishing_order)
    try:
        with interrupted_by_signals():
            status = report.download(download_all, **{name: getattr(options, name)
                                                      for name in parser.stage_option_names})
            if cpu or options.cpu:
                print(cpu_line(report.cpu_time, report.trace.duration()))
            if options.timeline:
                print(render_timeline(report.trace))
    except KeyboardInterrupt:
        # Said here, once for every stage: whichever way a stage stopped, its report
        # knows which tasks ended, and its trace how far the others had come.
        if report.cut_short() and options.timeline:
            print(render_timeline(report.trace))
        print("Interrupted.", file=sys.stderr)
        return INTERRUPTED
    return status


@contextlib.contextmanager
def interrupted_by_signals():
    """Inside the block, Ctrl-C (SIGINT) and SIGTERM both raise :exc:`KeyboardInterrupt`.

    So a program that catches it ends the same way whichever signal comes, at any
    moment of the block. A loop that runs in the block (the reactor's, the kernel's)
    handles the two signals itself while it runs, and puts these handlers back when it
    stops. Without them, SIGTERM kills the process on the spot, and no ``finally`` runs.
    """
    previous = {signum: signal.signal(signum, signal.default_int_handler)
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def cpu_line(cpu_time, wall_time):
    """Say how busy the process was.

    >>> from coro.cli import cpu_line
    >>> cpu_line(0.5, 2.0)
    'CPU time 0.50s in 2.00s of wall time (25%)'
    """
    share = cpu_time / wall_time if wall_time else 0.0
    return f"CPU time {cpu_time:.2f}s in {wall_time:.2f}s of wall time ({share:.0%})"


def _make_folder(path):
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot use {str(path)!r} for --save: {exc.strerror}") from None
