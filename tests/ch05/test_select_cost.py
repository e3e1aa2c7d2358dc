"""The measurement stage: it runs, and it measures what it says it measures."""

from coro import select_cost
from tests.support import run_module


def test_every_backend_is_measured_at_every_size_asked_for():
    results = select_cost.table(max_idle=10, turns=2)
    assert set(results) == {"select", "poll", "epoll"}
    for per_size in results.values():
        assert sorted(per_size) == [1, 10]
        assert all(seconds > 0 for seconds in per_size.values())


def test_select_is_not_asked_past_fd_setsize():
    assert select_cost.room_for("select", 100)
    assert not select_cost.room_for("select", 1024)
    assert select_cost.room_for("epoll", 10)


def test_the_command_prints_a_table():
    result = run_module("coro.select_cost", "--max", "10", "--turns", "2")
    assert result.returncode == 0, result.stderr
    header, *rows, note = result.stdout.splitlines()
    assert header.split() == ["idle", "descriptors", "select", "poll", "epoll"]
    assert [row.split()[0] for row in rows] == ["1", "10"]
    assert note.startswith("(microseconds per loop turn")
    bad = run_module("coro.select_cost", "--max", "0")
    assert bad.returncode == 2 and "--max and --turns must be at least 1" in bad.stderr
