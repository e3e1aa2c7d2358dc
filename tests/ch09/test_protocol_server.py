"""The slow poetry server as a protocol: paced by timers, paused by its transport."""

import pytest

from coro.io.clock import FakeClock
from coro.reactor.loop import Reactor
from coro.reactor.memory_transport import MemoryTransport
from coro.reactor.protocol import ConnectionDone
from poetry_server.protocol_server import PoetryServerFactory
from tests.support import (assert_one_line_usage_error,
                           check_500_clients_get_every_byte_while_bad_clients_misbehave,
                           check_serves_over_ipv6, needs_ipv6, run_module)

MODULE = "poetry_server.protocol_server"


def test_500_clients_get_every_byte_while_bad_clients_misbehave():
    check_500_clients_get_every_byte_while_bad_clients_misbehave(MODULE)


@pytest.fixture
def served(capsys):
    """A protocol serving b"abcdefgh" 3 bytes every 2s on a memory transport and fake clock."""
    clock = FakeClock()
    with Reactor(clock=clock) as reactor:
        factory = PoetryServerFactory(reactor, b"abcdefgh", num_bytes=3, delay=2.0,
                                      idle_timeout=30.0)
        protocol = factory.build_protocol(("127.0.0.1", 5555))
        transport = MemoryTransport(protocol)
        transport.start()
        yield clock, reactor, protocol, transport


def tick(reactor, clock, seconds):
    clock.advance(seconds)
    reactor.run_once(0)


def test_chunks_come_one_per_delay_then_the_connection_ends(served):
    clock, reactor, protocol, transport = served
    seen = [transport.value()]
    for _ in range(4):
        tick(reactor, clock, 1.0)
        seen.append(transport.value())
    assert seen == [b"abc", b"abc", b"abcdef", b"abcdef", b"abcdefgh"]
    assert isinstance(transport.lost_reason, ConnectionDone)
    assert reactor.pending_timers() == 0


def test_a_paused_protocol_waits_and_a_stalled_client_is_dropped(served, capsys):
    clock, reactor, protocol, transport = served
    protocol.pause_producing()  # what the transport does when its buffer is too full
    tick(reactor, clock, 29.0)
    assert transport.value() == b"abc"  # nothing more while paused
    protocol.resume_producing()  # the client read: the buffer drained
    tick(reactor, clock, 2.0)
    assert transport.value() == b"abcdef"
    protocol.pause_producing()
    tick(reactor, clock, 30.0)
    assert isinstance(transport.lost_reason, ConnectionAbortedError)
    assert capsys.readouterr().err == "client 127.0.0.1:5555 took nothing for 30s; dropped\n"
    assert reactor.pending_timers() == 0


def test_a_client_that_hangs_up_is_told_on_stderr(served, capsys):
    clock, reactor, protocol, transport = served
    transport.fail(ConnectionResetError(104, "Connection reset by peer"))
    assert capsys.readouterr().err == "client 127.0.0.1:5555 hung up before the end of the poem\n"
    assert reactor.pending_timers() == 0


def test_bad_options_are_one_line():
    assert_one_line_usage_error(run_module(MODULE, "--idle-timeout", "-1", "tyger"),
                                f"python -m {MODULE}")


@needs_ipv6
def test_the_protocol_server_serves_over_ipv6():
    check_serves_over_ipv6("poetry_server.protocol_server")
