"""Chapter 5: what one turn of the loop costs as idle connections pile up.

One socket always has a byte waiting (it is never read, so a level-triggered
multiplexer reports it on every call); N more sockets are idle. One turn of the loop
is one ``poll(0)`` that finds the one ready socket among the N+1 watched. select and
poll hand the kernel the whole watched set on every call, so a turn costs more as N
grows; epoll keeps the set in the kernel and returns only what is ready, so it does
not.

The idle sockets are duplicates (``os.dup``) of one idle socket: to the kernel each
is one more descriptor to check, and they cost one descriptor each instead of the two
a real loopback connection would.

    python -m coro.select_cost [--max N] [--turns T]
"""

import argparse
import contextlib
import os
import resource
import socket
import statistics
import sys
import time

from coro.io import multiplexer
from coro.io.multiplexer import FD_SETSIZE, READ

SIZES = (1, 10, 100, 300, 1000, 3000, 10000)


def measure(backend, idle, *, turns=200, batches=5):
    """Seconds per loop turn with one ready and ``idle`` idle descriptors watched.

    Returns:
        The median, over ``batches`` runs of ``turns`` turns, of the time per turn.
    """
    with contextlib.ExitStack() as stack:
        ready_end, writer = socket.socketpair()
        idle_end, idle_peer = socket.socketpair()
        for sock in (ready_end, writer, idle_end, idle_peer):
            stack.enter_context(sock)
        writer.send(b"!")  # never read: ready on every turn
        mux = stack.enter_context(multiplexer.create(backend))
        mux.register(ready_end, READ)
        for _ in range(idle):
            fd = os.dup(idle_end.fileno())
            stack.callback(os.close, fd)
            mux.register(fd, READ)
        per_turn = []
        for _ in range(batches):
            started = time.perf_counter()
            for _ in range(turns):
                if len(mux.poll(0)) != 1:
                    raise RuntimeError("expected exactly one ready descriptor")
            per_turn.append((time.perf_counter() - started) / turns)
        return statistics.median(per_turn)


def room_for(backend, idle):
    """Whether ``idle`` more descriptors fit: under FD_SETSIZE for select, else the limit."""
    in_use = len(os.listdir("/proc/self/fd"))  # new descriptors take the lowest free numbers
    ceiling = FD_SETSIZE if backend == "select" else resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return in_use + idle + 8 < ceiling


def raise_descriptor_limit(wanted):
    """Raise the soft limit on open descriptors towards ``wanted``; return the new one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return max(soft, target)


def table(max_idle=10000, turns=200):
    """Measure every backend at every size that fits; return ``{backend: {idle: s}}``."""
    raise_descriptor_limit(max_idle + 100)
    results = {}
    for backend in multiplexer.BACKENDS:
        results[backend] = {
            idle: measure(backend, idle, turns=turns)
            for idle in SIZES if idle <= max_idle and room_for(backend, idle)
        }
    return results


def render(results):
    """The results as a text table, microseconds per turn."""
    backends = list(results)
    sizes = sorted({idle for per in results.values() for idle in per})
    lines = ["idle descriptors " + "".join(f"{b:>12}" for b in backends)]
    for idle in sizes:
        cells = "".join(f"{results[b][idle] * 1e6:>9.1f} µs" if idle in results[b]
                        else f"{'-':>12}" for b in backends)
        lines.append(f"{idle:>16} {cells}")
    lines.append("(microseconds per loop turn, one ready descriptor; "
                 "- : select cannot watch that many)")
    return "\n".join(lines)


def main(argv=None):
    """Measure and print the table; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m coro.select_cost",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--max", type=int, default=10000, metavar="N",
                        help="the most idle descriptors to try (default: 10000)")
    parser.add_argument("--turns", type=int, default=200, metavar="T",
                        help="loop turns per measurement (default: 200)")
    options = parser.parse_args(argv)
    if options.max < 1 or options.turns < 1:
        parser.error("--max and --turns must be at least 1")
    print(render(table(options.max, options.turns)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
