"""A listener that stops accepting for a while: the connections that come meanwhile wait,
connected, in the listen queue, and are served once it resumes (a server's client limit)."""

import socket

from coro.reactor import tcp
from coro.reactor.protocol import Factory, Protocol
from tests.reactor_fixtures import run_until
from tests.support import LOOPBACK


class Recording(Factory):
    def __init__(self, trace, listener=None):
        super().__init__()
        self.trace, self.listener = trace, listener

    def build_protocol(self, address):
        self.trace.append("accepted")
        if self.listener is not None and self.trace.count("accepted") == 2:
            self.listener.pause()  # the second client fills the limit, mid-accept
        return Protocol()


def test_a_paused_listener_leaves_connections_in_the_queue_until_it_resumes(reactor):
    trace = []
    factory = Recording(trace)
    listener = tcp.Listener(reactor, socket.create_server((LOOPBACK, 0)), factory)
    factory.listener = listener
    clients = [socket.create_connection(listener.address) for _ in range(4)]
    try:
        run_until(reactor, lambda: trace == ["accepted", "accepted"])
        for _ in range(5):  # the others are in the queue, and nothing accepts them
            reactor.run_once(0)
        assert trace == ["accepted", "accepted"]
        listener.resume()
        run_until(reactor, lambda: len(trace) == 4)
    finally:
        for client in clients:
            client.close()
    assert trace == ["accepted"] * 4


def test_pausing_twice_resuming_a_closed_listener_and_closing_a_paused_one_are_harmless(
        reactor):
    listener = tcp.Listener(reactor, socket.create_server((LOOPBACK, 0)), Recording([]))
    listener.pause()
    listener.pause()
    listener.close()
    listener.resume()  # a client leaving after the server stopped listening
    reactor.run_once(0)
