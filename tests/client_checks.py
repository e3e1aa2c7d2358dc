"""Checks every client stage must pass, written once and run for each stage.

A chapter's test file names its stage in a subclass of one of the classes below::

    class TestBlockingClient(ClientChecks):
        stage = blocking_client
        module = "coro.blocking_client"

and pytest runs every ``test_`` method the class inherits as a test in that chapter's
file, so ``make test CH=n`` checks chapter n's client against the same rules as every
other client. These classes have no ``Test`` prefix, so pytest never collects them on
their own. Each check is a ``check_`` function further down, which a chapter may also
call with options of its own.
"""

import functools
import signal
import socket
import subprocess
import sys
import threading
import types

import pytest

from coro import cli
from coro.io import multiplexer
from coro.trace import Event, Trace
from poetry_server import spawn
from tests.startup_checks import signal_mid_run
from tests.support import (
    FINISHING_ORDER, IPV6_LOOPBACK, LOOPBACK, SUMMARY_LINE, TASK_LINE, ScriptedServer,
    assert_one_line_usage_error, catalogue_bytes, descriptors_past_fd_setsize, events,
    needs_ipv6, refused_address, reset, run_module, run_module_many,
)


def bound(stage, **options):
    """``stage`` as the in-process checks run it, its ``download_all`` given ``options``."""
    return types.SimpleNamespace(download_all=functools.partial(stage.download_all, **options))


class ClientChecks:
    """What every client stage passes, the blocking one included.

    Attributes:
        stage: The stage module; the in-process checks run its ``download_all``.
        module: Its name, which the command-line checks run with ``python -m``.
        options: The command-line options every run of it needs.
        connections: How many connections it holds open at once, so how many a Ctrl-C
            finds open.
        finishing_order: Whether it prints the tasks' lines as they finish, whatever
            the order of the command line, under a header that says each time is the
            task's own.
    """

    stage = None
    module = None
    options = ()
    connections = 3
    finishing_order = False

    @pytest.fixture
    def client(self):
        """What the in-process checks run: the stage itself, unless a subclass binds
        options to it (one backend at a time, a transform server)."""
        return self.stage

    @pytest.fixture
    def command_line(self):
        """The options of the command-line checks that download poems."""
        return self.options

    def test_downloads_every_poem(self, client, capsys):
        check_downloads_every_poem(client, capsys)

    def test_non_ascii_poems_with_one_byte_chunks(self, client, capsys):
        check_non_ascii_poems_with_one_byte_chunks(client, capsys)

    def test_a_server_that_resets_mid_poem(self, client, capsys):
        check_a_server_that_resets_mid_poem(client, capsys)

    def test_a_server_that_never_sends_times_out(self, client, capsys):
        check_a_server_that_never_sends_times_out(client, capsys)

    def test_a_clean_close_mid_poem_cannot_be_told_from_the_end(self, client, capsys):
        check_a_clean_close_mid_poem_cannot_be_told_from_the_end(client, capsys)

    def test_command_line_output_and_save(self, command_line, tmp_path):
        check_command_line_output(self.module, tmp_path, options=command_line,
                                  finishing_order=self.finishing_order)

    def test_one_refused_server_fails_only_its_task(self, command_line):
        check_one_refused_server_fails_only_its_task(self.module, options=command_line)

    def test_ctrl_c_closes_everything_and_exits_cleanly(self, command_line):
        check_ctrl_c_closes_everything_and_exits_cleanly(self.module, self.connections,
                                                         options=command_line)

    def test_ctrl_c_reports_what_finished_and_what_was_cut_short(self, command_line):
        check_ctrl_c_reports_what_finished_and_what_was_cut_short(
            self.module, options=command_line, finishing_order=self.finishing_order)

    @needs_ipv6
    def test_downloads_over_ipv6(self, client, capsys):
        check_downloads_over_ipv6(client, capsys)

    @needs_ipv6
    def test_command_line_over_ipv6(self, command_line, tmp_path):
        check_command_line_over_ipv6(self.module, tmp_path, options=command_line)

    def test_usage_errors(self, tmp_path):
        # Refused before any download starts, so once with the options every run needs.
        check_usage_errors(self.module, tmp_path, options=self.options)


class ConcurrentClientChecks(ClientChecks):
    """What every stage that downloads the poems at the same time passes as well."""

    finishing_order = True

    def test_the_downloads_overlap(self, client, capsys):
        check_the_downloads_overlap(client, capsys)


class MultiplexerClientChecks(ConcurrentClientChecks):
    """What a stage with a ``--backend`` (select, poll or epoll) passes as well; the
    in-process checks run once per backend.

    Attributes:
        wake_up_sockets: How many sockets the stage opens before its first connection
            (a reactor's or a kernel's wake-up pair).
    """

    wake_up_sockets = 0

    @pytest.fixture(params=list(multiplexer.BACKENDS))
    def client(self, request):
        """The stage with its ``download_all`` bound to one backend."""
        return bound(self.stage, backend=request.param)

    def test_the_backend_option(self):
        with spawn("science", delay=0, num_bytes=100) as [address]:
            for backend in multiplexer.BACKENDS:
                result = run_module(self.module, "--backend", backend, address[1])
                assert result.returncode == 0, result.stderr
        result = run_module(self.module, "--backend", "kqueue", address[1])
        assert result.returncode == 2
        assert "argument --backend: invalid choice: 'kqueue'" in result.stderr

    def test_select_names_its_limit_when_a_socket_is_past_fd_setsize(self, capsys):
        with spawn("science", "tyger", delay=0, num_bytes=100) as addresses:
            # The stage's own wake-up sockets get low numbers, the connections high ones.
            with descriptors_past_fd_setsize(spare_low=self.wake_up_sockets):
                report, status, lines = run_in_process(self.stage, addresses, capsys,
                                                       backend="select")
        assert status == 1
        assert len(report.errors) == 2
        assert all("FD_SETSIZE (1024)" in line and "--backend epoll" in line
                   for line in lines if line.startswith("Task "))


# -- the checks --------------------------------------------------------------------------

def run_in_process(stage, addresses, capsys, **options):
    """Run ``stage.download_all`` through the shared command line code."""
    report, status = cli.run(stage.download_all, addresses, **options)
    return report, status, capsys.readouterr().out.splitlines()


def check_downloads_every_poem(stage, capsys, names=("ecstasy", "tyger", "sera")):
    with spawn(*names, delay=0, num_bytes=64) as addresses:
        report, status, lines = run_in_process(stage, addresses, capsys)
    assert status == 0
    assert [report.poems[n + 1] for n in range(len(names))] == [
        catalogue_bytes(name) for name in names]
    assert SUMMARY_LINE.match(lines[-1]) and lines[-1].startswith(f"Got {len(names)} poems")


def _send_only_when_everyone_is_here(socks):
    for n, sock in enumerate(socks, start=1):
        sock.sendall(f"poem {n}\n".encode())
    for sock in socks:
        sock.close()


def check_the_downloads_overlap(stage, capsys):
    # The server accepts all three clients before it sends anything, so a client that
    # connected to one server only after finishing with the previous one would get no
    # poem at all: every poem arriving proves the three connections overlapped. The
    # trace agrees: all three downloads started before any ended. (Not "all three
    # CONNECTED first": CONNECTED is when the client noticed, which may come after
    # another download has already read its poem.)
    with ScriptedServer(_send_only_when_everyone_is_here, clients=3) as server:
        report, status, _ = run_in_process(stage, [server.address] * 3, capsys)
    assert status == 0
    assert sorted(report.poems.values()) == [b"poem 1\n", b"poem 2\n", b"poem 3\n"]
    kinds = [event for _, event in events(report.trace, Event.START, Event.DONE)]
    assert kinds[:3] == [Event.START] * 3


def check_non_ascii_poems_with_one_byte_chunks(stage, capsys):
    # One byte per chunk splits every Chinese character across three chunks.
    with spawn("jingyesi", "lorelei", delay=0, num_bytes=1) as addresses:
        report, status, _ = run_in_process(stage, addresses, capsys)
    assert status == 0
    assert report.poems[1].decode() == catalogue_bytes("jingyesi").decode()
    assert report.poems[2].decode() == catalogue_bytes("lorelei").decode()


def check_command_line_output(module, tmp_path, options=(), *, finishing_order):
    names = ("science", "jingyesi")
    with spawn(*names, delay=0, num_bytes=3) as addresses:
        ports = [port for _, port in addresses]
        result = run_module(module, *options, "--save", tmp_path / "poems", *ports)
    assert result.returncode == 0, result.stderr
    *task_lines, summary = after_the_header(_without_cpu_line(result.stdout), finishing_order)
    found = sorted(TASK_LINE.match(line).groups() for line in task_lines)
    assert found == [(str(n + 1), str(len(catalogue_bytes(name))), "127.0.0.1", str(port))
                     for n, (name, port) in enumerate(zip(names, ports))]
    assert SUMMARY_LINE.match(summary) and summary.startswith("Got 2 poems")
    for n, name in enumerate(names, start=1):
        assert (tmp_path / "poems" / f"poem-{n}.txt").read_bytes() == catalogue_bytes(name)


def after_the_header(lines, finishing_order):
    """The output's ``lines`` after the header that a stage printing its tasks as they
    finish puts first, once; a stage that prints them in order has no header."""
    assert lines.count(FINISHING_ORDER) == finishing_order, lines
    assert not finishing_order or lines[0] == FINISHING_ORDER, lines
    return lines[finishing_order:]


def _without_cpu_line(stdout):
    """The output's lines, less the ``CPU time ...`` line some stages add at the end."""
    lines = stdout.splitlines()
    return lines[:-1] if lines and lines[-1].startswith("CPU time ") else lines


def check_one_refused_server_fails_only_its_task(module, options=()):
    with spawn("science", "tyger", delay=0, num_bytes=100) as [first, last], \
            refused_address() as refused:
        result = run_module(module, *options, first[1], refused[1], last[1])
    assert result.returncode == 1
    lines = _without_cpu_line(result.stdout)
    assert f"Task 2: failed: connection refused by 127.0.0.1:{refused[1]}" in lines
    assert sorted(TASK_LINE.match(line).group(1) for line in lines if TASK_LINE.match(line)) \
        == ["1", "3"]
    assert lines[-1].startswith("Got 2 poems in") and lines[-1].endswith("; 1 failed")
    assert "Traceback" not in result.stderr


def _send_then_close(socks):
    [sock] = socks
    sock.sendall(catalogue_bytes("raven")[:500])
    sock.shutdown(socket.SHUT_WR)


def _never_send(socks):
    [sock] = socks
    sock.recv(1)  # returns when the client gives up and closes


def check_a_server_that_resets_mid_poem(stage, capsys):
    with ScriptedServer(_send_then_reset) as bad, \
            spawn("science", delay=0, num_bytes=100) as [good]:
        report, status, lines = run_in_process(stage, [bad.address, good], capsys)
    assert status == 1
    [failed] = [line for line in lines if line.startswith("Task 1: ")]
    assert failed == f"Task 1: failed: connection reset by 127.0.0.1:{bad.address[1]}"
    assert report.poems[2] == catalogue_bytes("science")


def _send_then_reset(socks):
    [sock] = socks
    sock.sendall(catalogue_bytes("raven")[:500])
    reset(sock)


def check_a_server_that_never_sends_times_out(stage, capsys):
    with ScriptedServer(_never_send) as silent, \
            spawn("science", delay=0, num_bytes=100) as [good]:
        report, status, lines = run_in_process(stage, [silent.address, good], capsys,
                                               timeout=0.2)
    assert status == 1
    [failed] = [line for line in lines if line.startswith("Task 1: ")]
    assert failed == (f"Task 1: failed: timed out: 127.0.0.1:{silent.address[1]} sent nothing "
                      f"for 0.2s")
    assert report.poems[2] == catalogue_bytes("science")


def check_a_clean_close_mid_poem_cannot_be_told_from_the_end(stage, capsys):
    # End of connection is end of poem, so a server that closes early in good order
    # hands over a short poem that looks complete. Chapter 12 fixes the protocol.
    with ScriptedServer(_send_then_close) as early:
        report, status, _ = run_in_process(stage, [early.address], capsys)
    assert status == 0
    assert report.poems[1] == catalogue_bytes("raven")[:500]


def check_downloads_over_ipv6(stage, capsys):
    names = ("science", "jingyesi")
    with spawn(*names, iface=IPV6_LOOPBACK, delay=0, num_bytes=64) as addresses:
        report, status, lines = run_in_process(stage, addresses, capsys)
    assert status == 0
    assert report.poems == {n: catalogue_bytes(name) for n, name in enumerate(names, start=1)}
    found = sorted(TASK_LINE.match(line).groups() for line in lines if TASK_LINE.match(line))
    assert found == [(str(n), str(len(catalogue_bytes(name))), "[::1]", str(port))
                     for n, (name, (_, port)) in enumerate(zip(names, addresses), start=1)]


def check_command_line_over_ipv6(module, tmp_path, options=(), transformed=lambda poem: poem):
    """``[::1]:PORT`` on the command line: the poem comes over IPv6, byte for byte
    (``transformed`` as the stage hands it over), and its line names ``[::1]:PORT``."""
    with spawn("lorelei", iface=IPV6_LOOPBACK, delay=0, num_bytes=64) as [(_, port)]:
        result = run_module(module, *options, "--save", tmp_path, f"[::1]:{port}")
    assert result.returncode == 0, result.stderr
    [got] = [TASK_LINE.match(line).groups() for line in result.stdout.splitlines()
             if TASK_LINE.match(line)]
    assert got[2:] == ("[::1]", str(port))
    assert (tmp_path / "poem-1.txt").read_bytes() == transformed(catalogue_bytes("lorelei"))


def check_usage_errors(module, tmp_path, options=()):
    prog = f"python -m {module}"
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    cases = [
        ([], "the following arguments are required: [HOST:]PORT"),
        (["poems"], "not a port (1-65535) or HOST:PORT: 'poems'"),
        (["0"], "not a port"),
        (["localhost:70000"], "not a port"),
        (["[::1]:70000"], "not a port (1-65535) or HOST:PORT: '[::1]:70000'"),
        (["::1:10001"], "an IPv6 address goes in brackets: [::1]:10001, not '::1:10001'"),
        (["[::1"], "no ']' after the IPv6 address in '[::1'"),
        (["[::1]"], "no port after the IPv6 address in '[::1]'"),
        (["[::1]10001"], "no port after the IPv6 address in '[::1]10001'"),
        (["[localhost]:10001"], "not an IPv6 address in brackets: '[localhost]:10001'"),
        (["--timeout", "0", "10001"], "--timeout: must be a number of seconds > 0"),
        (["--timeout", "nan", "10001"], "--timeout: must be a number of seconds > 0"),
        (["--save", not_a_folder, "10001"], "cannot use"),
        (["--frobnicate", "10001"], "unrecognized arguments: --frobnicate"),
    ]
    results = run_module_many(module, [[*options, *args] for args, _ in cases])
    for (args, message), result in zip(cases, results):
        assert_one_line_usage_error(result, prog)
        assert message in result.stderr, (args, result.stderr)


def _ctrl_c_as_in_a_terminal():
    # A shell running this test suite in the background may have left SIGINT ignored,
    # and a child inherits that. A reader's client in a terminal has the default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def check_ctrl_c_closes_everything_and_exits_cleanly(module, connections, options=()):
    # The server accepts ``connections`` clients, then waits for each to close. Once it
    # has accepted, the client is connected and blocked waiting: interrupt it there.
    accepted = threading.Event()

    def wait_for_the_client_to_close(socks):
        accepted.set()
        for sock in socks:
            assert sock.recv(1) == b""  # the client closed its end

    with ScriptedServer(wait_for_the_client_to_close, clients=connections) as server:
        client = subprocess.Popen(
            [sys.executable, "-m", module, *options, *[str(server.address[1])] * connections],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=_ctrl_c_as_in_a_terminal)
        with client:
            assert accepted.wait(timeout=10)
            client.send_signal(signal.SIGINT)
            out, err = client.communicate(timeout=10)
    assert client.returncode == 130
    assert err == "Interrupted.\n", err
    assert server.errors == []
    port = server.address[1]
    assert out.splitlines()[-connections:] == [
        f"Task {task}: cut short after 0 bytes of poetry from 127.0.0.1:{port}"
        for task in range(1, connections + 1)], out


def _a_short_poem(socks):
    [sock] = socks
    sock.sendall(b"a short poem\n")
    sock.close()


def _part_of_the_raven_then_wait_for_the_close(socks):
    [sock] = socks
    sock.sendall(catalogue_bytes("raven")[:1200])
    assert sock.recv(1) == b""  # the client closed its end


def check_ctrl_c_reports_what_finished_and_what_was_cut_short(module, options=(), *,
                                                              finishing_order):
    # Task 1 gets a whole poem; task 2 gets 1200 bytes of the Raven, then nothing; task 3
    # is connected to a listener that never accepts, so gets nothing (the blocking client
    # never even starts it). The signal comes once task 1's line is out and task 2 has
    # its 1200 bytes, at a point the client itself says it has reached.
    with ScriptedServer(_a_short_poem) as whole, \
            ScriptedServer(_part_of_the_raven_then_wait_for_the_close) as part, \
            socket.create_server((LOOPBACK, 0)) as never_served:
        ports = [whole.address[1], part.address[1], never_served.getsockname()[1]]
        out, status, err = signal_mid_run(signal.SIGINT, module, *options, "--timeline",
                                          *ports, bytes_of_task_2=1200)
    assert (status, err) == (130, "Interrupted.\n"), out
    assert whole.errors == [] and part.errors == []
    lines = after_the_header(out.splitlines(), finishing_order)
    assert TASK_LINE.match(lines[0]).groups() == ("1", "13", LOOPBACK, str(ports[0]))
    assert lines[1:3] == [
        f"Task 2: cut short after 1200 bytes of poetry from 127.0.0.1:{ports[1]}",
        f"Task 3: cut short after 0 bytes of poetry from 127.0.0.1:{ports[2]}"], out
    # Then the timeline of the run up to the signal: every task has its row, and each
    # task cut short ends with a "!" at the moment of the signal, the timeline's end
    # (where it may cover task 2's last bytes, when they came in that last column).
    timeline = lines[3:]
    rows = {row.split("|")[0].split()[1]: row.split("|")[1] for row in timeline[1:-1]}
    assert sorted(rows) == ["1", "2", "3"], timeline
    assert "#" in rows["1"] and "!" not in rows["1"]
    assert rows["2"].endswith("!") and rows["2"].count("!") == 1
    assert "#" not in rows["3"] and rows["3"].endswith("!")
    assert timeline[-1].endswith("   ! cut short")


def check_a_run_whose_done_raises_is_reported_and_still_ends(stage, capsys):
    check_a_run_whose_done_raises_still_ends(stage)
    assert "RuntimeError: done failed for task 1" in capsys.readouterr().err


def check_a_run_whose_done_raises_still_ends(stage):
    """Run two downloads whose ``done`` raises for task 1: both must still end. How the
    error is reported is the caller's to check."""
    # If done raises, the count of tasks left must still go down, or the reactor
    # would run for ever.
    ended = []

    def done(task, **outcome):
        ended.append(task)
        if task == 1:
            raise RuntimeError("done failed for task 1")

    with spawn("tyger", "science", delay=0, num_bytes=100) as addresses:
        run = threading.Thread(target=stage.download_all, args=(addresses,),
                               kwargs={"timeout": 10, "trace": Trace(), "done": done})
        run.start()
        run.join(timeout=20)  # a watchdog against a hang, never a way to wait
        assert not run.is_alive(), "download_all never returned"
    assert sorted(ended) == [1, 2]
