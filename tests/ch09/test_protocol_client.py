"""The protocol client: every check every client passes, on each backend, and its
protocol tested alone, on an in-memory transport, with no socket at all."""

from coro import protocol_client
from coro.io.clock import FakeClock
from coro.reactor.loop import Reactor
from coro.reactor.memory_transport import MemoryTransport
from coro.trace import Trace
from tests.client_checks import (
    MultiplexerClientChecks, check_a_run_whose_done_raises_is_reported_and_still_ends,
)


class TestProtocolClient(MultiplexerClientChecks):
    stage = protocol_client
    module = "coro.protocol_client"
    wake_up_sockets = 2  # the reactor's


def make_protocol(clock):
    """A poetry protocol on a memory transport; returns it, its transport and the outcomes."""
    outcomes = []
    reactor = Reactor(clock=clock)
    factory = protocol_client.PoetryClientFactory(
        reactor, 1, timeout=10, trace=Trace(),
        done=lambda task, **outcome: outcomes.append(outcome))
    protocol = factory.build_protocol(("127.0.0.1", 10000))
    transport = MemoryTransport(protocol)
    transport.start()
    return reactor, protocol, transport, outcomes


def test_the_protocol_alone_collects_the_poem_until_a_clean_close():
    reactor, protocol, transport, outcomes = make_protocol(FakeClock())
    with reactor:
        for piece in (b"Tyger ", "Tyger, burning bright".encode()):
            transport.receive(piece)
        assert outcomes == []
        transport.receive_eof()
        assert outcomes == [{"poem": b"Tyger Tyger, burning bright"}]
        assert transport.value() == b""  # the poetry client never writes
        assert reactor.pending_timers() == 0


def test_the_protocol_alone_times_out_on_a_fake_clock():
    clock = FakeClock()
    reactor, protocol, transport, outcomes = make_protocol(clock)
    with reactor:
        clock.advance(9)
        transport.receive(b"a few bytes")  # puts the timeout off by 10s again
        clock.advance(9.9)
        reactor.run_once(0)
        assert outcomes == []
        clock.advance(0.1)
        reactor.run_once(0)
        [outcome] = outcomes
        assert isinstance(outcome["error"], TimeoutError)
        assert isinstance(transport.lost_reason, ConnectionAbortedError)


def test_a_run_whose_done_raises_is_reported_and_still_ends(capsys):
    check_a_run_whose_done_raises_is_reported_and_still_ends(protocol_client, capsys)
