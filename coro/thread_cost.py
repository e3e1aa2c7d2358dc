"""Chapter 3: what a thread costs, measured here, and what a generator costs instead.

A thread per download keeps the code simple, and pays for it three ways: memory for
each thread's stack and bookkeeping, time to start each one, and time for the kernel
to switch from one to another. This stage measures all three on your machine, then
measures the same three for a generator, the paused function that chapters 14 to 16
build their tasks from: a task that waits is a generator suspended at a ``yield``,
and a switch between tasks is one ``send``.

What it measures, and how:

- memory: N threads are started and parked on an Event, and the process's resident
  size (what it holds in RAM, from /proc/self/statm) grows by N times a thread's
  share. Each thread also reserves address space for its stack (the size column of
  statm grows by it), but only the pages a thread touches take RAM. A generator has no
  stack: its frame is an object in Python's heap, and tracemalloc counts the bytes N
  suspended generators hold.
- start: the time to make a Thread and ``start()`` it (it returns once the thread
  runs), against making a generator and running it to its first ``yield``.
- switch: two threads hand the turn to each other over two Events, N times, against a
  caller and a generator handing it back and forth with ``send``.

Without /proc (macOS, the BSDs) the resident size is the peak that
:func:`resource.getrusage` reports, and the stack's reservation is not measured.

    python -m coro.thread_cost [--threads N] [--switches N]
"""

import argparse
import contextlib
import os
import resource
import statistics
import sys
import threading
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

from coro.io.threads import signals_for_the_main_thread_only

STATM = Path("/proc/self/statm")  # Linux: the process's sizes now, in pages


def _sizes_kib():
    """``(address space, resident)`` of this process in KiB, or None without /proc."""
    if not STATM.exists():
        return None
    size, resident = map(int, STATM.read_text(encoding="ascii").split()[:2])
    page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
    return size * page_kib, resident * page_kib


def resident_kib():
    """The process's resident size in KiB: now where /proc has it, else its peak.

    The peak (``ru_maxrss``) is what :func:`resource.getrusage` offers everywhere; it is
    in KiB on Linux and in bytes on macOS.
    """
    sizes = _sizes_kib()
    if sizes is not None:
        return sizes[1]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform == "darwin" else peak


@dataclass
class Costs:
    """One kind of task's costs; ``reserved_kib`` is None where nothing was measured."""

    resident_kib: float
    reserved_kib: float | None
    start_s: float
    switch_s: float


@contextlib.contextmanager
def parked_threads():
    """Yield a function that starts one more thread parked on an Event; at the end of
    the block, wake and join every thread it started.

    Raises:
        RuntimeError: the system would not start another thread.
    """
    go = threading.Event()
    started = []

    def start_one():
        thread = threading.Thread(target=go.wait, daemon=True)
        thread.start()  # returns once the thread runs
        started.append(thread)

    try:
        with signals_for_the_main_thread_only():  # Ctrl-C stays with the main thread
            yield start_one
    except RuntimeError as exc:  # "can't start new thread"
        raise RuntimeError(f"the system would not start thread {len(started) + 1}: "
                           f"{exc}; try --threads {max(1, len(started) // 2)}") from None
    finally:
        go.set()
        for thread in started:
            thread.join()


def thread_memory_kib(count):
    """Start ``count`` parked threads; return ``(resident, reserved)`` KiB per thread.

    Reserved is the growth of the address space that most threads caused, which is
    their stack; None without /proc. (The first few threads add more: each takes a malloc
    arena of its own, up to eight per processor with glibc.)
    """
    growth = []
    before = resident_kib()
    with parked_threads() as start_one:
        for _ in range(count):
            sizes = _sizes_kib()
            start_one()
            if sizes is not None:
                growth.append(_sizes_kib()[0] - sizes[0])
        resident = (resident_kib() - before) / count
    return resident, statistics.mode(growth) if growth else None


def thread_start_seconds(count):
    """Seconds to make and start one thread, over ``count`` threads left parked.

    Timed apart from the memory, whose reading of /proc between starts slows them.
    """
    starting = 0.0
    with parked_threads() as start_one:
        for _ in range(count):
            began = time.perf_counter()
            start_one()
            starting += time.perf_counter() - began
    return starting / count


def thread_switch_seconds(switches):
    """Seconds per switch when two threads take turns, ``switches`` turns in all.

    Each thread waits on its own Event; handing over the turn is setting the other's.
    So every turn is a switch: the thread that gave it up sleeps, the other wakes.
    """
    rounds = switches // 2  # the main thread's turn, then the partner's
    main_turn, partner_turn = threading.Event(), threading.Event()

    def partner():
        for _ in range(rounds):
            partner_turn.wait()
            partner_turn.clear()
            main_turn.set()

    with signals_for_the_main_thread_only():
        other = threading.Thread(target=partner, daemon=True)
        other.start()
    began = time.perf_counter()
    for _ in range(rounds):
        partner_turn.set()
        main_turn.wait()
        main_turn.clear()
    elapsed = time.perf_counter() - began
    other.join()
    return elapsed / (2 * rounds)


def measure_threads(count, switches):
    """The three costs for a thread.

    Returns:
        The :class:`Costs` of one thread.

    Raises:
        RuntimeError: the system would not start ``count`` threads.
    """
    resident, reserved = thread_memory_kib(count)
    return Costs(resident, reserved, thread_start_seconds(count),
                 thread_switch_seconds(switches))


def _parked():
    """A task that waits: a generator suspended at its ``yield`` until it is resumed."""
    yield


def _echo():
    """A task that hands the turn straight back: each ``send`` is two switches."""
    value = None
    while True:
        value = yield value


def measure_generators(count, switches):
    """The same three costs for a generator.

    Returns:
        The :class:`Costs` of one generator (``reserved_kib`` None: it has no stack).
    """
    began = time.perf_counter()
    timed = [_parked() for _ in range(count)]
    for gen in timed:
        next(gen)  # run to the first yield: started, and waiting
    starting = (time.perf_counter() - began) / count
    del timed
    tracemalloc.start()  # apart from the timing: tracing makes allocation slower
    try:
        before = tracemalloc.get_traced_memory()[0]
        parked = [_parked() for _ in range(count)]
        for gen in parked:
            next(gen)
        # Bytes held by the generators, not by the list that holds them.
        resident = (tracemalloc.get_traced_memory()[0] - before
                    - sys.getsizeof(parked)) / count / 1024
    finally:
        tracemalloc.stop()
    rounds = switches // 2
    echo = _echo()
    next(echo)
    began = time.perf_counter()
    for n in range(rounds):
        echo.send(n)
    elapsed = time.perf_counter() - began
    echo.close()
    return Costs(resident, None, starting, elapsed / (2 * rounds))


ROWS = (
    ("memory in RAM (resident)", "resident_kib", "KiB"),
    ("address space reserved", "reserved_kib", "KiB"),
    ("time to start", "start_s", "µs"),
    ("time per switch", "switch_s", "µs"),
)


def _cell(value, unit):
    if value is None:
        return "-"
    return f"{value * 1e6:,.2f} µs" if unit == "µs" else f"{value:,.2f} KiB"


def render(thread, generator, *, count, switches):
    """The two columns of costs, their ratio, and what each row measured."""
    lines = [f"{'what it costs here':<27}{'a thread':>14}{'a generator':>14}"
             f"{'ratio':>9}"]
    for label, name, unit in ROWS:
        mine, theirs = getattr(thread, name), getattr(generator, name)
        ratio = f"{mine / theirs:,.0f}×" if mine is not None and theirs else "-"
        lines.append(f"{label:<27}{_cell(mine, unit):>14}{_cell(theirs, unit):>14}"
                     f"{ratio:>9}")
    if STATM.exists():
        where = "the growth of the process's resident size (/proc/self/statm)"
    else:
        where = "the growth of the peak resident size (getrusage: no /proc here)"
    stack_limit = resource.getrlimit(resource.RLIMIT_STACK)[0]
    limit = ("unlimited" if stack_limit == resource.RLIM_INFINITY
             else f"{stack_limit // 1024} KiB")
    size = threading.stack_size()
    lines += [
        "",
        f"{count} threads parked on an Event, {count} generators suspended at a yield;",
        f"{switches // 2 * 2} switches between two threads, as many into and out of a "
        "generator.",
        f"Resident, for threads: {where};",
        "for generators: the bytes they hold in Python's heap (tracemalloc).",
        "Address space: set aside for each thread, nearly all for its stack; it takes RAM",
        "only where a thread touches it.",
        f"threading.stack_size() is {size}{' (the default)' if size == 0 else ''}; "
        f"ulimit -s is {limit}.",
    ]
    return "\n".join(lines)


def main(argv=None):
    """Measure, print the table; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m coro.thread_cost",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1000, metavar="N",
                        help="threads (and generators) to start and park (default: 1000)")
    parser.add_argument("--switches", type=int, default=10000, metavar="N",
                        help="switches to time, two per round trip (default: 10000)")
    options = parser.parse_args(argv)
    if options.threads < 1:
        parser.error("--threads must be at least 1")
    if options.switches < 2:
        parser.error("--switches must be at least 2")
    try:
        thread = measure_threads(options.threads, options.switches)
        generator = measure_generators(options.threads, options.switches)
    except RuntimeError as exc:
        print(f"python -m coro.thread_cost: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    print(render(thread, generator, count=options.threads, switches=options.switches))
    return 0


if __name__ == "__main__":
    sys.exit(main())
