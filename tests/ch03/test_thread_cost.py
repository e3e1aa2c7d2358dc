"""What threads cost: the measuring stage runs, prints its table, and cleans up after itself.

The numbers depend on the machine, so the tests check only that each one was measured
(it parses, and it is above zero), never how big it is.
"""

import re
import threading

import pytest

from coro import thread_cost
from coro.thread_cost import Costs
from tests.support import run_module

ROW_LABELS = ["memory in RAM (resident)", "address space reserved", "time to start",
              "time per switch"]
CELL = r"(-|[\d,]+\.\d\d (?:KiB|µs))"
ROW = re.compile(rf"^(?P<label>[A-Za-z ()]+?) +{CELL} +{CELL} +(-|[\d,]+×)$")


def number(cell):
    """The value of a cell such as ``8,196.00 KiB``; None for ``-``."""
    return None if cell == "-" else float(cell.split()[0].replace(",", ""))


def rows_of(output):
    """``{label: (thread cell, generator cell, ratio)}`` of the printed table."""
    header, *lines = output.splitlines()
    assert header.split() == ["what", "it", "costs", "here", "a", "thread", "a",
                              "generator", "ratio"]
    rows = {}
    for line in lines[:len(ROW_LABELS)]:
        found = ROW.match(line)
        assert found, line
        rows[found["label"]] = found.groups()[1:]
    return rows


def test_the_command_measures_every_cost_of_both():
    result = run_module("coro.thread_cost", "--threads", "50", "--switches", "200")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    rows = rows_of(result.stdout)
    assert list(rows) == ROW_LABELS
    for label in ("memory in RAM (resident)", "time to start", "time per switch"):
        thread, generator, ratio = rows[label]
        assert number(thread) > 0 and number(generator) > 0, label
        assert ratio.endswith("×"), label
    thread, generator, _ = rows["address space reserved"]
    assert generator == "-"  # a generator has no stack of its own
    assert number(thread) > 0  # /proc is there: the build machine and the tests are Linux
    assert "50 threads parked on an Event, 50 generators suspended at a yield;" in result.stdout
    assert "200 switches between two threads" in result.stdout
    assert "ulimit -s is" in result.stdout


def test_help_names_both_options():
    result = run_module("coro.thread_cost", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: python -m coro.thread_cost [-h] [--threads N] "
                                    "[--switches N]")


@pytest.mark.parametrize("args, message", [
    (["--threads", "0"], "--threads must be at least 1"),
    (["--switches", "1"], "--switches must be at least 2"),
    (["--threads", "many"], "argument --threads: invalid int value: 'many'"),
    (["--fast"], "unrecognized arguments: --fast"),
])
def test_a_bad_option_is_a_usage_error(args, message):
    result = run_module("coro.thread_cost", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == f"python -m coro.thread_cost: error: {message}"


def test_every_parked_thread_is_running_inside_the_block_and_joined_after_it():
    before = threading.active_count()
    with thread_cost.parked_threads() as start_one:
        for _ in range(5):
            start_one()
        assert threading.active_count() == before + 5
    assert threading.active_count() == before


def test_threads_that_cannot_start_are_reported_and_those_that_did_are_joined(monkeypatch):
    real_start = threading.Thread.start
    starts = []

    def start_three_then_refuse(thread):
        if len(starts) == 3:
            raise RuntimeError("can't start new thread")
        starts.append(thread)
        real_start(thread)

    before = threading.active_count()
    monkeypatch.setattr(threading.Thread, "start", start_three_then_refuse)
    with pytest.raises(RuntimeError, match=r"would not start thread 4: can't start new "
                                           r"thread; try --threads 1$"):
        thread_cost.thread_memory_kib(10)
    assert threading.active_count() == before
    assert not any(thread.is_alive() for thread in starts)


def test_the_command_says_when_threads_cannot_start(monkeypatch, capsys):
    def refuse(count, switches):
        raise RuntimeError("the system would not start thread 7: can't start new thread; "
                           "try --threads 3")

    monkeypatch.setattr(thread_cost, "measure_threads", refuse)
    assert thread_cost.main([]) == 1
    assert capsys.readouterr().err == (
        "python -m coro.thread_cost: the system would not start thread 7: can't start new "
        "thread; try --threads 3\n")


def test_ctrl_c_while_threads_start_joins_them_and_exits_130(monkeypatch, capsys):
    real_start = threading.Thread.start
    starts = []

    def interrupted_at_the_fourth(thread):
        if len(starts) == 3:
            raise KeyboardInterrupt
        starts.append(thread)
        real_start(thread)

    before = threading.active_count()
    monkeypatch.setattr(threading.Thread, "start", interrupted_at_the_fourth)
    assert thread_cost.main(["--threads", "10"]) == 130
    assert capsys.readouterr() == ("", "Interrupted.\n")
    assert threading.active_count() == before


def test_the_costs_of_a_generator_are_measured_without_a_stack():
    costs = thread_cost.measure_generators(100, 100)
    assert costs.resident_kib > 0 and costs.start_s > 0 and costs.switch_s > 0
    assert costs.reserved_kib is None


def test_the_thread_switch_is_timed_over_whole_round_trips():
    assert thread_cost.thread_switch_seconds(3) > 0  # one round trip: two switches


def test_without_proc_the_resident_size_is_the_peak_and_the_stack_is_not_measured(
        monkeypatch, tmp_path):
    monkeypatch.setattr(thread_cost, "STATM", tmp_path / "no-proc-here")
    assert thread_cost.resident_kib() > 0
    resident, reserved = thread_cost.thread_memory_kib(5)
    assert resident >= 0  # a peak grows only past its old height
    assert reserved is None
    text = thread_cost.render(Costs(1.0, None, 1e-4, 1e-5), Costs(0.5, None, 1e-6, 1e-7),
                              count=5, switches=10)
    assert "the growth of the peak resident size (getrusage: no /proc here)" in text


def test_the_table_puts_each_cost_beside_its_ratio():
    thread = Costs(resident_kib=16.0, reserved_kib=8196.0, start_s=100e-6, switch_s=20e-6)
    generator = Costs(resident_kib=0.25, reserved_kib=None, start_s=1e-6, switch_s=0.04e-6)
    lines = thread_cost.render(thread, generator, count=1000, switches=10001).splitlines()
    assert lines[:5] == [
        "what it costs here               a thread   a generator    ratio",
        "memory in RAM (resident)        16.00 KiB      0.25 KiB      64×",
        "address space reserved       8,196.00 KiB             -        -",
        "time to start                   100.00 µs       1.00 µs     100×",
        "time per switch                  20.00 µs       0.04 µs     500×",
    ]
    assert lines[6:8] == [
        "1000 threads parked on an Event, 1000 generators suspended at a yield;",
        "10000 switches between two threads, as many into and out of a generator.",
    ]
