"""Framed slow poetry: the poetry server's ``--framed`` mode, which the proxy needs.

The same slow delivery, chunks of ``--num-bytes`` every ``--delay``, but of the poem
as one netstring, so that a client that gets fewer bytes than the length announced
knows the poem was cut short. The servers that send plain poetry only refuse the
option with a one-line usage error. And however the poem is sent, clients that never
read cost the server no copy of it.
"""

import contextlib
import signal
import socket
import subprocess
import sys

import pytest

from coro.netstring import NetstringDecoder, encode
from coro.trace import Event
from tests.support import assert_one_line_usage_error, catalogue_bytes, read_all, run_module

MiB = 1 << 20


@contextlib.contextmanager
def server_process(module, *args):
    """Run ``python -m module args...``; yield (its addresses, the process). Stopped
    with Ctrl-C on exit, it must end cleanly."""
    child = subprocess.Popen([sys.executable, "-m", module, "--port", "0", *map(str, args)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             stdin=subprocess.DEVNULL)
    with child:
        try:
            line = child.stdout.readline()
            assert line.startswith("Serving "), line + child.stderr.read()
            host, _, port = line.split()[-1].rpartition(":")
            yield (host, int(port)), child
        finally:
            child.send_signal(signal.SIGINT)
            _, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert "Traceback" not in err, err


@pytest.mark.parametrize("module", ["poetry_server", "poetry_server.reactor_server"])
def test_framed_a_poem_is_one_netstring_sent_as_slowly_as_ever(module):
    poem = catalogue_bytes("jingyesi")  # three bytes a character, cut anywhere
    with server_process(module, "--framed", "--delay", "0.01", "--num-bytes", "7",
                        "jingyesi") as (address, _):
        poems, trace = read_all([address])
    assert poems[1] == encode(poem)
    assert NetstringDecoder().feed(poems[1]) == [poem]
    chunks = [record.nbytes for record in trace.records if record.event is Event.RECEIVED]
    assert max(chunks) <= 7 and len(chunks) > 1  # chunk by chunk, as the plain poem is


def test_without_framed_the_poem_is_plain():
    with server_process("poetry_server", "--delay", "0", "--num-bytes", "100",
                        "tyger") as (address, _):
        poems, _ = read_all([address])
    assert poems[1] == catalogue_bytes("tyger")


@pytest.mark.parametrize("module", ["poetry_server.protocol_server",
                                    "poetry_server.kernel_server",
                                    "poetry_server.blocking", "poetry_server.threaded"])
def test_servers_that_send_plain_poetry_only_refuse_framed(module):
    result = run_module(module, "--framed", "tyger")
    assert_one_line_usage_error(result, f"python -m {module}")
    assert result.stderr.rstrip("\n").endswith(
        f"argument --framed: python -m {module} sends plain slow poetry only; "
        "python -m poetry_server can send it framed")
    assert "--framed" not in run_module(module, "--help").stdout


def vmrss(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


@pytest.mark.parametrize("module, framing", [
    ("poetry_server", ["--framed"]),
    ("poetry_server", []),
    ("poetry_server.kernel_server", []),
], ids=["framed", "plain", "kernel"])
def test_twenty_clients_that_never_read_cost_the_server_no_copy(tmp_path, module, framing):
    poem = bytes(range(256)) * (8 * 4096)  # 8 MiB
    (tmp_path / "long.txt").write_bytes(poem)
    with server_process(module, *framing, "--delay", "0", "--num-bytes", MiB,
                        tmp_path / "long.txt") as (address, child):
        before = vmrss(child.pid)
        clients = []
        try:
            for _ in range(20):
                sock = socket.socket()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.connect(address)
                clients.append(sock)
            # Accepted after the twenty, so its poem comes once each of them has
            # been sent all its socket takes, and the rest waits.
            poems, _ = read_all([address])
            grown = vmrss(child.pid) - before
        finally:
            for sock in clients:
                sock.close()
    assert poems[1] == (encode(poem) if framing else poem)
    assert grown < 4 * MiB, f"20 never-readers cost {module} {grown / MiB:.1f} MiB"


def test_help_says_what_framed_means():
    text = " ".join(run_module("poetry_server", "--help").stdout.split())
    assert "--framed send each poem as one netstring, LENGTH:POEM, (length first), so that " \
           "a client can tell a poem cut short (the proxy needs it); default: plain, the " \
           "end of the connection ends the poem" in text
