"""The caching proxy under attack, from both sides, on loopback.

The proxy runs as its own process (``python -m poetry_server.proxy``), so that what it
costs is measured where an operator would see it: VmRSS in ``/proc/PID/status``. Its
upstream is a listener in the test's own thread, whose every connection follows a
script: send a framed poem, send one cut short, flood, or wait for the test's word.

- Slow clients: twenty clients that connect and never read share the one cached
  poem; none costs the proxy a copy of it.
- A flooding upstream: the proxy takes at most ``--max-poem-bytes``, fails that
  fetch (its clients are reset), caches nothing, and fetches honestly next time.
- A poem cut short, or not framed at all: detected, said on stderr, never cached.
- Every client hangs up: the fetch goes on, and the next client gets the poem from
  the cache (README's chapter 13 example, with the gather client's ``--deadline``).
"""

import contextlib
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading

import pytest

from coro.netstring import encode
from tests.support import LOOPBACK, catalogue_bytes, run_module

MODULE = "poetry_server.proxy"
MiB = 1 << 20
NEVER_READERS = 20
SMALL_BUFFER = 4096  # the never-readers' receive buffer, set before they connect
PATTERN = bytes(range(256)) * 4096  # 1 MiB; starts with a byte no netstring starts with


def vmrss(pid):
    """The resident memory of process ``pid``, in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


class Upstream:
    """A listener on loopback whose n-th connection is served by ``scripts[n]``.

    Each script is called with the connected socket, in a thread of its own, and the
    socket is closed when it returns (a clean close, unless the script reset it). A
    connection past the last script is closed at once. Errors a script did not expect
    are kept and raised in the test on exit.
    """

    def __init__(self, *scripts):
        self.scripts = list(scripts)
        self.listener = socket.create_server((LOOPBACK, 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.errors = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        try:
            while True:
                sock, _ = self.listener.accept()
                self.accepted += 1
                with sock:
                    if self.scripts:
                        self.scripts.pop(0)(sock)
        except OSError as exc:
            if self.listener.fileno() != -1 and not self._closing:
                self.errors.append(exc)

    def __enter__(self):
        self._closing = False
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._closing = True
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._thread.join(timeout=30)
        self.listener.close()
        assert not self._thread.is_alive(), "the scripted upstream did not stop"
        assert not self.errors, self.errors


def sends(payload):
    """A script: send ``payload``, then close cleanly."""
    def script(sock):
        sock.sendall(payload)
    return script


class Flood:
    """A script: send ``header``, then the pattern without end, until the proxy hangs up
    or ``limit`` bytes have gone; samples the proxy's VmRSS after every MiB."""

    def __init__(self, header, *, limit=256 * MiB):
        self.header, self.limit = header, limit
        self.sent = 0
        self.pid = None
        self.largest = 0

    def __call__(self, sock):
        try:
            sock.sendall(self.header)
            while self.sent < self.limit:
                sock.sendall(PATTERN)
                self.sent += len(PATTERN)
                self.largest = max(self.largest, vmrss(self.pid))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the proxy gave up on us: the point of the test


@contextlib.contextmanager
def proxy_process(*args):
    """Run the proxy; yield ``(its address, the process)``. On exit it is stopped with
    Ctrl-C, and must end cleanly; its stderr is then in ``process.err``."""
    child = subprocess.Popen([sys.executable, "-m", MODULE, *map(str, args)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             stdin=subprocess.DEVNULL)
    with child:
        try:
            line = child.stdout.readline()
            assert line.startswith("Proxying "), line + child.stderr.read()
            child.err, child.seen = "", 0
            yield (LOOPBACK, int(line.rsplit(":", 1)[1])), child
        finally:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
            out, err = child.communicate(timeout=30)
            child.err += err
    assert child.returncode == 0, child.err
    assert "Traceback" not in child.err, child.err


def stderr_until(child, words, *, limit=30.0):
    """Read the proxy's stderr up to the first whole line, not read before, that holds
    ``words``, and return that line. ``limit`` seconds is only a guard against a test
    that would hang. (Raw reads: a buffered reader could hold a line the selector
    would then never report.)"""
    fd = child.stderr.fileno()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            found = child.err.find(words, child.seen)
            end = child.err.find("\n", found)
            if found != -1 and end != -1:
                start = child.err.rfind("\n", 0, found) + 1
                child.seen = end + 1
                return child.err[start:end + 1]
            assert selector.select(timeout=limit), f"no {words!r} on stderr: {child.err}"
            data = os.read(fd, 65536)
            assert data, f"stderr ended before {words!r}: {child.err}"
            child.err += data.decode("utf-8", errors="backslashreplace")


def download(address):
    """Read everything from ``address``: the poem, or ``"reset"``. (A proxy that fails at
    once may reset the connection before ``connect`` has even returned.)"""
    chunks = []
    try:
        with socket.create_connection(address, timeout=30) as sock:
            while chunk := sock.recv(MiB):
                chunks.append(chunk)
    except ConnectionResetError:
        return "reset"
    return b"".join(chunks)


def never_reader(address):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
    sock.connect(address)
    return sock


def test_twenty_clients_that_never_read_share_the_one_cached_poem():
    poem = PATTERN * 8  # 8 MiB
    with Upstream(sends(encode(poem))) as upstream, \
            proxy_process(upstream.port) as (address, child):
        first = download(address)  # fetches the poem and fills the cache
        before = vmrss(child.pid)
        clients = [never_reader(address) for _ in range(NEVER_READERS)]
        try:
            # Accepted after the twenty, so its poem comes once each of them has been
            # given its own: what they cost is spent by then.
            last = download(address)
            grown = vmrss(child.pid) - before
        finally:
            for sock in clients:
                sock.close()
    assert grown < 10 * MiB, f"{NEVER_READERS} never-readers cost {grown / MiB:.1f} MiB"
    assert first == last == poem
    assert upstream.accepted == 1


@pytest.mark.parametrize("header", [
    b"",  # bytes that are no poem, from the first
    b"99999999999999999999:",  # a length far over the limit
    b"%d:" % (8 * MiB),  # a length within the limit, then more than it said
], ids=["no-framing", "huge-length", "no-end"])
def test_a_flooding_upstream_is_cut_off_and_nothing_is_cached(header):
    poem = catalogue_bytes("ecstasy")
    flood = Flood(header)
    with Upstream(flood, sends(encode(poem))) as upstream, \
            proxy_process(upstream.port) as (address, child):
        flood.pid = child.pid
        before = vmrss(child.pid)
        flooded = download(address)
        after = vmrss(child.pid)
        stderr_until(child, "fetching the poem failed")
        honest = download(address)
    assert flooded == "reset"
    largest = max(flood.largest, after) - before
    assert largest < 48 * MiB, f"grew by {largest / MiB:.0f} MiB under a flood of " \
                               f"{flood.sent / MiB:.0f} MiB"
    assert flood.sent < 128 * MiB
    assert honest == poem
    assert upstream.accepted == 2


def test_a_poem_cut_short_is_detected_and_never_cached():
    poem = catalogue_bytes("ecstasy")
    with Upstream(sends(encode(poem)[:806]), sends(encode(poem))) as upstream, \
            proxy_process(upstream.port) as (address, child):
        cut = download(address)
        said = stderr_until(child, "fetching the poem failed")
        whole = download(address)
    assert cut == "reset"
    assert said == (f"fetching the poem failed: the poem was cut short: "
                    f"127.0.0.1:{upstream.port} closed the connection after 806 bytes "
                    f"of it, before the end its length announced\n")
    assert whole == poem
    assert upstream.accepted == 2


def test_an_upstream_that_is_not_framed_is_named_and_never_cached():
    poem = catalogue_bytes("tyger")
    with Upstream(sends(poem), sends(encode(poem))) as upstream, \
            proxy_process(upstream.port) as (address, child):
        plain = download(address)
        said = stderr_until(child, "fetching the poem failed")
        framed = download(address)
    assert plain == "reset"
    assert said == (f"fetching the poem failed: 127.0.0.1:{upstream.port} sent no framed "
                    f"poem (expected a digit at the start of a netstring, got b'T'): the "
                    f"upstream must be a slow poetry server run with --framed\n")
    assert framed == poem


def test_a_fetch_every_client_gave_up_on_fills_the_cache():
    # README's chapter 13 example: the gather client's deadline passes before the poem
    # has come; the proxy finishes the fetch, and the next run is served from its cache.
    poem = catalogue_bytes("science")
    framed = encode(poem)
    go_on = threading.Event()

    def slow(sock):
        sock.sendall(framed[:100])
        assert go_on.wait(timeout=30)
        sock.sendall(framed[100:])

    with Upstream(slow) as upstream, proxy_process(upstream.port) as (address, child):
        port = address[1]
        late = run_module("coro.gather_client", "--deadline", "0.5", port, port, port)
        go_on.set()
        stderr_until(child, f"cached {len(poem)} bytes")
        cached = run_module("coro.gather_client", "--deadline", "5", port, port, port)
    assert late.returncode == 1 and late.stdout.count(": failed: ") == 3, late.stdout
    assert cached.returncode == 0, cached.stdout + cached.stderr
    assert cached.stdout.count(f"got {len(poem)} bytes of poetry") == 3
    assert upstream.accepted == 1
