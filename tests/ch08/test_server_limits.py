"""What every poetry server does with more clients than it should hold: a listen backlog
that keeps a burst of connections, a limit on the clients it serves at once, and clients
that trickle bytes, none of which locks an honest client out.

The transformation service (chapter 12) and the kernel server (chapter 16) have tests of
their own for the same rules; the servers here are the poetry servers of chapters 2, 3,
8 and 9.
"""

import selectors
import socket
import time

import pytest

from coro.io.clock import FakeClock
from coro.reactor.loop import Reactor
from poetry_server import cli, reactor_server
from poetry_server.client_limit import ClientLimit, default_max_clients
from tests.server_attacks import (burst, listen_backlog, run_server, system_backlog_cap,
                                  trickle_attack)
from tests.support import catalogue_bytes, reset, run_module

#: The poetry servers, each with what it serves fast: the whole poem at once.
FAST = ["--delay", "0", "--num-bytes", "4096", "science"]
SERVERS = ["poetry_server.reactor_server", "poetry_server.protocol_server",
           "poetry_server.kernel_server", "poetry_server.threaded", "poetry_server.blocking"]
#: The servers that serve many clients at once, and so have a limit on how many.
MANY_AT_ONCE = [module for module in SERVERS if module != "poetry_server.blocking"]

# -- the listen backlog ------------------------------------------------------------------

def test_the_listen_helper_gives_the_backlog_asked_for():
    with cli.listen("127.0.0.1", 0, backlog=77) as sock:
        backlog = listen_backlog(sock.getsockname()[1])
    if backlog is None:
        pytest.skip("no ss on this machine")
    assert backlog == 77


def test_by_default_the_backlog_is_somaxconn():
    with cli.listen("127.0.0.1", 0) as sock:
        backlog = listen_backlog(sock.getsockname()[1])
    if backlog is None:
        pytest.skip("no ss on this machine")
    assert backlog == min(socket.SOMAXCONN, system_backlog_cap())
    assert backlog > 128


@pytest.mark.parametrize("module", SERVERS)
def test_the_backlog_option_reaches_listen(module):
    with run_server(module, "--backlog", 77, *FAST) as server:
        backlog = listen_backlog(server.address[1])
    if backlog is None:
        pytest.skip("no ss on this machine")
    assert backlog == 77


@pytest.mark.parametrize("module", SERVERS)
def test_a_burst_of_300_connections_while_the_server_is_stopped_is_all_served(module):
    # SIGSTOP stands for a busy machine: the server accepts nothing for a moment. The
    # system completes each connection on its own and queues it, up to the backlog;
    # past the backlog it drops them. Here every one of them must be kept and served.
    poem = catalogue_bytes("science")
    with run_server(module, *FAST) as server:
        connected, received = burst(server, count=300)
    assert connected == 300
    assert received == [poem] * 300


# -- the limit on clients at once --------------------------------------------------------

@pytest.mark.parametrize("module", SERVERS)
def test_help_states_every_limit_with_its_default(module):
    result = run_module(module, "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "--backlog N" in text
    assert f"(default: {socket.SOMAXCONN}" in text
    if module in MANY_AT_ONCE:
        assert "--max-clients N" in text
        assert f"(default: {default_max_clients()}" in text
        assert "stops accepting" in text
    else:
        assert "one client at a time" in text
    assert "takes no bytes" in text  # the time limit on a client that takes nothing


@pytest.mark.parametrize("module", MANY_AT_ONCE)
def test_at_the_limit_the_server_stops_accepting_and_does_not_spin(module):
    # Five clients are served; the next fifteen wait in the listen queue, sent nothing,
    # while the server holds no socket more and uses (next to) no processor time. When
    # one of the five hangs up, one of the fifteen is served.
    with run_server(module, "--max-clients", 5, "--delay", "0.2", "--num-bytes", "10",
                    "mariner") as server:
        idle = server.sockets()
        clients = [socket.create_connection(server.address) for _ in range(20)]
        try:
            served = _clients_sent_something(clients, until=lambda got: len(got) >= 5)
            assert len(served) == 5
            cpu_before, start = server.cpu_seconds(), time.monotonic()
            most = []
            served = _clients_sent_something(
                clients, until=lambda got: time.monotonic() > start + 1.0,
                watch=lambda: most.append(server.sockets()))
            cpu = server.cpu_seconds() - cpu_before
            assert len(served) == 5
            assert max(most) == idle + 5
            assert cpu < 0.5 * (time.monotonic() - start)  # no busy loop: a generous bound
            first = clients[min(served)]
            clients.remove(first)
            reset(first)
            served = _clients_sent_something(clients, until=lambda got: len(got) >= 5)
            assert len(served) == 5  # the four left, and one more
        finally:
            for sock in clients:
                sock.close()


def _clients_sent_something(clients, *, until, watch=None, guard=20.0):
    """Read from ``clients`` until ``until(indexes that got bytes)`` holds (or ``guard``
    seconds pass); return those indexes."""
    got = set()
    give_up = time.monotonic() + guard
    with selectors.DefaultSelector() as selector:
        for index, sock in enumerate(clients):
            selector.register(sock, selectors.EVENT_READ, index)
        while not until(got) and time.monotonic() < give_up:
            if watch is not None:
                watch()
            for key, _ in selector.select(timeout=0.1):
                if key.fileobj.recv(65536):
                    got.add(key.data)
    return got


#: The servers under the trickle attack here, each with a short idle timeout where it
#: has one (chapters 2 and 3 have a fixed one). The kernel server, which waits for its
#: clients to hang up, has the same test in chapter 16.
TRICKLED = {
    "poetry_server.reactor_server": [*FAST, "--idle-timeout", "1"],
    "poetry_server.protocol_server": [*FAST, "--idle-timeout", "1"],
    "poetry_server.threaded": FAST,
    "poetry_server.blocking": FAST,
}


@pytest.mark.parametrize("module", TRICKLED)
def test_an_honest_client_is_served_under_a_trickle_attack_out_of_descriptors(module):
    # 150 connections that each send a byte every quarter second, and connect again
    # whenever they are dropped, against a server that may open 128 descriptors. These
    # servers close at the end of the poem, so a trickle holds nothing for long. The
    # ones that serve many clients at once hold at most 64 clients (the default limit,
    # half the descriptors), and so never run out.
    poem = catalogue_bytes("science")
    most = []
    with run_server(module, *TRICKLED[module], fd_limit=128) as server:
        received, _ = trickle_attack(server.address,
                                     watch=lambda: most.append(server.sockets()))
        stderr = server.stderr()
    assert received == poem
    if module in MANY_AT_ONCE:
        assert max(most) <= 128 // 2 + 4  # the clients, the listener, the loop's own
        assert "Too many open files" not in stderr


# -- the limit's logic, and the acceptor, on a fake clock ---------------------------------

class Gate:
    """Stands in for an acceptor: it notes when the limit pauses and resumes it."""

    def __init__(self, log, name):
        self.log, self.name = log, name

    def pause(self):
        self.log.append(("pause", self.name))

    def resume(self):
        self.log.append(("resume", self.name))


def test_the_limit_pauses_every_acceptor_when_full_and_resumes_them_with_room():
    log = []
    limit = ClientLimit(2)
    limit.add_acceptor(Gate(log, "a"))
    limit.add_acceptor(Gate(log, "b"))
    limit.take()
    assert log == [] and not limit.full
    limit.take()
    assert log == [("pause", "a"), ("pause", "b")] and limit.full
    limit.release()
    assert log[2:] == [("resume", "a"), ("resume", "b")] and not limit.full
    limit.release()
    assert log[4:] == [] and limit.count == 0


def test_a_limit_is_never_released_more_than_taken():
    limit = ClientLimit(2)
    with pytest.raises(RuntimeError, match="released more often than taken"):
        limit.release()


def test_the_acceptor_stops_at_the_limit_and_takes_the_next_client_when_one_ends():
    clock = FakeClock()
    with Reactor(clock=clock) as reactor, cli.listen("127.0.0.1", 0) as listener:
        limit = ClientLimit(2)
        start = reactor_server.poem_sender(reactor, b"a poem", limit, num_bytes=3,
                                           delay=1.0, idle_timeout=60.0)
        reactor_server.Acceptor(reactor, listener, start, limit)
        clients = [socket.create_connection(listener.getsockname()) for _ in range(3)]
        try:
            for _ in range(3):
                reactor.run_once(0)
            assert limit.count == 2
            assert [sock.recv(100, socket.MSG_DONTWAIT) for sock in clients[:2]] \
                == [b"a p", b"a p"]
            with pytest.raises(BlockingIOError):
                clients[2].recv(100, socket.MSG_DONTWAIT)  # it waits in the queue
            clock.advance(1.0)
            for _ in range(3):
                reactor.run_once(0)  # both poems end, two slots free, the third is taken
            assert limit.count == 1
            assert clients[2].recv(100) == b"a p"
            clock.advance(1.0)
            reactor.run_once(0)
            assert limit.count == 0
        finally:
            for sock in clients:
                sock.close()
