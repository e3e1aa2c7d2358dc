"""One socket, two tasks: one reads while the other writes, on every backend, with real
descriptors. A descriptor has one waiting task each way; a second task that waits the
same way is refused with an error that names both tasks."""

import socket

import pytest

from coro.io import multiplexer
from coro.kernel.loop import Kernel
from coro.kernel.sockets import Socket
from coro.kernel.traps import join, sleep, spawn

# Bigger than both sockets' buffers together, so the writer has to wait for room while
# the reader, on the same socket, waits for bytes: both directions wait at once.
PAYLOAD = bytes(range(256)) * 8192  # 2 MiB


@pytest.fixture(params=list(multiplexer.BACKENDS))
def kernel(request, errors):
    with Kernel(multiplexer.create(request.param), report_error=errors.report) as kernel:
        yield kernel


def test_one_task_reads_a_socket_while_another_writes_it(kernel):
    a, b = socket.socketpair()
    waits = []  # (direction, descriptor) of each wait the two tasks were in together

    def writer(sock):
        yield from sock.sendall(PAYLOAD)
        sock.shutdown(socket.SHUT_WR)

    def reader(sock):
        received = bytearray()
        while data := (yield from sock.recv(65536)):
            received += data
        return bytes(received)

    def echo(sock):  # the peer: sends back what it reads, until the end
        while data := (yield from sock.recv(65536)):
            yield from sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)

    def main():
        with Socket(a) as mine, Socket(b) as peer:
            echoing = yield from spawn(echo(peer))
            reading = yield from spawn(reader(mine))
            writing = yield from spawn(writer(mine))
            while not writing.done:
                readers, writers = kernel._io.readers, kernel._io.writers
                if readers.get(mine.fileno()) is reading and writers.get(mine.fileno()):
                    waits.append("both at once")
                yield from sleep(0)
            yield from join(echoing)
            return (yield from join(reading))

    assert kernel.run(main()) == PAYLOAD
    assert "both at once" in waits  # the reader and the writer waited on one descriptor


def test_a_second_task_waiting_the_same_way_is_refused_naming_both(kernel):
    a, b = socket.socketpair()

    def first_reader(sock):
        yield from sock.recv(1)

    def second_reader(sock):
        yield from sock.recv(1)

    def main():
        with Socket(a) as sock, Socket(b):
            first = yield from spawn(first_reader(sock))
            yield from sleep(0)
            second = yield from spawn(second_reader(sock))
            yield from sleep(0)
            try:
                yield from join(second)
            except RuntimeError as error:
                message = str(error)
            yield from sleep(0)
            state = repr(first)
            sock.close()  # wakes the first reader with an error (EBADF)
            try:
                yield from join(first)
            except OSError:
                pass
            return message, state, first.id, second.id, sock_fd

    sock_fd = a.fileno()
    message, state, first, second, fd = kernel.run(main())
    assert message == (
        f"task {second} (test_a_second_task_waiting_the_same_way_is_refused_naming_both."
        f"<locals>.second_reader) cannot wait to read descriptor {fd}: task {first} "
        f"(test_a_second_task_waiting_the_same_way_is_refused_naming_both.<locals>."
        f"first_reader) already waits to read it, and a descriptor has one waiting task "
        f"each way")
    assert state.endswith(f"waiting to read descriptor {fd}>")  # the first still waits
