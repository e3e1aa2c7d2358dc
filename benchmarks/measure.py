"""How each figure is taken: one server, one workload, one repetition.

Each function starts the processes it needs, takes its figures, stops everything it
started (even when it fails), and returns ``{figure: Sample}``. A server that fails
raises :exc:`~benchmarks.processes.ProcessFailed`; the runner turns that into an
error in that server's cells and goes on with the others.

The server is pinned to CPU 0 and the load generator to CPU 1: each has a core of
its own, and neither migrates between cores in the middle of a window.
"""

import contextlib
import json
import os
import socket
import sys
import time
from dataclasses import dataclass, field

from benchmarks.processes import Child, ProcessFailed
from benchmarks.servers.cli import HOST, poem
from benchmarks.timers import NOTES as TIMER_NOTES
from benchmarks.usage import rss_kib

# The first two CPUs this process may use; with only one, the scheduler decides.
_CPUS = sorted(os.sched_getaffinity(0))
SERVER_CPU, LOAD_CPU = _CPUS[:2] if len(_CPUS) > 1 else (None, None)
ECHO_CONNECTIONS = (10, 100)
BULK_CONNECTIONS = 50
IDLE_CONNECTIONS = 10_000


@dataclass
class Sample:
    """One figure from one repetition: a value, or why there is none.

    Attributes:
        value: The number, or None.
        missing: Why there is no value ("n/a (...)" or "error: ..."), else None.
        details: Everything else worth keeping (CPU shares, counts) for the JSON.
        note: A remark for under the table, or None.
    """

    value: float | None
    missing: str | None = None
    details: dict = field(default_factory=dict)
    note: str | None = None


@dataclass(frozen=True)
class Windows:
    """How long each load runs: a warm-up, then the measuring window (seconds)."""

    warmup: float = 0.3
    echo: float = 1.25
    bulk: float = 1.0


@contextlib.contextmanager
def _server(server, workload, notes):
    """Start ``server`` for ``workload``; yield ``(child, port)``; stop it afterwards.

    Before it is measured, the server serves one whole connection, opened and closed.
    That checks it works, and puts it in the state a server that has run for a while
    is in: glibc's malloc, for one, serves big buffers with mmap() until the first of
    them is freed, and asyncio, which reads into a 256 KiB buffer, runs several times
    slower until one of its connections has closed.
    """
    child = Child(server.command(workload), name=f"{server.name} server", cpu=SERVER_CPU)
    try:
        line = child.read_line(timeout=30)
        if not line.isdigit():
            raise ProcessFailed(f"{child.name} printed {line!r} instead of its port")
        port = int(line)
        _first_connection(child, port, workload)
        try:
            yield child, port
        except ProcessFailed:
            child.check_running()  # a server that died is the better explanation
            raise
        child.check_running()
    finally:
        trouble = child.stop()
        if trouble:
            notes.append(trouble)
        child.close()


def _first_connection(child, port, workload):
    try:
        with socket.create_connection((HOST, port), timeout=10) as sock:
            if workload == "echo":
                expected = b"ping"
                sock.sendall(expected)
                answer = b""
                while len(answer) < len(expected):
                    chunk = sock.recv(len(expected) - len(answer))
                    if not chunk:
                        break
                    answer += chunk
            else:
                expected = poem()
                answer = b"".join(iter(lambda: sock.recv(1 << 20), b""))
    except OSError as exc:
        raise ProcessFailed(f"{child.name} failed its first connection: {exc}") from None
    if answer != expected:
        raise ProcessFailed(f"{child.name} answered its first connection with "
                            f"{len(answer)} wrong bytes")


def _loadgen(*arguments, name):
    """Run the load generator to the end; return its JSON result."""
    child = Child([sys.executable, "-m", "benchmarks.loadgen", *map(str, arguments)],
                  name=f"{name} load generator", cpu=LOAD_CPU)
    try:
        status = child.wait(timeout=120)
        if status != 0:
            raise ProcessFailed(child.last_error())
        return json.loads(child.read_line(timeout=1))
    finally:
        child.close()


def echo(server, windows, notes):
    """Echo requests per second with 10 and with 100 connections, on one server process."""
    samples = {}
    with _server(server, "echo", notes) as (child, port):
        for connections in ECHO_CONNECTIONS:
            result = _loadgen("echo", "--port", port, "--connections", connections,
                              "--warmup", windows.warmup, "--seconds", windows.echo,
                              "--server-pid", child.pid, name=server.name)
            samples[f"echo-{connections}"] = Sample(result.pop("rate"), details=result)
    return samples


def bulk(server, windows, notes):
    """MB/s (10^6 bytes) received by 50 clients at a time downloading the 1 MiB poem."""
    with _server(server, "poem", notes) as (child, port):
        result = _loadgen("bulk", "--port", port, "--connections", BULK_CONNECTIONS,
                          "--warmup", windows.warmup, "--seconds", windows.bulk,
                          "--server-pid", child.pid, name=server.name)
    return {"bulk": Sample(result.pop("rate") / 1e6, details=result)}


def idle(server, windows, notes, *, connections=IDLE_CONNECTIONS):
    """Server memory per idle connection, and how many of the connections it held.

    The memory is (RSS with all connections held - RSS before the first) / count,
    read from /proc/PID/status. Each connection has been answered once (one byte
    echoed), so the server has really accepted it and set it up; then it sits idle.
    """
    with _server(server, "echo", notes) as (child, port):
        before = rss_kib(child.pid)
        load = Child([sys.executable, "-m", "benchmarks.loadgen", "idle", "--port", str(port),
                      "--connections", str(connections)],
                     name=f"{server.name} load generator", cpu=LOAD_CPU, stdin=True)
        try:
            report = json.loads(load.read_line(timeout=180))
            time.sleep(0.3)  # let the server finish what the last answers started
            child.check_running()
            after = rss_kib(child.pid)
            load.write_line("release")
            report = json.loads(load.read_line(timeout=30))
            load.wait(timeout=30)
        finally:
            load.close()
        report.update(rss_before_kib=before, rss_held_kib=after,
                      server_tracebacks=child.stderr_text().count("Traceback"))
        if report["server_tracebacks"]:
            report["server_last_error"] = child.last_error()
    held = report["held"] - report["dropped"]
    if held == connections:
        memory = Sample((after - before) / connections, details=report)
    elif server.fd_ceiling is not None and connections > server.fd_ceiling:
        memory = Sample(None, f"n/a ({server.fd_ceiling_reason})", report)
    else:
        memory = Sample(None, f"n/a (only {held} of {connections} held)", report)
    return {"idle-memory": memory,
            "idle-held": Sample(held, details=report, note=_what_failed(server, report))}


def _what_failed(server, report):
    """A sentence on the idle connections that were not held, or None if all were."""
    failed = {"never answered": report["unanswered"], "refused or reset": sum(
        report["errors"].values()), "closed later": report["dropped"],
        "not attempted (the server had stopped answering)": report["not_attempted"]}
    if not any(failed.values()):
        return None
    text = f"{server.name}: " + ", ".join(f"{count} {what}" for what, count in failed.items()
                                          if count)
    if report["server_tracebacks"]:
        text += (f"; the server logged {report['server_tracebacks']} tracebacks, "
                 f"the last: {report['server_last_error']}")
    return text


def timers(server, windows, notes):
    """Seconds to fire 100,000 zero-delay timers, in a fresh process."""
    if server.timers is None:
        return {}
    child = Child([sys.executable, "-m", "benchmarks.timers", server.timers],
                  name=f"{server.name} timers", cpu=SERVER_CPU)
    try:
        status = child.wait(timeout=120)
        if status != 0:
            raise ProcessFailed(f"{child.name} exited with status {status}: "
                                f"{child.last_error()}")
        result = json.loads(child.read_line(timeout=1))
    finally:
        child.close()
    return {"timers": Sample(result.pop("seconds"), details=result,
                             note=TIMER_NOTES.get(server.timers))}


#: The workloads in the order each repetition runs them, and the figures each gives.
WORKLOADS = {
    "echo": (echo, ("echo-10", "echo-100")),
    "bulk": (bulk, ("bulk",)),
    "idle": (idle, ("idle-memory", "idle-held")),
    "timers": (timers, ("timers",)),
}
