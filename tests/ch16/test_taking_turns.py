"""A socket whose calls never have to wait still lets the other tasks take their turns."""

import socket

import pytest

from coro.kernel.sockets import CALLS_PER_TURN, Socket
from coro.kernel.task import TaskCancelled
from coro.kernel.timeouts import timeout_after
from coro.kernel.traps import cancel, join, sleep, spawn


@pytest.fixture
def full():
    """A Socket whose peer has filled it: every ``recv`` below succeeds at once."""
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    try:
        while True:
            theirs.send(b"tyger " * 1000)
    except BlockingIOError:
        pass
    with Socket(ours) as sock, theirs:
        yield sock


def test_a_reader_whose_peer_keeps_it_full_lets_a_ticker_run_between_its_reads(kernel, full):
    trace = []

    def ticker():
        for _ in range(3):
            trace.append("tick")
            yield from sleep(0)

    def reader():
        for _ in range(3 * CALLS_PER_TURN):
            yield from full.recv(6)
            trace.append("read")

    def main():
        ticks = yield from spawn(ticker())
        yield from reader()
        yield from join(ticks)

    kernel.run(main())
    turn = ["read"] * CALLS_PER_TURN
    assert trace == turn + ["tick"] + turn + ["tick"] + turn + ["tick"]


def test_a_reader_in_a_fast_loop_can_be_cancelled(kernel, full):
    reads = 0

    def reader():
        nonlocal reads
        while True:
            yield from full.recv(6)
            reads += 1

    def main():
        task = yield from spawn(reader())
        yield from cancel(task)  # pending until the reader yields: at the end of its turn
        return task.cancelled

    assert kernel.run(main()) is True
    assert reads == CALLS_PER_TURN  # with a socket buffer of tens of thousands to go


def test_a_reader_in_a_fast_loop_times_out(kernel, clock, full):
    trace = []

    def clock_mover():
        for _ in range(2):
            clock.advance(0.5)  # a fake clock moves on its own only when nothing is ready
            trace.append((clock.now(), "tick"))
            yield from sleep(0)

    def reader():
        reads = 0
        try:
            while True:
                yield from full.recv(6)
                reads += 1
        finally:
            trace.append((clock.now(), "reader stopped", reads))

    def main():
        yield from spawn(clock_mover())
        with pytest.raises(TimeoutError):
            yield from timeout_after(1, reader())

    kernel.run(main())
    assert trace == [(0.5, "tick"), (1.0, "tick"), (1.0, "reader stopped", 3 * CALLS_PER_TURN)]


def test_a_cancel_at_the_turn_of_a_fast_reader_loses_no_bytes(kernel, full):
    received = []

    def reader():
        try:
            while True:
                received.append((yield from full.recv(6)))
        except TaskCancelled:
            received.append(full.raw.recv(6))  # what was next is still in the socket
            raise

    def main():
        task = yield from spawn(reader())
        yield from cancel(task)

    kernel.run(main())
    assert received == [b"tyger "] * (CALLS_PER_TURN + 1)
