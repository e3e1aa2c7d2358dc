"""Chapter 2's exercises: a poem printed as it arrives, a refused server tried again,
and a time limit for each download."""

import io
import signal
import socket
import threading

import pytest

from coro.trace import Event
from exercises import ch02_cat, ch02_retry, ch02_time_limit
from poetry_server import spawn
from tests.client_checks import run_in_process
from tests.support import (
    LOOPBACK, ScriptedServer, assert_one_line_usage_error, catalogue_bytes, events,
    refused_address, reset, run_module,
)


# -- printing the poem as it arrives ----------------------------------------------------

def test_cat_prints_whole_characters_from_one_byte_chunks():
    poem = catalogue_bytes("jingyesi")
    with pytest.raises(UnicodeDecodeError):
        poem[:1].decode()  # so a chunk of one byte cannot be decoded on its own
    out = io.StringIO()
    with spawn("jingyesi", delay=0, num_bytes=1) as [address]:
        ch02_cat.cat(address, out, timeout=10)
    assert out.getvalue() == poem.decode()


def _half_a_character(socks):
    [sock] = socks
    sock.sendall("静夜思".encode()[:4])  # the first character, and a third of the second
    sock.close()


def test_cat_ends_a_poem_cut_mid_character_with_a_replacement_character():
    out = io.StringIO()
    with ScriptedServer(_half_a_character) as server:
        ch02_cat.cat(server.address, out, timeout=10)
    assert out.getvalue() == "静\ufffd"


def test_cat_prints_each_poem_in_turn_and_names_a_refused_server():
    with spawn("jingyesi", "tyger", delay=0, num_bytes=7) as [first, last], \
            refused_address() as refused:
        result = run_module("exercises.ch02_cat", first[1], refused[1], last[1])
    assert result.returncode == 1
    assert result.stdout == (catalogue_bytes("jingyesi") + catalogue_bytes("tyger")).decode()
    assert result.stderr == (f"python -m exercises.ch02_cat: connection refused by "
                             f"127.0.0.1:{refused[1]}\n")


# -- trying a refused server again ------------------------------------------------------

def test_a_server_that_starts_listening_while_the_client_waits(capsys):
    waits = []

    def serve_one(listener):
        sock, _ = listener.accept()
        with sock:
            sock.sendall(b"a late poem")

    with socket.socket() as listener:
        listener.bind((LOOPBACK, 0))  # bound, not listening: connections are refused
        address = listener.getsockname()
        server = threading.Thread(target=serve_one, args=(listener,))

        def wait(seconds):
            waits.append(seconds)
            if len(waits) == 2:  # the server comes up during the second pause
                listener.listen()
                server.start()

        report, status, lines = run_in_process(ch02_retry, [address], capsys,
                                               retries=3, wait=wait)
        server.join(timeout=10)
    assert status == 0
    assert report.poems[1] == b"a late poem"
    assert waits == [0.25, 0.5]  # twice as long each time
    port = address[1]
    assert lines[:2] == [
        f"Task 1: connection refused by 127.0.0.1:{port}; trying again in 0.25s",
        f"Task 1: connection refused by 127.0.0.1:{port}; trying again in 0.5s"]
    assert lines[2].startswith("Task 1: got 11 bytes of poetry")
    assert [event for _, event in events(report.trace)] == [
        Event.START, Event.START, Event.START, Event.CONNECTED, Event.RECEIVED, Event.DONE]


def test_after_the_last_retry_the_refusal_fails_only_its_task(capsys):
    waits = []
    with refused_address() as refused, spawn("science", delay=0, num_bytes=100) as [good]:
        report, status, lines = run_in_process(ch02_retry, [refused, good], capsys,
                                               retries=2, wait=waits.append)
    assert status == 1
    assert waits == [0.25, 0.5]
    assert f"Task 1: failed: connection refused by 127.0.0.1:{refused[1]}" in lines
    assert report.poems[2] == catalogue_bytes("science")


def _send_then_reset(socks):
    [sock] = socks
    sock.sendall(b"the first lines")
    reset(sock)


def test_a_reset_is_told_at_once_not_tried_again(capsys):
    waits = []
    with ScriptedServer(_send_then_reset) as server:
        report, status, lines = run_in_process(ch02_retry, [server.address], capsys,
                                               retries=3, wait=waits.append)
    assert status == 1
    assert waits == []
    assert lines[0] == f"Task 1: failed: connection reset by 127.0.0.1:{server.address[1]}"


def test_the_retry_command_line():
    with refused_address() as refused:
        result = run_module("exercises.ch02_retry", "--retries", "1", refused[1])
        assert result.returncode == 1
        assert result.stdout.splitlines()[:2] == [
            f"Task 1: connection refused by 127.0.0.1:{refused[1]}; trying again in 0.25s",
            f"Task 1: failed: connection refused by 127.0.0.1:{refused[1]}"]
    result = run_module("exercises.ch02_retry", "--retries", "-1", "10001")
    assert_one_line_usage_error(result, "python -m exercises.ch02_retry")
    assert "--retries: must be >= 0" in result.stderr


# -- a time limit for each download -----------------------------------------------------

def test_a_trickling_server_is_cut_off_at_the_limit_and_the_next_download_goes_on(capsys):
    handler = signal.getsignal(signal.SIGALRM)
    # A byte every 10ms never lets the 10s --timeout pass; the limit ends it.
    with spawn("mariner", delay=0.01, num_bytes=1) as [trickling], \
            spawn("science", delay=0, num_bytes=100) as [good]:
        report, status, lines = run_in_process(ch02_time_limit, [trickling, good], capsys,
                                               limit=0.3)
    assert status == 1
    assert lines[0] == (f"Task 1: failed: took longer than its limit of 0.3s "
                        f"(127.0.0.1:{trickling[1]})")
    assert (1, Event.RECEIVED) in events(report.trace)  # bytes came; they were not enough
    assert report.poems[2] == catalogue_bytes("science")
    assert signal.getsignal(signal.SIGALRM) == handler  # put back
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # and no alarm left set


def _never_send(socks):
    [sock] = socks
    sock.recv(1)  # returns when the client gives up and closes


def test_the_limit_also_ends_a_wait_shorter_than_the_timeout(capsys):
    with ScriptedServer(_never_send) as silent:
        report, status, lines = run_in_process(ch02_time_limit, [silent.address], capsys,
                                               timeout=10, limit=0.2)
    assert status == 1
    assert isinstance(report.errors[1], ch02_time_limit.TimeLimitPassed)
    assert not isinstance(report.errors[1], TimeoutError)  # not "sent nothing for 10s"


def test_a_download_within_its_limit_is_untouched(capsys):
    with spawn("tyger", delay=0, num_bytes=50) as [address]:
        report, status, _ = run_in_process(ch02_time_limit, [address], capsys, limit=30)
    assert status == 0
    assert report.poems[1] == catalogue_bytes("tyger")
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_the_limit_is_required():
    result = run_module("exercises.ch02_time_limit", "10001")
    assert_one_line_usage_error(result, "python -m exercises.ch02_time_limit")
    assert "the following arguments are required: --limit" in result.stderr
