"""The slow poetry servers: every byte of every poem, one client after another."""

import pytest

from poetry_server import catalogue, spawn
from tests.support import (
    Event, assert_one_line_usage_error, catalogue_bytes, check_serves_over_ipv6, events,
    needs_ipv6, read_all, run_module,
)

BLOCKING = "poetry_server.blocking"
POEMS = sorted(catalogue())


def test_the_catalogue_has_short_medium_long_and_non_ascii_poems():
    sizes = {name: len(catalogue_bytes(name)) for name in POEMS}
    assert len(sizes) >= 8
    assert min(sizes.values()) < 1000 and max(sizes.values()) > 20000
    non_ascii = [name for name in POEMS if not catalogue_bytes(name).isascii()]
    assert len(non_ascii) >= 2
    assert any("\u4e00" <= ch <= "\u9fff"
               for name in non_ascii for ch in catalogue_bytes(name).decode("utf-8"))


@pytest.mark.parametrize("name", POEMS)
def test_every_poem_arrives_byte_for_byte(name):
    with spawn(name, module=BLOCKING, delay=0, num_bytes=4096) as [address]:
        poems, _ = read_all([address])
    assert poems[1] == catalogue_bytes(name)


@pytest.mark.parametrize("num_bytes", [1, 2, 3])
@pytest.mark.parametrize("name", ["jingyesi", "sera"])
def test_multi_byte_characters_split_across_chunks_arrive_whole(name, num_bytes):
    with spawn(name, module=BLOCKING, delay=0, num_bytes=num_bytes) as [address]:
        poems, trace = read_all([address])
    assert poems[1].decode("utf-8") == catalogue_bytes(name).decode("utf-8")


def test_the_blocking_server_serves_one_client_after_another():
    # Three clients are connected at once; task n+1 connects only after task n has
    # its first bytes, so the server accepted them in that order. A server that
    # served them at the same time would interleave their chunks.
    with spawn("ecstasy", module=BLOCKING, delay=0.01, num_bytes=300) as [address]:
        poems, trace = read_all([address] * 3, connect_after_first_chunk=True)
    assert all(poem == catalogue_bytes("ecstasy") for poem in poems.values())
    # Every byte of task 1 came before any byte of task 2, and so on.
    received = [task for task, _ in events(trace, Event.RECEIVED)]
    assert received == sorted(received)


def test_a_client_that_hangs_up_mid_poem_costs_only_itself():
    with spawn("raven", module=BLOCKING, delay=0, num_bytes=100) as [address]:
        poems, _ = read_all([address, address], connect_after_first_chunk=True,
                            stop_after={1: 100})
        again, _ = read_all([address])
    assert len(poems[1]) < len(catalogue_bytes("raven"))
    assert poems[2] == again[1] == catalogue_bytes("raven")


@pytest.mark.parametrize("args, message", [
    (["no-such-poem"], "unknown poem 'no-such-poem'"),
    (["--delay", "-1", "ecstasy"], "--delay: must be a number of seconds >= 0"),
    (["--delay", "soon", "ecstasy"], "--delay: not a number of seconds"),
    (["--num-bytes", "0", "ecstasy"], "--num-bytes: must be >= 1"),
    (["--port", "70000", "ecstasy"], "--port: must be from 0 to 65535"),
    (["ecstasy", "science"], "unrecognized arguments: science"),
    ([], "the following arguments are required: POEM"),
    (["/"], "cannot read poem file '/': Is a directory"),
    (["--iface", "[::1", "ecstasy"], "--iface: no ']' after the IPv6 address in '[::1'"),
    (["--iface", "[localhost]", "ecstasy"], "--iface: not an IPv6 address in brackets"),
])
def test_usage_errors_are_one_line_and_exit_2(args, message):
    result = run_module(BLOCKING, *args)
    assert_one_line_usage_error(result, "python -m poetry_server.blocking")
    assert message in result.stderr


def test_a_port_in_use_is_a_usage_error():
    with spawn("science", module=BLOCKING) as [(_, port)]:
        result = run_module(BLOCKING, "--port", port, "science")
    assert_one_line_usage_error(result, "python -m poetry_server.blocking")
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr


def test_a_poem_file_of_your_own(tmp_path):
    poem = tmp_path / "mine.txt"
    poem.write_bytes("Ein Gedicht über nichts.\n".encode())
    with spawn(str(poem), module=BLOCKING, delay=0, num_bytes=5) as [address]:
        poems, _ = read_all([address])
    assert poems[1] == poem.read_bytes()


def test_ctrl_c_mid_poem_stops_the_server_cleanly():
    # spawn() stops the server with SIGINT and fails unless it exits with status 0.
    with spawn("mariner", module=BLOCKING, delay=30, num_bytes=10) as [address]:
        poems, _ = read_all([address], stop_after={1: 1})
    assert poems[1] and catalogue_bytes("mariner").startswith(poems[1])


@needs_ipv6
@pytest.mark.parametrize("iface", ["::1", "[::1]"])
def test_the_blocking_server_serves_over_ipv6(iface):
    check_serves_over_ipv6(BLOCKING, iface=iface)
