"""The protocol client: every check every client passes, on each backend, and its
protocol tested alone, on an in-memory transport, with no socket at all."""

import functools

import pytest

from coro import protocol_client
from coro.io import multiplexer
from coro.io.clock import FakeClock
from coro.reactor.loop import Reactor
from coro.reactor.memory_transport import MemoryTransport
from coro.trace import Trace
from poetry_server import spawn
from tests import client_checks as check
from tests.support import descriptors_past_fd_setsize, run_module

MODULE = "coro.protocol_client"


@pytest.fixture(params=list(multiplexer.BACKENDS))
def stage(request):
    """The stage with its ``download_all`` bound to one backend."""
    class Stage:
        download_all = functools.partial(protocol_client.download_all, backend=request.param)
    return Stage


def test_the_downloads_interleave_in_one_thread(stage, capsys):
    check.check_the_downloads_overlap(stage, capsys)


def test_non_ascii_poems_with_one_byte_chunks(stage, capsys):
    check.check_non_ascii_poems_with_one_byte_chunks(stage, capsys)


def test_downloads_every_poem(stage, capsys):
    check.check_downloads_every_poem(stage, capsys)


def test_a_server_that_resets_mid_poem(stage, capsys):
    check.check_a_server_that_resets_mid_poem(stage, capsys)


def test_a_server_that_never_sends_times_out(stage, capsys):
    check.check_a_server_that_never_sends_times_out(stage, capsys)


def test_a_clean_close_mid_poem_cannot_be_told_from_the_end(stage, capsys):
    check.check_a_clean_close_mid_poem_cannot_be_told_from_the_end(stage, capsys)


def test_command_line_output_and_save(tmp_path):
    check.check_command_line_output(MODULE, tmp_path)


def test_the_backend_option():
    with spawn("science", delay=0, num_bytes=100) as [address]:
        for backend in multiplexer.BACKENDS:
            result = run_module(MODULE, "--backend", backend, address[1])
            assert result.returncode == 0, result.stderr


def test_one_refused_server_fails_only_its_task():
    check.check_one_refused_server_fails_only_its_task(MODULE)


def test_ctrl_c_closes_everything_and_exits_cleanly():
    check.check_ctrl_c_closes_everything_and_exits_cleanly(MODULE, connections=3)


def test_usage_errors(tmp_path):
    check.check_usage_errors(MODULE, tmp_path)


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


def test_select_names_its_limit_when_a_socket_is_past_fd_setsize(capsys):
    with spawn("science", "tyger", delay=0, num_bytes=100) as addresses:
        # The reactor's own two sockets get low numbers, the connections high ones.
        with descriptors_past_fd_setsize(spare_low=2):
            report, status, lines = check.run_in_process(protocol_client, addresses, capsys,
                                                         backend="select")
    assert status == 1
    assert len(report.errors) == 2
    assert all("FD_SETSIZE (1024)" in line and "--backend epoll" in line
               for line in lines if line.startswith("Task "))


def test_a_run_whose_done_raises_is_reported_and_still_ends(capsys):
    check.check_a_run_whose_done_raises_is_reported_and_still_ends(protocol_client, capsys)
