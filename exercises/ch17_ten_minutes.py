"""Exercise 17.2: a ten-minute timeout in no time.

Chapter 12's transformation server gives a client ``--idle-timeout`` seconds from
connecting to send its whole request, and as long again from its reply to close; no
byte the client sends restarts either. On the real clock a test of a ten-minute
timeout takes ten minutes; on a fake clock moved by hand, the test must know when
every timer is due. With :func:`coro.testing.clock.autojump`, the reactor runs
unchanged, over a socketpair, and whenever nothing is ready its clock jumps to the
next timer: the test sets the real timeout, 600 seconds, and checks what happens when,
to the second, while real time hardly moves.

    python -m pytest exercises/ch17_ten_minutes.py
"""

import contextlib
import socket

from coro.netstring import encode
from coro.reactor.loop import Reactor
from coro.reactor.protocol import Protocol
from coro.reactor.transport import Transport
from coro.testing.clock import FakeClock, autojump
from poetry_server.transform_server import TransformServerFactory

TEN_MINUTES = 600.0
REQUEST = encode(b"upper.Tyger Tyger, burning bright,\n")


class LoggingServerFactory(TransformServerFactory):
    """The transformation server's factory, which puts what it would say on stderr in
    ``log``, as ``(time, "server", what)``."""

    def __init__(self, reactor, log, **options):
        super().__init__(reactor, **options)
        self.log = log

    def tell(self, client, what):
        self.log.append((self.reactor.time(), "server", what))


class Client(Protocol):
    """Sends ``request`` one byte every ``pace`` seconds (all at once if ``pace`` is
    None) until a reply comes, and logs what it sends and receives as
    ``(time, "client", event, ...)``. At the end of the reply it closes if ``close``
    is true; otherwise it keeps its connection open for ever.
    """

    def __init__(self, reactor, log, request, *, pace=None, close):
        self.reactor, self.log, self.request = reactor, log, request
        self.pace, self.close = pace, close
        self.sent, self.timer, self.ended = 0, None, False

    def connection_made(self, transport):
        super().connection_made(transport)
        self.send()

    def send(self):
        self.timer = None
        piece = self.request[self.sent:self.sent + 1] if self.pace else self.request
        self.transport.write(piece)
        self.sent += len(piece)
        self.record("sent", piece)
        if self.sent < len(self.request):
            self.timer = self.reactor.call_later(self.pace, self.send)

    def data_received(self, data):
        self.record("received", data)
        self.stop_sending()  # the reply came: no more of the request

    def eof_received(self):
        self.record("end of file")
        return not self.close  # True keeps the connection open

    def connection_lost(self, reason):
        self.stop_sending()
        self.record("connection lost", type(reason).__name__)
        self.ended = True

    def stop_sending(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def record(self, *event):
        self.log.append((self.reactor.time(), "client", *event))


@contextlib.contextmanager
def one_connection(**client_options):
    """A reactor on a fake clock that jumps, and a transformation server with a ten-minute
    idle timeout, serving one :class:`Client` over a socketpair.

    Args:
        **client_options: The client's ``pace`` and ``close``.

    Yields:
        ``(reactor, the server's factory, the client, the log)``.
    """
    log, clock = [], FakeClock()
    server_side, client_side = socket.socketpair()
    # The reactor closes first, and with it the transports and their sockets; the
    # sockets' own "with" closes them if no transport was made.
    with server_side, client_side, Reactor(autojump(clock), clock=clock) as reactor:
        factory = LoggingServerFactory(reactor, log, idle_timeout=TEN_MINUTES)
        client = Client(reactor, log, REQUEST, **client_options)
        # What the server's acceptor does with a connection (but a socketpair is not
        # TCP: there is no TCP_NODELAY to set), and the same for the client.
        protocol = factory.build_protocol(("127.0.0.1", 50000))
        Transport(reactor, server_side, protocol).start()
        Transport(reactor, client_side, client).start()
        yield reactor, factory, client, log


def run_until(reactor, condition, *, limit=3600.0):
    """Run the reactor's ticks until ``condition()`` holds.

    Time is free: ``limit`` is in the fake clock's seconds, so a test that would wait
    for ever fails at once instead. No tick's poll waits past the limit, even with no
    timer left to jump to.
    """
    while not condition():
        assert reactor.time() < limit, f"still waiting after {limit:g}s of fake time"
        reactor.run_once(limit - reactor.time())


def test_a_client_that_trickles_is_answered_and_then_dropped_ten_minutes_apart():
    # A byte every 90s, each before a timer that it restarted would fire: the reply would
    # wait for the whole request. The server's timers run from the connection and from
    # the reply, whatever comes in between.
    with one_connection(pace=90.0, close=False) as (reactor, server, client, log):
        run_until(reactor, lambda: server.connections == 0)
        assert [event for event in log if event[2] == "sent"] == [
            (90.0 * n, "client", "sent", REQUEST[n:n + 1]) for n in range(7)]
        error = "no whole request within 600s of connecting (7 bytes of it came)"
        assert [event for event in log if event[2] != "sent"] == [
            (600.0, "server", f"got an error reply: {error}"),
            (600.0, "client", "received", encode(b"error." + error.encode())),
            (600.0, "client", "end of file"),
            (1200.0, "server", "did not close within 600s of its reply; dropped"),
        ]
        assert reactor.time() == 1200.0
        assert reactor.pending_timers() == 0
        assert server.limit.count == 0  # its place is free for the next client
        assert not client.ended  # a client that sends nothing cannot know it was dropped


def test_a_prompt_client_waits_for_no_timeout_at_all():
    # Every timer is cancelled as the connection ends, so there is nothing to jump to:
    # the whole exchange happens at 0.0, and the clock stays there.
    with one_connection(close=True) as (reactor, server, client, log):
        run_until(reactor, lambda: server.connections == 0 and client.ended)
        assert log == [
            (0.0, "client", "sent", REQUEST),
            (0.0, "client", "received", encode(b"ok.TYGER TYGER, BURNING BRIGHT,\n")),
            (0.0, "client", "end of file"),
            (0.0, "client", "connection lost", "ConnectionDone"),
        ]
        assert reactor.time() == 0.0
        assert reactor.pending_timers() == 0
