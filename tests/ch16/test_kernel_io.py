"""Kernel sockets on real descriptors, on every backend: try first, wait only when needed."""

import errno
import gc
import socket

import pytest

from coro.io import multiplexer
from coro.kernel.loop import Kernel
from coro.kernel.sockets import Socket, listen, open_connection
from coro.kernel.timeouts import timeout_after
from coro.kernel.traps import join, sleep, spawn, wait_readable


@pytest.fixture(params=list(multiplexer.BACKENDS))
def backend(request):
    return request.param


@pytest.fixture
def kernel(backend, errors):
    with Kernel(multiplexer.create(backend), report_error=errors.report) as kernel:
        yield kernel


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    with Socket(a) as left, Socket(b) as right:
        yield left, right


def test_an_echo_over_a_listener_and_a_connection(kernel):
    def handler(client):
        with client:
            while data := (yield from client.recv(1024)):
                yield from client.sendall(data.upper())

    def main():
        with listen("127.0.0.1", 0) as server:
            port = server.raw.getsockname()[1]
            yield from spawn(accept_one(server))
            with (yield from open_connection("127.0.0.1", port)) as conn:
                replies = []
                for word in [b"tyger", b"tyger", b"burning bright"]:
                    yield from conn.sendall(word)
                    replies.append((yield from conn.recv(1024)))
                return replies

    def accept_one(server):
        client, _ = yield from server.accept()
        yield from handler(client)

    assert kernel.run(main()) == [b"TYGER", b"TYGER", b"BURNING BRIGHT"]


def test_recv_with_bytes_already_there_does_not_wait(kernel, pair):
    left, right = pair
    trace = []

    def other():
        trace.append("other ran")
        yield from sleep(0)

    def main():
        right.raw.send(b"already here")
        yield from spawn(other())
        data = yield from left.recv(100)  # no wait: the other task has not run yet
        trace.append(data)
        yield from sleep(0)

    kernel.run(main())
    assert trace == [b"already here", "other ran"]


def test_recv_with_nothing_there_lets_others_run_until_bytes_come(kernel, pair):
    left, right = pair
    trace = []

    def sender():
        trace.append("sender runs")
        yield from right.sendall(b"now")

    def main():
        yield from spawn(sender())
        trace.append((yield from left.recv(100)))

    kernel.run(main())
    assert trace == ["sender runs", b"now"]


def test_sendall_waits_for_a_slow_reader_and_every_byte_arrives(kernel, pair):
    left, right = pair
    payload = bytes(range(256)) * 40_000  # ~10 MB: far more than the socket buffers

    def reader():
        chunks = []
        while len(received := b"".join(chunks)) < len(payload):
            chunks = [received, (yield from right.recv(65536))]
        return received

    def main():
        task = yield from spawn(reader())
        yield from left.sendall(payload)
        return (yield from join(task))

    assert kernel.run(main()) == payload


def test_two_tasks_cannot_wait_to_read_one_socket(kernel, pair):
    left, _ = pair

    def first():
        yield from left.recv(1)

    def main():
        yield from spawn(first())
        yield from sleep(0)
        # The error names both tasks: the one that asked, and the one already waiting.
        with pytest.raises(RuntimeError, match=r"task \d+ \(\S*main\) cannot wait to read "
                                               r"descriptor \d+: task \d+ \(\S*first\) "
                                               r"already waits to read it"):
            yield from left.recv(1)

    kernel.run(main())


def test_closing_a_socket_another_task_waits_on_wakes_it_with_an_error(kernel):
    a, b = socket.socketpair()
    left = Socket(a)

    def waiter():
        try:
            yield from left.recv(1)
        except OSError as exc:
            return exc.errno

    def main():
        task = yield from spawn(waiter())
        yield from sleep(0)
        left.close()
        return (yield from join(task))

    try:
        assert kernel.run(main()) == errno.EBADF
    finally:
        b.close()


def test_a_closed_socket_is_unregistered_so_its_number_can_be_reused(kernel):
    def round_trip():
        a, b = socket.socketpair()
        with Socket(a) as left, Socket(b) as right:
            reader = yield from spawn(left.recv(10))
            yield from sleep(0)  # the reader waits: left is registered
            yield from right.sendall(b"ping")
            return (yield from join(reader))

    def main():
        replies = []
        for _ in range(3):  # each pass closes its sockets; the next gets the same numbers
            replies.append((yield from round_trip()))
        return replies

    assert kernel.run(main()) == [b"ping"] * 3


def test_a_raw_descriptor_is_unregistered_as_soon_as_its_wait_ends(kernel):
    a, b = socket.socketpair()
    c = d = None

    def main():
        nonlocal c, d
        b.send(b"x")
        yield from wait_readable(a.fileno())
        a.recv(1)
        a.close()  # a plain socket does not tell the kernel it closes
        c, d = socket.socketpair()  # c may get a's old number
        d.send(b"y")
        # If a's registration had outlived it, this wait would never end (epoll) or
        # the poll would fail (select): the timeout is a safety net, not a measure.
        yield from timeout_after(10, wait_readable(c.fileno()))
        return c.recv(1)

    try:
        assert kernel.run(main()) == b"y"
    finally:
        for sock in (a, b, c, d):
            if sock is not None:
                sock.close()


def collect_unclosed():
    """Collect the Sockets dropped without a close, as careless code drops them: the
    garbage collector closes their descriptors, and epoll forgets them."""
    with pytest.warns(ResourceWarning, match="unclosed"):
        gc.collect()


def registered_socket():
    """A Socket that has waited once, so its descriptor stays registered after the wait."""
    ours, theirs = socket.socketpair()
    sock = Socket(ours)
    with theirs:
        theirs.send(b"x")
        yield from wait_readable(sock)
    return sock


def reused(number):
    """A socketpair whose first socket has descriptor ``number`` (the lowest free one)."""
    a, b = socket.socketpair()
    assert number in (a.fileno(), b.fileno()), "the number was not given again"
    return (a, b) if a.fileno() == number else (b, a)


@pytest.mark.parametrize("how", ["collected", "closed behind its back"])
def test_a_socket_that_gets_an_old_socket_s_number_is_woken_like_any_other(kernel, how):
    def main():
        old = yield from registered_socket()
        number = old.fileno()
        if how == "collected":
            del old
            collect_unclosed()
        else:
            old.raw.close()  # the Socket lives on, and is closed properly only later
        ours, peer = reused(number)
        with Socket(ours) as new, peer:
            reader = yield from spawn(timeout_after(10, new.recv(10)))  # a hang guard
            yield from sleep(0)  # the reader finds nothing, and waits
            peer.send(b"woken")
            got = yield from join(reader)
            if how != "collected":
                old.close()  # the number is the new socket's now: not the old one's to drop
                peer.send(b" still")
                got += yield from timeout_after(10, new.recv(10))
            return got

    assert kernel.run(main()) == (b"woken" if how == "collected" else b"woken still")


def test_a_descriptor_that_gets_a_dropped_socket_s_number_is_woken_too(kernel):
    def main():
        old = yield from registered_socket()
        number = old.fileno()
        del old
        collect_unclosed()
        ours, peer = reused(number)
        with ours, peer:
            reader = yield from spawn(timeout_after(10, wait_readable(ours.fileno())))
            yield from sleep(0)
            peer.send(b"y")
            yield from join(reader)
            return ours.recv(1)

    assert kernel.run(main()) == b"y"


def test_a_dropped_socket_leaves_no_registration_behind_for_the_next_poll(kernel):
    def main():
        old = yield from registered_socket()
        del old
        collect_unclosed()
        yield from sleep(0.001)  # a poll while the number is free: select fails on a closed one
        return len(kernel._multiplexer)

    assert kernel.run(main()) == 1  # the kernel's own wake-up pipe, nothing else


def test_a_socket_that_outlives_its_kernel_still_closes(backend):
    ours, theirs = socket.socketpair()
    sock = Socket(ours)
    with theirs:
        with Kernel(multiplexer.create(backend)) as kernel:
            theirs.send(b"x")
            kernel.run(wait_readable(sock))  # registered, and it stays so
        sock.close()  # nothing left to tell the closed kernel
    assert sock.raw.fileno() == -1


def test_a_refused_connection_raises_connection_refused_error(kernel):
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))  # bound, never listening: refused
        port = placeholder.getsockname()[1]

        def main():
            with pytest.raises(ConnectionRefusedError):
                yield from open_connection("127.0.0.1", port)

        kernel.run(main())


def test_after_a_short_read_the_next_recv_waits_first_and_loses_nothing(kernel, pair):
    left, right = pair
    trace = []

    def other():
        trace.append("other ran")
        yield from sleep(0)

    def main():
        right.raw.send(b"short")
        trace.append((yield from left.recv(100)))  # 5 of 100 bytes: the socket is empty
        right.raw.send(b"more")
        yield from spawn(other())
        trace.append((yield from left.recv(100)))  # waits first, so other runs first

    kernel.run(main())
    assert trace == [b"short", "other ran", b"more"]


def test_after_a_full_read_the_next_recv_tries_first(kernel, pair):
    left, right = pair
    trace = []

    def other():
        trace.append("other ran")
        yield from sleep(0)

    def main():
        right.raw.send(b"exactly10!and more")
        trace.append((yield from left.recv(10)))  # as much as asked: there may be more
        yield from spawn(other())
        trace.append((yield from left.recv(100)))
        yield from sleep(0)

    kernel.run(main())
    assert trace == [b"exactly10!", b"and more", "other ran"]
