"""Chapter 16b's exercises: a barrier on a wait queue; a download cut at its limit that
keeps what came."""

import pytest

from coro import cli
from coro.kernel.timeouts import move_on_after
from coro.kernel.traps import cancel, sleep, spawn
from exercises import ch16b_keep_what_came
from exercises.ch16b_barrier import Barrier
from poetry_server import spawn as spawn_servers
from tests.ch16b.tasks import join_all, spawn_all
from tests.client_checks import (bound, check_a_server_that_never_sends_times_out,
                                 check_a_server_that_resets_mid_poem,
                                 check_command_line_output,
                                 check_ctrl_c_closes_everything_and_exits_cleanly,
                                 check_ctrl_c_reports_what_finished_and_what_was_cut_short)
from tests.support import (FINISHING_ORDER, TASK_LINE, ScriptedServer,
                           assert_one_line_usage_error, catalogue_bytes, run_module)


# -- 1. A barrier on a wait queue ------------------------------------------------------

def comes_after(seconds, name, barrier, log, *, rounds=1):
    """A party: sleeps ``seconds``, then comes to the barrier, ``rounds`` times."""
    for _ in range(rounds):
        yield from sleep(seconds)
        log(name, "comes")
        log(name, "goes on", (yield from barrier.wait()))


def test_the_last_to_come_goes_on_at_once_and_the_others_in_the_order_they_came(kernel, log):
    barrier = Barrier(3)

    def main():
        parties = yield from spawn_all(comes_after(2, "a", barrier, log),
                                       comes_after(1, "b", barrier, log),
                                       comes_after(3, "c", barrier, log))
        yield from sleep(2.5)
        log("main", "waiting", len(barrier))
        yield from join_all(parties)
        log("main", "waiting", len(barrier))

    kernel.run(main())
    assert log.trace == [
        (1.0, "b", "comes"), (2.0, "a", "comes"), (2.5, "main", "waiting", 2),
        (3.0, "c", "comes"),
        (3.0, "c", "goes on", 2), (3.0, "b", "goes on", 0), (3.0, "a", "goes on", 1),
        (3.0, "main", "waiting", 0),
    ]


def test_the_barrier_is_ready_for_the_next_round_once_a_round_has_gone(kernel, log):
    # Two rounds: "a" comes first in the first, last in the second.
    barrier = Barrier(2)

    def main():
        yield from join_all((yield from spawn_all(
            comes_after(1, "a", barrier, log, rounds=2),
            comes_after(0.5, "b", barrier, log, rounds=2))))

    kernel.run(main())
    assert log.trace == [
        (0.5, "b", "comes"), (1.0, "a", "comes"),
        (1.0, "a", "goes on", 1), (1.0, "b", "goes on", 0),
        (1.5, "b", "comes"), (2.0, "a", "comes"),
        (2.0, "a", "goes on", 1), (2.0, "b", "goes on", 0),
    ]


def test_a_waiter_that_is_cancelled_leaves_the_count_as_if_it_never_came(kernel, log):
    # Were "a" still counted, "b" would complete the round at 3 and go on alone.
    barrier = Barrier(2)

    def main():
        a = yield from spawn(comes_after(1, "a", barrier, log))
        others = yield from spawn_all(comes_after(3, "b", barrier, log),
                                      comes_after(4, "c", barrier, log))
        yield from sleep(2)
        yield from cancel(a)
        log("main", "cancelled a", a.cancelled, len(barrier))
        yield from join_all(others)

    kernel.run(main())
    assert log.trace == [
        (1.0, "a", "comes"), (2.0, "main", "cancelled a", True, 0),
        (3.0, "b", "comes"), (4.0, "c", "comes"),
        (4.0, "c", "goes on", 1), (4.0, "b", "goes on", 0),
    ]


def test_a_waiter_whose_scope_ends_leaves_the_count_as_if_it_never_came(kernel, log):
    barrier = Barrier(2)

    def impatient():
        with (yield from move_on_after(1)) as scope:
            yield from barrier.wait()
        log("impatient", "moved on", scope.cancelled_caught, len(barrier))

    def main():
        yield from join_all((yield from spawn_all(impatient(),
                                                  comes_after(2, "b", barrier, log),
                                                  comes_after(3, "c", barrier, log))))

    kernel.run(main())
    assert log.trace == [
        (1.0, "impatient", "moved on", True, 0),
        (2.0, "b", "comes"), (3.0, "c", "comes"),
        (3.0, "c", "goes on", 1), (3.0, "b", "goes on", 0),
    ]


def test_async_def_tasks_await_the_barrier(kernel, log):
    barrier = Barrier(2)

    async def party(name, seconds):
        await sleep(seconds)
        log(name, "goes on", await barrier.wait())

    def main():
        yield from join_all((yield from spawn_all(party("a", 1), party("b", 2))))

    kernel.run(main())
    assert log.trace == [(2.0, "b", "goes on", 1), (2.0, "a", "goes on", 0)]


def test_a_barrier_of_one_never_waits_and_of_none_is_refused(kernel):
    def main():
        alone = Barrier(1)
        first = yield from alone.wait()
        return first, (yield from alone.wait())

    assert kernel.run(main()) == (0, 0)
    with pytest.raises(ValueError, match="1 task or more, not 0"):
        Barrier(0)


def test_the_barrier_demonstration():
    # The quitter (runner 4) leaves at 0.8s: had it stayed in the count, runner 3's
    # coming at 1.0s would have been the round's third, and runner 2 left behind.
    result = run_module("exercises.ch16b_barrier")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        " 0.0s  runner 4 waits at the line",
        " 0.5s  runner 1 waits at the line",
        " 0.8s  runner 4 gives up",
        " 1.0s  runner 3 waits at the line",
        " 2.0s  runner 2 waits at the line",
        " 2.0s  runner 2 sets off on lap 1",
        " 2.0s  runner 1 sets off on lap 1",
        " 2.0s  runner 3 sets off on lap 1",
        " 3.0s  runner 2 waits at the line",
        " 4.0s  runner 3 waits at the line",
        " 5.0s  runner 1 waits at the line",
        " 5.0s  runner 1 sets off on lap 2",
        " 5.0s  runner 2 sets off on lap 2",
        " 5.0s  runner 3 sets off on lap 2",
    ]


# -- 2. A download that keeps what came ------------------------------------------------

def cut_line(task, limit):
    return f"Task {task}: cut at its limit of {limit:g}s; keeping the bytes that came"


def send_then_wait_for_the_close(closed):
    """A scripted server's behaviour: send the Raven's first 500 bytes, then nothing,
    and note what the client's close brought (b"" for a clean close)."""
    def behaviour(socks):
        [sock] = socks
        sock.sendall(catalogue_bytes("raven")[:500])
        closed.append(sock.recv(1))
    return behaviour


def test_a_download_cut_at_its_limit_keeps_the_bytes_that_came(capsys):
    closed = []
    with ScriptedServer(send_then_wait_for_the_close(closed)) as stalled:
        report, status = cli.run(ch16b_keep_what_came.download_all, [stalled.address],
                                 timeout=30, limit=0.3)
    assert status == 0
    poem = report.poems[1]
    assert poem == catalogue_bytes("raven")[:len(poem)]  # what came, up to 500 bytes
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == cut_line(1, 0.3)
    assert TASK_LINE.match(lines[1]).group(1, 2) == ("1", str(len(poem)))
    assert lines[2].startswith("Got 1 poem in")
    assert closed == [b""]  # the block's end closed the socket
    assert stalled.errors == []


def test_a_download_cut_before_any_bytes_came_fails_and_says_so(capsys):
    closed = []

    def send_nothing(socks):
        closed.append(socks[0].recv(1))  # what the client's close brings

    with ScriptedServer(send_nothing) as silent:
        report, status = cli.run(ch16b_keep_what_came.download_all, [silent.address],
                                 timeout=30, limit=0.2)
    assert status == 1
    assert report.poems == {}
    host, port = silent.address
    assert capsys.readouterr().out.splitlines()[0] == (
        f"Task 1: failed: cut at its limit of 0.2s before any bytes came ({host}:{port})")
    assert closed == [b""]


def test_a_slow_server_s_poem_is_cut_and_saved_as_far_as_it_came(tmp_path):
    # At 10 bytes every 0.05s the Rime's 20330 bytes take over 100s: 0.3s cannot hold them.
    with spawn_servers("mariner", delay=0.05, num_bytes=10) as [slow]:
        result = run_module("exercises.ch16b_keep_what_came", "--limit", "0.3",
                            "--save", tmp_path, slow[1])
    assert (result.returncode, result.stderr) == (0, "")
    saved = (tmp_path / "poem-1.txt").read_bytes()
    assert len(saved) < len(catalogue_bytes("mariner"))
    assert saved == catalogue_bytes("mariner")[:len(saved)]
    header, cut, got, summary = result.stdout.splitlines()
    assert (header, cut) == (FINISHING_ORDER, cut_line(1, 0.3))
    assert TASK_LINE.match(got).group(1, 2) == ("1", str(len(saved)))
    assert summary.startswith("Got 1 poem in")


def test_poems_that_come_within_the_limit_are_whole(tmp_path):
    check_command_line_output("exercises.ch16b_keep_what_came", tmp_path,
                              options=("--limit", "60"), finishing_order=True)


def test_a_server_that_goes_quiet_still_times_out_and_a_reset_still_fails(capsys):
    check_a_server_that_never_sends_times_out(bound(ch16b_keep_what_came, limit=60), capsys)
    check_a_server_that_resets_mid_poem(bound(ch16b_keep_what_came, limit=60), capsys)


def test_the_limit_must_be_a_number_of_seconds():
    result = run_module("exercises.ch16b_keep_what_came", "--limit", "0", "10001")
    assert_one_line_usage_error(result, "python -m exercises.ch16b_keep_what_came")
    assert "--limit: must be a number of seconds > 0, not '0'" in result.stderr


def test_ctrl_c_closes_every_download_of_the_keeping_client():
    check_ctrl_c_closes_everything_and_exits_cleanly("exercises.ch16b_keep_what_came", 3,
                                                     options=("--limit", "60"))


def test_ctrl_c_says_what_each_download_of_the_keeping_client_had():
    check_ctrl_c_reports_what_finished_and_what_was_cut_short(
        "exercises.ch16b_keep_what_came", options=("--limit", "60"), finishing_order=True)

