"""What the tests share: scripted servers, raw readers and the client stages' runs."""

import contextlib
import os
import re
import resource
import selectors
import socket
import subprocess
import sys
import threading

import pytest

from coro.trace import Event, Trace
from poetry_server import load_poem, spawn

LOOPBACK = "127.0.0.1"
IPV6_LOOPBACK = "::1"


def _ipv6_loopback_unavailable():
    """Why this machine cannot serve on ::1, or None if it can."""
    if not socket.has_ipv6:
        return "this Python was built without IPv6"
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind((IPV6_LOOPBACK, 0))
    except OSError as exc:
        return f"cannot bind ::1 ({exc.strerror})"
    return None


IPV6_UNAVAILABLE = _ipv6_loopback_unavailable()
#: Skips a test on a machine without an IPv6 loopback, and says so.
needs_ipv6 = pytest.mark.skipif(IPV6_UNAVAILABLE is not None,
                                reason=f"no IPv6 loopback here: {IPV6_UNAVAILABLE}")


def _family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def catalogue_bytes(name):
    return load_poem(name).data


@contextlib.contextmanager
def refused_address(host=LOOPBACK):
    """An address whose connections are refused: bound, never listening.

    The socket stays bound for the whole test, so no other program can take the port.
    """
    with socket.socket(_family(host)) as sock:
        sock.bind((host, 0))
        yield sock.getsockname()[:2]


class ScriptedServer:
    """A listener on a free loopback port (``host``, 127.0.0.1 or ::1) that runs
    ``behaviour(socks)`` once its ``clients`` have come.

    Used for servers that misbehave on purpose: reset mid-poem, never send, wait for
    every client before sending. Every socket it opened is closed on exit.
    """

    def __init__(self, behaviour, clients=1, host=LOOPBACK):
        self.behaviour = behaviour
        self.clients = clients
        self.listener = socket.create_server((host, 0), family=_family(host))
        self.address = self.listener.getsockname()[:2]
        self.accepted = []
        self.errors = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            for _ in range(self.clients):
                sock, _ = self.listener.accept()
                self.accepted.append(sock)
            self.behaviour(self.accepted)
        except OSError as exc:  # told to the test in __exit__, never dropped
            self.errors.append(exc)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept()
        self._thread.join(timeout=10)
        self.listener.close()
        for sock in self.accepted:
            sock.close()
        assert not self._thread.is_alive(), "scripted server did not stop"


def reset(sock):
    """Close ``sock`` with a TCP reset instead of an orderly FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


def read_all(addresses, *, connect_after_first_chunk=False, stop_after=None):
    """Read from many servers at once in one thread, recording a trace.

    Task ``n`` reads from ``addresses[n-1]``. With ``connect_after_first_chunk``, task
    n+1 connects only once task n has received its first bytes, which fixes the order
    in which a server accepts them. ``stop_after`` maps a task to the number of bytes
    after which it hangs up early.

    Returns:
        ``(poems, trace)``: the bytes each task received, by task number, and the trace.
    """
    trace = Trace()
    stop_after = stop_after or {}
    poems = {}
    pending = list(enumerate(addresses, start=1))
    with selectors.DefaultSelector() as selector:

        def connect_next():
            task, address = pending.pop(0)
            sock = socket.create_connection(address, timeout=10)
            trace.record(task, Event.CONNECTED)
            poems[task] = bytearray()
            selector.register(sock, selectors.EVENT_READ, task)

        try:
            connect_next()
            if not connect_after_first_chunk:
                while pending:
                    connect_next()
            while selector.get_map():
                ready = selector.select(timeout=10)
                if not ready:
                    raise TimeoutError("no server sent anything for 10s")
                for key, _ in ready:
                    task = key.data
                    data = key.fileobj.recv(65536)
                    if data:
                        if not poems[task] and pending and connect_after_first_chunk:
                            connect_next()
                        poems[task] += data
                        trace.record(task, Event.RECEIVED, len(data))
                    if not data or len(poems[task]) >= stop_after.get(task, float("inf")):
                        trace.record(task, Event.DONE, len(poems[task]))
                        selector.unregister(key.fileobj)
                        key.fileobj.close()
        finally:
            for key in list(selector.get_map().values()):
                key.fileobj.close()
    return {task: bytes(data) for task, data in poems.items()}, trace


def events(trace, *kinds):
    """``[(task, event), ...]`` of the trace, keeping only ``kinds`` if given."""
    return [(r.task, r.event) for r in trace.records if not kinds or r.event in kinds]


def run_module(module, *args, timeout=60):
    """Run ``python -m module args...``; return the CompletedProcess (text)."""
    return subprocess.run([sys.executable, "-m", module, *map(str, args)],
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def run_module_many(module, runs, *, timeout=60):
    """Run ``python -m module args...`` once for each ``args`` of ``runs``, all at the
    same time: for checks of many runs that each wait on nothing but the program's
    start-up (usage errors). Returns their CompletedProcesses (text), in order."""
    with contextlib.ExitStack() as stack:
        children = [stack.enter_context(subprocess.Popen(
            [sys.executable, "-m", module, *map(str, args)], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)) for args in runs]
        results = []
        try:
            for child in children:
                out, err = child.communicate(timeout=timeout)
                results.append(subprocess.CompletedProcess(child.args, child.returncode,
                                                           out, err))
        except BaseException:
            for child in children:
                child.kill()  # a hang guard only; leaving the stack reaps them
            raise
    return results


#: The first line of a client that prints its tasks' lines as they finish.
FINISHING_ORDER = "Tasks as they finish; each time is the task's own, from its start to its end:"
TASK_LINE = re.compile(
    r"^Task (\d+): got (\d+) bytes of poetry from ([\d.]+|\[[\da-f:]+\]):(\d+) in \d+\.\d\ds$")
FAILED_LINE = re.compile(r"^Task (\d+): failed: (.+)$")
SUMMARY_LINE = re.compile(r"^Got (\d+) poems? in \d+\.\d\ds(; (\d+) failed)?$")


def assert_one_line_usage_error(result, prog):
    """A usage error: exit 2, nothing on stdout, one line on stderr naming ``prog``."""
    assert result.returncode == 2, result
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{prog}: error: "), lines[0]


def serve_many(address, *, good, misbehaving):
    """Connect ``good`` clients that read to the end, plus misbehaving ones.

    ``misbehaving`` names the bad clients: "hang-up" resets after its first bytes,
    "never-reads" connects and reads nothing, "garbage" answers every chunk with junk.
    Returns the bytes each good client received.
    """
    received = {}
    opened = []
    with selectors.DefaultSelector() as selector:
        try:
            for role in misbehaving:
                sock = socket.create_connection(address)
                opened.append(sock)
                if role != "never-reads":
                    selector.register(sock, selectors.EVENT_READ, role)
            for task in range(good):
                sock = socket.create_connection(address)
                opened.append(sock)
                received[task] = bytearray()
                selector.register(sock, selectors.EVENT_READ, task)
            finished = 0
            while finished < good:
                events = selector.select(timeout=30)
                assert events, "the server sent nothing for 30s"
                for key, _ in events:
                    sock, who = key.fileobj, key.data
                    try:
                        data = sock.recv(65536)
                    except ConnectionResetError:
                        # The server closed with junk from this client unread, which the
                        # kernel turns into a reset: that costs the garbage client only.
                        assert who == "garbage", f"client {who} was reset"
                        data = b""
                    if who == "hang-up":
                        selector.unregister(sock)
                        reset(sock)
                        opened.remove(sock)
                    elif who == "garbage":
                        if data:
                            try:
                                sock.send(b"\xff\x00 not a request \r\n")
                            except (ConnectionResetError, BrokenPipeError):
                                # The reset, as above, came as it sent more junk.
                                selector.unregister(sock)
                        else:
                            selector.unregister(sock)
                    elif data:
                        received[who] += data
                    else:
                        selector.unregister(sock)
                        finished += 1
        finally:
            for sock in opened:
                sock.close()
    return received


def check_500_clients_get_every_byte_while_bad_clients_misbehave(module):
    """Start ``python -m module`` serving the Mariner; 500 clients must each get it
    byte for byte, while a client that hangs up, one that never reads and one that
    answers every chunk with garbage are served at the same time."""
    poem = catalogue_bytes("mariner")
    with spawn("mariner", module=module, delay=0.01, num_bytes=4096) as [address]:
        received = serve_many(address, good=500,
                              misbehaving=["hang-up", "never-reads", "garbage"])
    assert len(received) == 500
    assert all(data == poem for data in received.values())


@contextlib.contextmanager
def descriptors_past_fd_setsize(*, spare_low=0):
    """Fill the descriptor table past 1024, so that the next sockets get high numbers.

    ``spare_low`` low descriptors are left free, for a reactor's own wake-up sockets,
    which it opens before any connection (the kernel hands out the lowest free number).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"needs 1200 descriptors; the hard limit here is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    fillers = []
    try:
        for _ in range(1030 - len(os.listdir("/proc/self/fd"))):
            fillers.append(os.open(os.devnull, os.O_RDONLY))
        for _ in range(spare_low):
            os.close(fillers.pop(0))
        yield
    finally:
        for fd in fillers:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@contextlib.contextmanager
def out_of_descriptors():
    """Use up every descriptor this process may open, until the block ends."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    highest = max(map(int, os.listdir("/proc/self/fd")))
    resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 8, hard))
    fillers = []
    try:
        while True:
            try:
                fillers.append(os.open(os.devnull, os.O_RDONLY))
            except OSError:  # EMFILE: the table is full
                break
        yield
    finally:
        for fd in fillers:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def check_serves_over_ipv6(module, *options, iface="::1", poem="science"):
    """``python -m module --iface ::1`` announces ``Serving <poem> on [::1]:<port>`` (spawn
    reads the address, brackets and all) and serves the poem there, byte for byte."""
    with spawn(poem, module=module, iface=iface, delay=0, num_bytes=512,
               options=options) as [address]:
        assert address[0] == IPV6_LOOPBACK
        poems, _ = read_all([address])
    assert poems[1] == catalogue_bytes(poem)
