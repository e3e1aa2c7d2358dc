"""Every client from chapter 13 on has ``--deadline``: against a server that trickles a
byte at a time and never closes, whose silence timeout never comes, the whole run still
ends when the deadline passes. The unfinished task fails and says why, the finished ones
keep their poems, and the exit status is 1.

The three stages share the option, and so its meaning and its words, through
:mod:`coro.cli`.
"""


import pytest

from poetry_server import spawn
from tests.support import (
    FAILED_LINE, TASK_LINE, ScriptedServer, assert_one_line_usage_error, catalogue_bytes,
    refused_address, run_module,
)

STAGES = {
    "gather": ("coro.gather_client", ()),
    "inline": ("coro.inline_client", ("--transform-server", "{refused}")),
    "inline --async": ("coro.inline_client", ("--transform-server", "{refused}", "--async")),
    "kernel": ("coro.kernel_client", ()),
}


def command(stage, refused_port):
    module, options = STAGES[stage]
    return module, [option.format(refused=refused_port) for option in options]


class Trickle:
    """A server's behaviour: a byte every 50 ms, never closing, until the client closes.

    After 400 bytes (20 seconds) it gives up and closes, so that a client that never
    stops ends all the same, with a poem that fails the test instead of hanging it.
    """

    def __init__(self):
        self.client_closed = False

    def __call__(self, socks):
        [sock] = socks
        sock.settimeout(0.05)  # the pace of the trickle
        for _ in range(400):
            try:
                sock.sendall(b".")
                if sock.recv(1) == b"":
                    self.client_closed = True
                    return
            except TimeoutError:
                continue  # the client is still there: the next byte
            except (ConnectionResetError, BrokenPipeError):  # closed with bytes unread
                self.client_closed = True
                return


@pytest.mark.parametrize("stage", list(STAGES))
def test_the_deadline_ends_a_run_that_a_trickling_server_would_keep_going(stage, tmp_path):
    trickle = Trickle()
    with ScriptedServer(trickle) as trickler, refused_address() as (_, refused), \
            spawn("science", delay=0, num_bytes=100) as [(_, good)]:
        module, options = command(stage, refused)
        result = run_module(module, *options, "--deadline", "1", "--save", tmp_path,
                            trickler.address[1], good)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    failed = [FAILED_LINE.match(line).groups() for line in lines if FAILED_LINE.match(line)]
    assert failed == [("1", f"cancelled: the run's deadline of 1s passed "
                            f"(127.0.0.1:{trickler.address[1]})")]
    [got] = [TASK_LINE.match(line).groups() for line in lines if TASK_LINE.match(line)]
    assert got[:2] == ("2", str(len(catalogue_bytes("science"))))
    assert lines[-1].startswith("Got 1 poem in") and lines[-1].endswith("; 1 failed")
    assert (tmp_path / "poem-2.txt").read_bytes() == catalogue_bytes("science")
    assert not (tmp_path / "poem-1.txt").exists()
    assert trickle.client_closed


@pytest.mark.parametrize("stage", list(STAGES))
def test_the_deadline_is_in_the_help_and_a_number_of_seconds(stage):
    module, options = command(stage, 1)
    assert "--deadline SECONDS" in run_module(module, "--help").stdout
    for bad in ("0", "soon"):
        result = run_module(module, *options, "--deadline", bad, "10001")
        assert_one_line_usage_error(result, f"python -m {module}")
        assert f"--deadline: must be a number of seconds > 0, not '{bad}'" in result.stderr
