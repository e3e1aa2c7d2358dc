"""The load generator: many client connections in one process, on bare sockets and epoll.

    python -m benchmarks.loadgen echo --port PORT --connections 100 [--warmup S] [--seconds S]
    python -m benchmarks.loadgen bulk --port PORT --connections 50 [--warmup S] [--seconds S]
    python -m benchmarks.loadgen idle --port PORT --connections 10000

It prints its result as one line of JSON. The idle run prints a first line once its
connections are held, waits for a line on stdin (the runner reads the server's memory
meanwhile), then prints a second line and closes them.

Why it is written this way: the load generator must never be what limits a server.
The machine has two cores, one for the server and one for this process; more load
processes would only steal the server's core. So it does the least work per message
a Python process can: non-blocking sockets on one epoll, ``os.read`` and ``os.write``
on bare descriptors, one prebuilt message, no object per request. An echo client
may not pipeline (each connection waits for its echo), so the concurrency comes from
the connections: one epoll wake-up hands over a batch of them. To show it kept up,
it reports its own CPU use over the window next to the server's (``--server-pid``):
a server near 100% of its core while the generator has time to spare is the bottleneck.
"""

import argparse
import collections
import errno
import json
import os
import select
import socket
import sys
import time

from benchmarks.servers.cli import POEM_SIZE
from benchmarks.usage import cpu_seconds, own_cpu_seconds, raise_fd_limit

HOST = "127.0.0.1"
MESSAGE = b"x" * 1024


class LoadError(Exception):
    """The server misbehaved (closed, reset, sent too much): the measurement is void."""


def _connect(port):
    sock = socket.create_connection((HOST, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    return sock


class _Window:
    """Marks the start and end of the measuring window: when, and how much was done."""

    def __init__(self, server_pid):
        self.server_pid = server_pid
        self.marks = []

    def mark(self, done):
        server_cpu = cpu_seconds(self.server_pid) if self.server_pid else 0.0
        self.marks.append((time.perf_counter(), done, own_cpu_seconds(), server_cpu))

    def result(self):
        (t0, done0, cpu0, server0), (t1, done1, cpu1, server1) = self.marks
        seconds = t1 - t0
        return {"seconds": seconds, "done": done1 - done0,
                "rate": (done1 - done0) / seconds,
                "loadgen_cpu": (cpu1 - cpu0) / seconds,
                "server_cpu": (server1 - server0) / seconds if self.server_pid else None}


def echo(port, connections, warmup, seconds, server_pid=None):
    """Each connection sends 1 KiB, waits for all of it back, and sends again.

    Returns:
        ``rate``, the echoes per second in the window, and the CPU shares.
    """
    socks = [_connect(port) for _ in range(connections)]
    poller = select.epoll()
    expected = {}  # fd -> bytes of the current echo still to come
    try:
        for sock in socks:
            fd = sock.fileno()
            poller.register(fd, select.EPOLLIN)
            expected[fd] = len(MESSAGE)
            os.write(fd, MESSAGE)
        window = _Window(server_pid)
        done = 0
        start = time.perf_counter()
        for phase_end in (start + warmup, start + warmup + seconds):
            while time.perf_counter() < phase_end:
                for fd, _ in poller.poll(0.01):
                    received = len(os.read(fd, 65536))
                    if not received:
                        raise LoadError(f"the server closed a connection after {done} echoes")
                    left = expected[fd] - received
                    if left > 0:
                        expected[fd] = left
                        continue
                    if left < 0:
                        raise LoadError("the server sent more than it was sent")
                    done += 1
                    expected[fd] = len(MESSAGE)
                    # The socket's send buffer is empty (the server has read all we
                    # sent), so 1 KiB always goes in one call.
                    os.write(fd, MESSAGE)
            window.mark(done)
        _drain(poller, expected)
        return window.result()
    finally:
        poller.close()
        for sock in socks:
            sock.close()


def bulk(port, connections, warmup, seconds, server_pid=None):
    """Keep ``connections`` downloads of the poem going; each reads to EOF, then reconnects.

    Returns:
        ``rate``, the bytes per second received in the window, and the CPU shares.
    """
    buffer = bytearray(1 << 20)
    poller = select.epoll()
    socks, received = {}, {}  # fd -> socket, fd -> bytes of the poem so far

    def start_download():
        sock = socket.socket()
        sock.setblocking(False)
        code = sock.connect_ex((HOST, port))
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            raise LoadError(f"connecting failed: {os.strerror(code)}")
        socks[sock.fileno()], received[sock.fileno()] = sock, 0
        poller.register(sock, select.EPOLLIN)

    try:
        for _ in range(connections):
            start_download()
        window = _Window(server_pid)
        total = 0
        start = time.perf_counter()
        for phase_end in (start + warmup, start + warmup + seconds):
            while time.perf_counter() < phase_end:
                for fd, _ in poller.poll(0.01):
                    # MSG_TRUNC: the kernel counts the bytes and drops them instead
                    # of copying them out. Copying is most of what receiving costs,
                    # and without this the client, not the server, would set the pace.
                    count = socks[fd].recv_into(buffer, 0, socket.MSG_TRUNC)
                    if count:
                        received[fd] += count
                        total += count
                        continue
                    if received[fd] != POEM_SIZE:
                        raise LoadError(f"a poem ended after {received[fd]} bytes, "
                                        f"not {POEM_SIZE}")
                    poller.unregister(fd)
                    socks.pop(fd).close()
                    del received[fd]
                    start_download()
            window.mark(total)
        _drain(poller, {fd: POEM_SIZE - count for fd, count in received.items()})
        return window.result()
    finally:
        poller.close()
        for sock in socks.values():
            sock.close()


def _drain(poller, expected, timeout=2.0):
    """Read what is still on its way (``expected``: fd -> bytes), sending nothing more.

    A socket closed with bytes unread is reset, not closed, and a reset is an error
    that some servers log; letting the last replies arrive ends every connection cleanly.
    """
    deadline = time.perf_counter() + timeout
    waiting = {fd for fd, left in expected.items() if left > 0}
    while waiting and time.perf_counter() < deadline:
        for fd, _ in poller.poll(0.01):
            received = len(os.read(fd, 1 << 20))
            expected[fd] -= received
            if not received or expected[fd] <= 0:
                poller.unregister(fd)
                waiting.discard(fd)


def idle(port, connections, in_flight=100, stall=2.0, release=None):
    """Open ``connections`` connections, check each answers once, then hold them all.

    At most ``in_flight`` connections wait for their answer at a time, so the server's
    accept queue never overflows (an overflow costs a second-long SYN retry, not an
    error). A server that stops answering for ``stall`` seconds is given up on: the
    connections it left unanswered and those never attempted count as failed.

    Args:
        release: Called once all are held (or given up on), with the first report;
            the connections stay open until it returns.

    Returns:
        The first report, plus ``dropped``: held connections the server closed since.
    """
    poller = select.epoll()
    pending, held = {}, {}  # fd -> socket: waiting for the answer, answered
    errors = collections.Counter()
    attempted = 0
    start = last_progress = time.monotonic()
    try:
        while attempted < connections or pending:
            while attempted < connections and len(pending) < in_flight:
                attempted += 1
                sock = socket.socket()
                sock.setblocking(False)
                code = sock.connect_ex((HOST, port))
                if code not in (0, errno.EINPROGRESS):
                    errors[os.strerror(code)] += 1
                    sock.close()
                    continue
                pending[sock.fileno()] = sock
                poller.register(sock, select.EPOLLOUT)  # writable: the handshake is over
            events = poller.poll(0.1)
            for fd, event in events:
                sock = pending[fd]
                try:
                    if event & select.EPOLLOUT:
                        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        if code:
                            raise OSError(code, os.strerror(code))
                        sock.send(b"!")
                        poller.modify(fd, select.EPOLLIN)
                        continue
                    if sock.recv(16) != b"!":
                        raise OSError(errno.ECONNRESET, "closed instead of answering")
                except OSError as exc:
                    errors[exc.strerror] += 1
                    poller.unregister(fd)
                    pending.pop(fd).close()
                    continue
                poller.unregister(fd)
                held[fd] = pending.pop(fd)
            if events:
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > stall:
                break  # the server stopped answering
        report = {"connections": connections, "held": len(held),
                  "unanswered": len(pending), "not_attempted": connections - attempted,
                  "errors": dict(errors), "seconds": time.monotonic() - start}
        if release is not None:
            release(report)
        # A held connection with anything to read was closed (or reset) by the server.
        for fd in held:
            poller.register(fd, select.EPOLLIN)
        report["dropped"] = len(poller.poll(0, len(held) or 1))
        return report
    finally:
        poller.close()
        for sock in (*pending.values(), *held.values()):
            sock.close()


def _release_on_stdin(report):
    """Print the first report, then wait for the runner's line on stdin."""
    print(json.dumps(report), flush=True)
    sys.stdin.readline()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loadgen",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=("echo", "bulk", "idle"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--warmup", type=float, default=0.5, help="seconds (echo, bulk)")
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="the measuring window (echo, bulk)")
    parser.add_argument("--server-pid", type=int, help="to report the server's CPU share")
    parser.add_argument("--stall", type=float, default=2.0,
                        help="seconds without an answer before giving up (idle)")
    args = parser.parse_args(argv)
    raise_fd_limit()
    try:
        if args.workload == "idle":
            result = idle(args.port, args.connections, stall=args.stall,
                          release=_release_on_stdin)
        else:
            run = echo if args.workload == "echo" else bulk
            result = run(args.port, args.connections, args.warmup, args.seconds,
                         args.server_pid)
    except (LoadError, OSError) as exc:
        print(f"loadgen {args.workload}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
