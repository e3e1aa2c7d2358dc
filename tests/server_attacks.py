"""Attacks on a server in a child process, on loopback, and what they cost the server.

A server is started as an operator would start it, optionally with a small descriptor
limit (``RLIMIT_NOFILE``, set in the child before it runs). What it spends is read from
``/proc/PID``: its sockets from ``fd``, its processor time from ``stat``. Every count
and time here is bounded; the times are hang guards, never assertions about speed.
"""

import contextlib
import errno
import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time

#: What a server's first line ends with: `` on HOST:PORT``.
_ADDRESS = re.compile(r" on ([^ ]+):(\d+)$")


class Server:
    """A server running in a child process: its ``pid``, ``address`` and ``stderr``."""

    def __init__(self, child, address, stderr_file):
        self.child = child
        self.pid = child.pid
        self.address = address
        self._stderr_file = stderr_file

    def stderr(self):
        """Everything the server has written to stderr so far."""
        self._stderr_file.seek(0)
        return self._stderr_file.read()

    def sockets(self):
        """How many sockets the server holds open right now."""
        count = 0
        for fd in os.listdir(f"/proc/{self.pid}/fd"):
            with contextlib.suppress(FileNotFoundError):  # closed while we looked
                count += os.readlink(f"/proc/{self.pid}/fd/{fd}").startswith("socket:")
        return count

    def cpu_seconds(self):
        """Processor time the server has used, user and system."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    @contextlib.contextmanager
    def stopped(self):
        """Stop the server (SIGSTOP) for the block: it accepts nothing, runs nothing."""
        os.kill(self.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.pid, signal.SIGCONT)


@contextlib.contextmanager
def run_server(module, *args, fd_limit=None):
    """Run ``python -m module --port 0 ARGS``; yield a :class:`Server` once it has said
    where it listens. With ``fd_limit``, the child may open that many descriptors.

    Stopped with Ctrl-C at the end, it must exit with status 0.
    """
    def limit_descriptors():
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (fd_limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    with tempfile.TemporaryFile("w+") as stderr_file:
        # stderr goes to a file, not a pipe: a server that reports every dropped client
        # would fill a pipe nobody reads, and stop.
        child = subprocess.Popen(
            [sys.executable, "-m", module, "--port", "0", *map(str, args)],
            stdout=subprocess.PIPE, stderr=stderr_file, stdin=subprocess.DEVNULL, text=True,
            preexec_fn=limit_descriptors if fd_limit else None)
        try:
            line = child.stdout.readline().rstrip("\n")
            found = _ADDRESS.search(line)
            server = Server(child, (found[1], int(found[2])) if found else None, stderr_file)
            assert found, f"{module} printed {line!r}: {server.stderr()}"
            yield server
            child.send_signal(signal.SIGINT)
            assert child.wait(timeout=20) == 0, server.stderr()
        finally:
            if child.poll() is None:
                os.kill(child.pid, signal.SIGCONT)  # in case the test stopped it
                child.kill()
                child.wait()
            child.stdout.close()


class _Peer:
    """One connection of an attack, or a client, watched for reading on a selector."""

    def __init__(self, address, selector, role):
        self.sock = socket.socket()
        self.sock.setblocking(False)
        code = self.sock.connect_ex(address)
        if code not in (0, errno.EINPROGRESS):
            self.sock.close()
            raise OSError(code, os.strerror(code))
        self.role = role
        self.received = bytearray()
        self.selector = selector
        selector.register(self.sock, selectors.EVENT_READ, self)
        self.reading = True

    def send(self, data):
        """Send what the socket takes; False once the server has dropped us."""
        try:
            self.sock.send(data)
        except BlockingIOError:
            pass  # still connecting, or full: the next turn sends again
        except OSError:
            return False
        return True

    def read(self):
        """Read what came; False once the server has sent all it will (or reset)."""
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return True
        except OSError:  # reset
            return False
        self.received += data
        return bool(data)

    def stop_reading(self):
        """Read no more (there is nothing more to read), but keep the connection."""
        self.selector.unregister(self.sock)
        self.reading = False

    def close(self):
        if self.sock.fileno() != -1:
            if self.reading:
                self.selector.unregister(self.sock)
            self.sock.close()


def trickle_attack(address, *, honest_request=b"", opening=b"", attackers=150, every=0.25,
                   guard=30.0, watch=None):
    """Keep ``attackers`` connections trickling while an honest client is served.

    Each attacker sends ``opening`` and then one byte every ``every`` seconds, reads and
    drops whatever comes, and never hangs up: after the end of the poem (or the reply)
    it goes on sending. It connects again as soon as the server has dropped it (a send
    fails), so the attack never lets up. Once every attacker has connected, the honest
    client connects, sends ``honest_request`` and reads until the server ends its
    connection.

    Args:
        watch: Called once per turn of the attack, to measure the server.
        guard: Seconds after which the honest client counts as locked out: a guard
            against a hanging test, not a measure of speed.

    Returns:
        ``(received, drops)``: what the honest client got (None if it was still waiting
        when the guard ran out), and how many times attackers were dropped.
    """
    attack = []
    drops = 0

    def replace(peer):
        nonlocal drops
        drops += 1
        attack.remove(peer)
        peer.close()
        attack.append(_Peer(address, selector, "attacker"))
        attack[-1].send(opening)

    with selectors.DefaultSelector() as selector:
        honest = None
        try:
            for _ in range(attackers):
                attack.append(_Peer(address, selector, "attacker"))
                attack[-1].send(opening)
            honest = _Peer(address, selector, "honest")
            honest.send(honest_request)
            give_up = time.monotonic() + guard
            next_byte = time.monotonic() + every
            while time.monotonic() < give_up:
                if watch is not None:
                    watch()
                for key, _ in selector.select(timeout=max(0.0, next_byte - time.monotonic())):
                    peer = key.data
                    if peer.read():
                        continue
                    if peer is honest:
                        return bytes(honest.received), drops
                    peer.stop_reading()  # and trickle on: the send says when it is dropped
                if time.monotonic() >= next_byte:
                    next_byte += every
                    for peer in list(attack):
                        if not peer.send(b"x"):
                            replace(peer)
            return None, drops
        finally:
            for peer in attack + [honest] if honest else attack:
                peer.close()


def burst(server, *, count=300, request=b"", guard=20.0):
    """Connect ``count`` clients at once while the server is stopped, then let it go on.

    Returns:
        ``(connected, received)``: how many connections the system completed while the
        server was not accepting, and what each client got in the end (a list; None for
        a client still waiting when ``guard`` seconds had passed).
    """
    with selectors.DefaultSelector() as selector:
        peers = []
        try:
            with server.stopped():
                for _ in range(count):
                    peers.append(_Peer(server.address, selector, "burst"))
                    selector.modify(peers[-1].sock, selectors.EVENT_WRITE, peers[-1])
                connected = _count_connected(selector, guard=min(guard, 5.0))
            for peer in peers:
                selector.register(peer.sock, selectors.EVENT_READ, peer)
                peer.send(request)
            waiting = set(peers)
            give_up = time.monotonic() + guard
            while waiting and time.monotonic() < give_up:
                for key, _ in selector.select(timeout=1.0):
                    if not key.data.read():
                        waiting.discard(key.data)
                        key.data.close()
            return connected, [None if p in waiting else bytes(p.received) for p in peers]
        finally:
            for peer in peers:
                if peer.sock.fileno() != -1:
                    with contextlib.suppress(KeyError):
                        selector.unregister(peer.sock)
                    peer.sock.close()


def _count_connected(selector, *, guard):
    """Count the connections on ``selector`` that complete (become writable without an
    error) within ``guard`` seconds, returning as soon as all have. The selector is
    left empty."""
    connected = 0
    give_up = time.monotonic() + guard
    while selector.get_map() and time.monotonic() < give_up:
        for key, _ in selector.select(timeout=0.5):
            selector.unregister(key.fileobj)
            if key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                connected += 1
    for key in list(selector.get_map().values()):
        selector.unregister(key.fileobj)
    return connected


def listen_backlog(port):
    """The backlog the system gives the socket listening on ``port`` on 127.0.0.1, as
    ``ss -ltn`` shows it (its Send-Q column), or None when ``ss`` is missing."""
    try:
        result = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True,
                                text=True, timeout=10, check=True)
    except FileNotFoundError:
        return None
    [line] = result.stdout.splitlines()
    return int(line.split()[2])


def system_backlog_cap():
    """The largest backlog the system grants (``net.core.somaxconn``)."""
    with open("/proc/sys/net/core/somaxconn") as cap:
        return int(cap.read())
