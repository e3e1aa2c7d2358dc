"""Chapter 17's simulated network: TCP's answers, time that moves only in the poll, and
the book's own server and client run on it from a seed, replayed exactly."""

import errno
import re
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coro import kernel_client
from coro.io.multiplexer import READ, WRITE
from coro.kernel import sockets as kernel_sockets
from coro.kernel.loop import Kernel
from coro.kernel.traps import sleep
from coro.testing.scenario import POEM, simulate_poetry
from coro.testing.simnet import FAULT_LEVELS, Faults, SimulatedNetwork, SimulationStuck
from coro.testing.simsockets import FIRST_FD, HOST, SEND_BUFFER
from poetry_server import kernel_server
from tests.support import run_module

SERVER = (HOST, 7000)


def connected_pair(network):
    """A listener, and a connection through it: ``(listener, client end, server end)``."""
    listener = network.socket()
    listener.bind(SERVER)
    listener.listen(8)
    client = network.socket()
    assert client.connect_ex(SERVER) == errno.EINPROGRESS
    network.run_until(network.next_delivery())
    assert client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    server, _ = listener.accept()
    return listener, client, server


def deliver_everything(network):
    while network.next_delivery() is not None:
        network.run_until(network.next_delivery())


def events(network):
    """The log without its times."""
    return [line.split(" ", 1)[1] for line in network.log]


# -- the sockets, alone ------------------------------------------------------------------

def test_a_connect_is_in_progress_until_its_handshake_arrives():
    network = SimulatedNetwork(0)
    listener = network.socket()
    listener.bind(SERVER)
    listener.listen(8)
    client = network.socket()
    assert client.connect_ex(SERVER) == errno.EINPROGRESS
    assert client.readiness() == 0
    with pytest.raises(BlockingIOError):
        listener.accept()
    network.run_until(network.next_delivery())
    assert network.clock.now() == 0.001
    assert client.readiness() & WRITE and listener.readiness() == READ
    assert client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    server, address = listener.accept()
    assert address == client.getsockname() == server.getpeername() == (HOST, 54001)
    assert client.getpeername() == server.getsockname() == SERVER
    assert events(network) == ["listen 127.0.0.1:7000",
                               "connect c1 127.0.0.1:54001 -> 127.0.0.1:7000",
                               "establish c1"]


def test_bytes_arrive_after_the_latency_and_recv_says_eagain_until_then():
    network = SimulatedNetwork(0, faults=Faults(latency=(0.25, 0.25)))
    _, client, server = connected_pair(network)
    assert server.send(b"hello") == 5
    with pytest.raises(BlockingIOError):
        client.recv(100)
    network.run_until(network.clock.now() + 0.2)
    with pytest.raises(BlockingIOError):
        client.recv(100)
    network.run_until(network.next_delivery())
    assert network.clock.now() == 0.5
    assert client.recv(3) == b"hel" and client.recv(100) == b"lo"
    with pytest.raises(BlockingIOError):
        client.recv(100)


def test_the_send_buffer_is_bounded_by_what_the_peer_has_not_read():
    network = SimulatedNetwork(0)
    _, client, server = connected_pair(network)
    assert server.send(b"x" * (SEND_BUFFER + 1000)) == SEND_BUFFER
    assert not server.readiness() & WRITE
    with pytest.raises(BlockingIOError):
        server.send(b"more")
    deliver_everything(network)
    with pytest.raises(BlockingIOError):  # arrived, but not read: still not room
        server.send(b"more")
    assert len(client.recv(1000)) == 1000
    assert server.readiness() & WRITE
    assert server.send(b"y" * 5000) == 1000


def test_an_end_of_file_comes_after_every_byte_and_half_closes():
    network = SimulatedNetwork(0, faults=Faults(max_chunk=3, latency=(0.01, 0.09)))
    _, client, server = connected_pair(network)
    server.send(b"the whole poem")
    server.shutdown(socket.SHUT_WR)
    with pytest.raises(BrokenPipeError):
        server.send(b"after the end")
    deliver_everything(network)
    received = b""
    while data := client.recv(100):
        received += data
    assert received == b"the whole poem"
    assert client.recv(100) == b""
    assert client.send(b"bye") == 3  # the other direction is still open
    deliver_everything(network)
    assert server.recv(100) == b"bye"


def test_a_reset_fails_the_next_call_at_each_end_once():
    network = SimulatedNetwork(0, faults=Faults(reset_probability=1.0))
    _, client, server = connected_pair(network)
    server.send(b"lost")
    deliver_everything(network)
    assert client.readiness() == READ | WRITE
    with pytest.raises(ConnectionResetError):
        client.recv(100)
    assert client.recv(100) == b""
    with pytest.raises(ConnectionResetError):
        server.send(b"more")
    with pytest.raises(BrokenPipeError):
        server.send(b"more")
    assert events(network)[-1] == "reset c1 b->a (fault)"


def test_closing_with_unread_bytes_resets_and_bytes_for_a_closed_socket_reset_the_sender():
    network = SimulatedNetwork(0)
    _, client, server = connected_pair(network)
    client.send(b"hello")
    deliver_everything(network)
    server.close()  # "hello" never read
    deliver_everything(network)
    with pytest.raises(ConnectionResetError):
        client.recv(100)
    assert events(network)[-2:] == ["close c1 b",
                                    "reset c1 b->a (closed with bytes it never read)"]

    _, client, server = connected_pair(SimulatedNetwork(1))
    network = client._network
    client.close()  # nothing unread: a FIN
    server.send(b"for nobody")
    network.run_until(network.next_delivery())  # the FIN, and the bytes at the closed end
    assert server.recv(100) == b""
    deliver_everything(network)  # the reset those bytes caused
    with pytest.raises(ConnectionResetError):
        server.send(b"again")
    assert events(network)[-2:] == ["deliver c1 b->a 10 bytes",
                                    "reset c1 a->b (bytes arrived after it closed)"]


def test_a_connection_is_refused_where_nothing_listens_or_when_the_seed_says_so():
    network = SimulatedNetwork(0)
    client = network.socket()
    assert client.connect_ex(SERVER) == errno.EINPROGRESS
    deliver_everything(network)
    assert client.readiness() == READ | WRITE
    assert client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNREFUSED
    assert client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    assert events(network)[-1] == "refuse c1 (nothing listens on 127.0.0.1:7000)"

    network = SimulatedNetwork(0, faults=Faults(refuse_probability=1.0))
    listener = network.socket()
    listener.bind(SERVER)
    listener.listen(8)
    client = network.socket()
    client.connect_ex(SERVER)
    deliver_everything(network)
    assert client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNREFUSED
    assert events(network)[-1] == "refuse c1 (fault)"


def test_descriptors_are_high_numbers_freed_by_close_and_given_again():
    network = SimulatedNetwork(0)
    listener, client, server = connected_pair(network)
    assert [listener.fileno(), client.fileno(), server.fileno()] == [
        FIRST_FD, FIRST_FD + 1, FIRST_FD + 2]
    client.close()
    assert client.fileno() == -1
    with pytest.raises(OSError) as closed:
        client.recv(1)
    assert closed.value.errno == errno.EBADF
    assert network.socket().fileno() == FIRST_FD + 1  # the lowest free number
    for sock in network.open_sockets():
        sock.close()
    assert network.open_sockets() == []


# -- time, and the multiplexer -------------------------------------------------------------

def test_the_clock_has_no_advance_so_the_kernel_never_jumps_it_itself():
    assert not hasattr(SimulatedNetwork(0).clock, "advance")


def test_the_poll_moves_time_to_the_next_delivery_and_not_when_something_is_ready():
    network = SimulatedNetwork(0, faults=Faults(latency=(0.3, 0.3)))
    _, client, server = connected_pair(network)
    with network.multiplexer() as multiplexer:
        multiplexer.register(client.fileno(), READ)
        server.send(b"x")
        assert multiplexer.poll(0.1) == [] and network.clock.now() == pytest.approx(0.4)
        assert multiplexer.poll(10) == [(client.fileno(), READ)]
        assert network.clock.now() == pytest.approx(0.6)
        assert multiplexer.poll(10) == [(client.fileno(), READ)]  # unread: still ready
        assert network.clock.now() == pytest.approx(0.6)


def test_a_poll_that_could_wait_for_ever_for_nothing_says_what_is_stuck():
    network = SimulatedNetwork(7)
    _, client, _ = connected_pair(network)
    with network.multiplexer() as multiplexer:
        multiplexer.register(client.fileno(), READ)
        with pytest.raises(SimulationStuck) as stuck:
            multiplexer.poll(None)
    message = str(stuck.value)
    assert "nothing can happen" in message and "seed 7" in message
    assert f"<SimSocket fd={client.fileno()} c1 a connected>: 0 bytes to read" in message
    assert "the kernel waits for READ" in message


def test_a_kernel_run_that_could_never_end_is_reported_stuck_not_hung():
    network = SimulatedNetwork(0)

    def client_with_no_timeout():  # on a server that accepts nobody, and sends nothing
        sock = yield from kernel_sockets.open_connection(HOST, 7000)
        with sock:
            yield from sock.recv(100)

    with network.installed(), Kernel(network.multiplexer(), clock=network.clock,
                                     handle_signals=False) as kernel:
        with kernel_sockets.listen(HOST, 7000):
            with pytest.raises(SimulationStuck) as stuck:
                kernel.run(client_with_no_timeout())
    assert "<SimSocket fd=100001 c1 a connected>: 0 bytes to read" in str(stuck.value)
    assert "the kernel waits for READ" in str(stuck.value)


def test_no_run_passes_its_bound_of_simulated_time():
    network = SimulatedNetwork(0, max_time=60)

    def oversleeper():
        yield from sleep(3600)

    with Kernel(network.multiplexer(), clock=network.clock, handle_signals=False) as kernel:
        with pytest.raises(SimulationStuck, match="bound of 60s"):
            kernel.run(oversleeper())


def test_installing_replaces_one_module_global_and_puts_it_back():
    network = SimulatedNetwork(0)
    with network.installed():
        assert kernel_sockets.socket.SO_ERROR == socket.SO_ERROR
        listener = kernel_sockets.listen(HOST, 7000)
        assert listener.raw is network.open_sockets()[0]
        listener.close()
        with pytest.raises(ValueError, match="one host, 127.0.0.1"):
            kernel_sockets.socket.getaddrinfo("localhost", 7000)
        with pytest.raises(AttributeError, match="no socket.create_connection"):
            kernel_sockets.socket.create_connection
        with pytest.raises(RuntimeError, match="installed already"):
            with network.installed():
                pass
    assert kernel_sockets.socket is socket


# -- the book's server and client, on the simulated network ---------------------------------

def simulate(seed, **options):
    return simulate_poetry(seed, kernel_server.serve, kernel_client.get_poetry, **options)


def test_on_a_perfect_network_every_client_gets_the_whole_poem():
    result = simulate(0, clients=5, faults=Faults.none())
    assert [outcome.poem for outcome in result.outcomes] == [POEM] * 5
    assert [outcome.connections for outcome in result.outcomes] == [
        (f"c{n}",) for n in range(1, 6)]
    assert result.clean, result
    assert result.log[0] == "0.000 listen 127.0.0.1:7000"
    assert result.log[-1].endswith("close listener 127.0.0.1:7000")


#: For each error a client may fail with, the log line that shows its fault.
FAULT_OF = {ConnectionResetError: r"reset {} \S+ \(fault\)",
            ConnectionRefusedError: r"refuse {} \(fault\)",
            TimeoutError: r"stall {} b->a"}


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_every_client_gets_the_poem_or_fails_with_the_fault_that_hit_its_connection(seed):
    result = simulate(seed, faults=FAULT_LEVELS["many"], max_time=120.0)
    log = "\n".join(line.split(" ", 1)[1] for line in result.log)
    for outcome in result.outcomes:
        (connection,) = outcome.connections
        hit = {kind for kind, pattern in FAULT_OF.items()
               if re.search(pattern.format(connection), log)}
        if outcome.error is None:
            assert outcome.poem == POEM, f"seed {seed}: {outcome} is not the poem"
        else:
            assert type(outcome.error) in FAULT_OF, f"seed {seed}: {outcome}"
            assert type(outcome.error) in hit, f"seed {seed}: {outcome}, but {connection} " \
                                               f"had no such fault"
        if not hit:
            assert outcome.poem == POEM, f"seed {seed}: {outcome} with no fault on its way"
    assert result.elapsed <= 120.0
    assert result.clean, f"seed {seed}: {result}"


def test_the_same_seed_replays_the_same_run_and_another_seed_another():
    many = FAULT_LEVELS["many"]
    first, again = simulate(4, faults=many), simulate(4, faults=many)
    assert first.log == again.log
    assert list(map(str, first.outcomes)) == list(map(str, again.outcomes))
    assert [o.poem for o in first.outcomes] == [o.poem for o in again.outcomes]
    assert first.elapsed == again.elapsed
    assert simulate(5, faults=many).log != first.log


def test_the_replay_command_prints_the_log_of_the_run_in_process():
    expected = simulate(4, faults=FAULT_LEVELS["many"])
    replay = run_module("poetry_server.simulation", "--seed", 4, "--faults", "many")
    assert replay.returncode == 0, replay.stderr
    log, outcomes = replay.stdout.split("\n\n")
    assert log.splitlines() == list(expected.log)
    assert outcomes.splitlines() == [*map(str, expected.outcomes),
                                     f"Simulated time: {expected.elapsed:.3f}s; "
                                     f"nothing was left behind."]


def test_a_stall_past_the_servers_idle_timeout_hands_the_unframed_client_a_short_poem():
    # Chapter 12's weakness, found by the simulation: the server drops a client whose
    # connection stalled longer than its --idle-timeout by closing it, as it should, and
    # a client that takes the end of the connection for the end of the poem reports a
    # short poem as a whole one. Framing the poem (chapter 12) is what tells them apart.
    big = POEM * 300
    result = simulate_poetry(
        44, kernel_server.serve, kernel_client.get_poetry, poem=big, clients=2,
        num_bytes=100_000, delay=0.01, timeout=3.0, idle_timeout=0.2,
        faults=Faults(latency=(0.001, 0.05), max_chunk=8192, stall_probability=0.05,
                      stall=(0.3, 0.8)))
    short = [o for o in result.outcomes if o.error is None and o.poem != big]
    assert short, [str(o) for o in result.outcomes]
    for outcome in short:
        assert big.startswith(outcome.poem)  # a true beginning, cut off: no error said so
    assert result.clean
