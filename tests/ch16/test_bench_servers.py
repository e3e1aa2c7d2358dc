"""The benchmark's kernel and inline-callbacks servers answer correctly and stop cleanly.

``make bench`` measures them; this checks they are right, so the figures are about
servers that work.
"""

import signal
import socket
import subprocess
import sys

import pytest

from benchmarks.servers.cli import poem


def start(module, workload):
    return subprocess.Popen(
        [sys.executable, "-m", f"benchmarks.servers.{module}", "--workload", workload],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)


def stop(server):
    server.send_signal(signal.SIGTERM)
    status = server.wait(timeout=30)
    stderr = server.stderr.read()
    server.stdout.close()
    server.stderr.close()
    return status, stderr


@pytest.fixture(params=["coro_kernel", "coro_inline"])
def module(request):
    return request.param


def test_the_echo_server_sends_back_every_byte_on_many_connections(module):
    server = start(module, "echo")
    try:
        port = int(server.stdout.readline())
        connections = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
        try:
            for number, conn in enumerate(connections):
                conn.sendall(f"message {number} ".encode() * 5000)
            for number, conn in enumerate(connections):
                expected = f"message {number} ".encode() * 5000
                got = b""
                while len(got) < len(expected):
                    got += conn.recv(65536)
                assert got == expected
        finally:
            for conn in connections:
                conn.close()
    finally:
        status, stderr = stop(server)
    assert (status, stderr) == (0, "")


def test_the_poem_server_sends_the_whole_poem_then_closes(module):
    server = start(module, "poem")
    try:
        port = int(server.stdout.readline())
        with socket.create_connection(("127.0.0.1", port)) as conn:
            received = b"".join(iter(lambda: conn.recv(1 << 20), b""))
        assert received == poem()
    finally:
        status, stderr = stop(server)
    assert (status, stderr) == (0, "")
