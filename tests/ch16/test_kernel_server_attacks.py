"""The kernel server against clients that hold on: one that trickles bytes after its poem
instead of hanging up, many that come at once. The time limit and the client limit on a
fake clock, then the attack itself on real sockets, against a server short of descriptors.
"""

import socket

from coro.io.clock import FakeClock
from coro.kernel.loop import Kernel
from coro.kernel.sockets import Socket, listen as kernel_listen, open_connection
from coro.kernel.traps import join, sleep, spawn
from poetry_server import kernel_server
from tests.server_attacks import run_server, trickle_attack
from tests.support import catalogue_bytes

CLIENT = ("127.0.0.1", 1)


def test_a_client_that_trickles_after_its_poem_is_dropped_when_its_time_is_up(capsys):
    # After the poem the server waits for the client to hang up, reading and dropping
    # what it sends. A byte a second would restart a wait for silence for ever; the
    # client has 5 seconds from the end of the poem in all.
    clock = FakeClock()
    ours, theirs = socket.socketpair()

    def trickler(sock):
        with sock:
            while (yield from sock.recv(100)):
                pass  # the poem, up to its end
            end = clock.now()
            while clock.now() < end + 100:  # a guard: the server must act long before
                yield from sleep(1)
                try:
                    yield from sock.send(b"x")
                except OSError:  # the server closed its end
                    return clock.now() - end
            return None

    def main():
        handler = yield from spawn(kernel_server.serve_client(
            Socket(ours), CLIENT, memoryview(b"a poem"), num_bytes=100, delay=1.0,
            idle_timeout=5.0))
        dropped_after = yield from trickler(Socket(theirs))
        yield from join(handler)
        return dropped_after

    with ours, theirs, Kernel(clock=clock, handle_signals=False) as kernel:
        dropped_after = kernel.run(main())
    assert dropped_after is not None and dropped_after <= 6
    assert capsys.readouterr().err == ""  # it has its poem: nothing to tell


def test_at_the_limit_the_next_client_waits_until_one_has_gone():
    clock = FakeClock()

    def client(address, seen, name):
        sock = yield from open_connection(*address)
        with sock:
            while True:
                data = yield from sock.recv(100)
                seen.append((clock.now(), name, data))
                if not data:
                    return

    with kernel_listen("127.0.0.1", 0) as listener:
        address = listener.raw.getsockname()

        def main():
            seen = []
            clients = kernel_server.ClientTasks(1)
            yield from spawn(kernel_server.serve(listener, memoryview(b"abcdef"), num_bytes=3,
                                                 delay=1.0, idle_timeout=60.0,
                                                 clients=clients))
            first = yield from spawn(client(address, seen, "first"))
            yield from sleep(0.5)  # the first has its first chunk; the second connects
            second = yield from spawn(client(address, seen, "second"))
            yield from join(first)
            yield from join(second)
            return seen

        with Kernel(clock=clock, handle_signals=False) as kernel:
            seen = kernel.run(main())
    assert seen == [(0.0, "first", b"abc"), (1.0, "first", b"def"), (1.0, "first", b""),
                    (1.0, "second", b"abc"), (2.0, "second", b"def"), (2.0, "second", b"")]


def test_an_honest_client_is_served_under_a_trickle_attack_out_of_descriptors():
    # 150 connections that each send a byte every quarter second, and connect again when
    # dropped, against a server that may open 128 descriptors and gives a client one
    # second to hang up after its poem. It holds at most 64 of them (its default limit,
    # half its descriptors), so it never runs out, and the honest client gets its poem.
    poem = catalogue_bytes("science")
    most = []
    with run_server("poetry_server.kernel_server", "--delay", "0", "--num-bytes", "4096",
                    "--idle-timeout", "1", "science", fd_limit=128) as server:
        received, drops = trickle_attack(server.address,
                                         watch=lambda: most.append(server.sockets()))
        stderr = server.stderr()
    assert received == poem
    assert drops > 0
    assert max(most) <= 128 // 2 + 4  # the clients, the listener, the kernel's own
    assert "Too many open files" not in stderr
