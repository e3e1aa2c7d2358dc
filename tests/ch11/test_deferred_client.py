"""The Deferred client: every check every client passes, and get_poetry's Deferred
fires once, with the poem or the error, and can be cancelled at any point."""

import socket

from coro import deferred_client
from coro.deferred.deferred import CancelledError
from poetry_server import spawn
from tests import client_checks as check
from tests.reactor_fixtures import run_until
from tests.support import ScriptedServer, catalogue_bytes, refused_address

MODULE = "coro.deferred_client"
stage = deferred_client


def test_the_downloads_interleave_in_one_thread(capsys):
    check.check_the_downloads_overlap(stage, capsys)


def test_non_ascii_poems_with_one_byte_chunks(capsys):
    check.check_non_ascii_poems_with_one_byte_chunks(stage, capsys)


def test_downloads_every_poem(capsys):
    check.check_downloads_every_poem(stage, capsys)


def test_a_server_that_resets_mid_poem(capsys):
    check.check_a_server_that_resets_mid_poem(stage, capsys)


def test_a_server_that_never_sends_times_out(capsys):
    check.check_a_server_that_never_sends_times_out(stage, capsys)


def test_a_clean_close_mid_poem_cannot_be_told_from_the_end(capsys):
    check.check_a_clean_close_mid_poem_cannot_be_told_from_the_end(stage, capsys)


def test_command_line_output_and_save(tmp_path):
    check.check_command_line_output(MODULE, tmp_path)


def test_one_refused_server_fails_only_its_task():
    check.check_one_refused_server_fails_only_its_task(MODULE)


def test_ctrl_c_closes_everything_and_exits_cleanly():
    check.check_ctrl_c_closes_everything_and_exits_cleanly(MODULE, connections=3)


def test_usage_errors(tmp_path):
    check.check_usage_errors(MODULE, tmp_path)


def outcome_of(d):
    trace = []
    d.add_callbacks(lambda poem: trace.append(("poem", poem)),
                    lambda failure: trace.append(("failure", failure.type)))
    return trace


def test_get_poetry_fires_once_with_the_whole_poem(reactor):
    with spawn("tyger", delay=0, num_bytes=50) as [(host, port)]:
        trace = outcome_of(deferred_client.get_poetry(reactor, host, port))
        run_until(reactor, lambda: trace)
    assert trace == [("poem", catalogue_bytes("tyger"))]


def test_get_poetry_fails_with_the_connection_error(reactor):
    with refused_address() as (host, port):
        trace = outcome_of(deferred_client.get_poetry(reactor, host, port))
        run_until(reactor, lambda: trace)
    assert trace == [("failure", ConnectionRefusedError)]


def test_cancelling_while_connecting_stops_connecting(fake_reactor):
    # Nothing runs the reactor, so the connect is still in progress when cancelled.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        d = deferred_client.get_poetry(fake_reactor, *listener.getsockname())
        trace = outcome_of(d)
        d.cancel()
        fake_reactor.run_once(0)
    assert trace == [("failure", CancelledError)]


def test_cancelling_mid_poem_closes_the_connection(reactor):
    def send_then_wait_for_the_close(socks):
        [sock] = socks
        sock.sendall(b"The first line, then nothing")
        try:
            seen.append(sock.recv(1))
        except ConnectionResetError:
            seen.append("reset")

    seen = []
    with ScriptedServer(send_then_wait_for_the_close) as server:
        d = deferred_client.get_poetry(reactor, *server.address)
        trace = outcome_of(d)
        run_until(reactor, lambda: server.accepted)
        d.cancel()
        assert trace == [("failure", CancelledError)]
        run_until(reactor, lambda: seen and not reactor.pending_timers())
    assert seen in ([b""], ["reset"])
