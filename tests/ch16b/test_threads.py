"""run_in_thread with real threads: a blocking call goes to a worker, and the task waits.

The result comes back as the value of the wait and an error is raised there; the other
tasks run meanwhile; at most ``max_threads`` calls run at once and the next ones start
in the order they were asked for; a wait that is cancelled, or whose deadline passes,
abandons its call without leaving the pool blocked; neither Ctrl-C nor
``Kernel.close()`` waits for a call that never returns, and what an abandoned call
raises is reported, never lost and never raised anywhere.

The threads are ordered with :class:`threading.Event`, :class:`queue.Queue` and the
kernel's own waits, never with a sleep, and no duration is asserted: ``GUARD`` is only
a watchdog that turns a hang into a failure. The kernel runs in a thread of its own
(:class:`Run`), so that this test's thread can stand outside it and open the gates the
calls block on, one at a time, each at a known point of the story.
"""

import gc
import os
import queue
import select
import signal
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import pytest

from coro.kernel.loop import Kernel
from coro.kernel.timeouts import move_on_after, timeout_after
from coro.kernel.traps import cancel, join, run_in_thread, sleep, spawn

#: Seconds before a wait that should end at once is called a hang. Never a timing.
GUARD = 30.0

ROOT = Path(__file__).resolve().parents[2]


# -- the scaffolding ------------------------------------------------------------------


class Gates:
    """The threading.Events that calls block on. After the test every one is opened, so
    that no worker is left blocked whatever happened."""

    def __init__(self):
        self._made = []

    def new(self):
        gate = threading.Event()
        self._made.append(gate)
        return gate

    def open_all(self):
        for gate in self._made:
            gate.set()


def wait_for(gate):
    """Block the calling worker until ``gate`` opens (GUARD seconds at most: a watchdog)."""
    assert gate.wait(GUARD), "the gate never opened"


class Run:
    """``kernel.run(main)`` in a thread of its own; :meth:`result` waits for its end."""

    def __init__(self, kernel, main):
        self._outcome = []
        self._thread = threading.Thread(target=self._run, args=(kernel, main),
                                        name="test-kernel-run", daemon=True)
        self._thread.start()

    def _run(self, kernel, main):
        try:
            self._outcome.append((True, kernel.run(main)))
        except BaseException as error:
            self._outcome.append((False, error))

    def result(self):
        self._thread.join(GUARD)
        assert not self._thread.is_alive(), f"kernel.run() still runs after {GUARD}s"
        [(ok, value)] = self._outcome
        if not ok:
            raise value
        return value


def run(kernel, main):
    return Run(kernel, main).result()


@pytest.fixture
def gates():
    made = Gates()
    yield made
    made.open_all()


@pytest.fixture
def thread_crashes(monkeypatch):
    """What escaped a thread's target (threading.excepthook); a test that has any fails."""
    crashes = []
    monkeypatch.setattr(threading, "excepthook",
                        lambda args: crashes.append((args.thread.name, args.exc_value)))
    yield crashes
    assert not crashes, f"an exception escaped a thread: {crashes}"


def kernel_workers():
    """The kernels' worker threads alive now (any kernel's)."""
    return {thread for thread in threading.enumerate()
            if thread.name.startswith("coro-kernel-worker")}


@pytest.fixture
def make_kernel(errors, gates, thread_crashes):
    """Kernels on the real clock whose reported errors are checked. After the test the
    gates open, the kernels close, and every worker made during the test must end."""
    kernels, before = [], kernel_workers()

    def make(max_threads):
        kernel = Kernel(handle_signals=False, report_error=errors.report,
                        max_threads=max_threads)
        kernels.append(kernel)
        return kernel

    yield make
    gates.open_all()
    for thread in threading.enumerate():  # a run a failed test left behind ends first
        if thread.name == "test-kernel-run":
            thread.join(GUARD)
    for kernel in kernels:
        kernel.close()
    for worker in kernel_workers() - before:
        worker.join(GUARD)
        assert not worker.is_alive(), f"{worker.name} still runs after its kernel closed"


def waiter(fn, *args):
    """A task that waits for ``fn(*args)`` in a thread."""
    return (yield from run_in_thread(fn, *args))


# -- 1. the answer, and the others meanwhile -------------------------------------------


def test_the_result_comes_back_as_the_value_of_the_wait(make_kernel):
    kernel = make_kernel(max_threads=2)

    def add(a, b):
        return a + b, threading.current_thread()

    def main():
        return (yield from run_in_thread(add, 2, 3))

    total, thread = run(kernel, main())
    assert total == 5
    assert thread.name.startswith("coro-kernel-worker") and thread.daemon


def test_an_exception_raised_by_the_call_is_raised_at_the_wait(make_kernel):
    kernel = make_kernel(max_threads=1)
    raised = []

    def read_a_bad_disk(path):
        error = OSError(f"Input/output error: {path}")
        raised.append(error)
        raise error

    def main():
        try:
            yield from run_in_thread(read_a_bad_disk, "tyger.txt")
        except OSError as error:
            caught = error
        # the worker survived it: the next call runs
        return caught, (yield from run_in_thread(str.upper, "tyger"))

    caught, after = run(kernel, main())
    assert caught is raised[0]
    assert type(caught) is OSError and str(caught) == "Input/output error: tyger.txt"
    assert after == "TYGER"


def test_other_tasks_run_while_a_call_blocks(make_kernel, gates):
    kernel = make_kernel(max_threads=1)
    gate = gates.new()
    trace = []

    def blocking_read():
        wait_for(gate)  # opened only by the ticker, a task of the kernel
        trace.append("thread: the gate opened, the read returns")
        return "poem"

    def ticker():
        for n in range(3):
            trace.append(f"ticker: tick {n}")
            yield from sleep(0)
        trace.append("ticker: opens the gate")
        gate.set()

    def main():
        yield from spawn(ticker())
        trace.append("main: waits for the thread")
        poem = yield from run_in_thread(blocking_read)
        trace.append(f"main: got {poem!r}")

    run(kernel, main())
    assert trace == [
        "main: waits for the thread",
        "ticker: tick 0",
        "ticker: tick 1",
        "ticker: tick 2",
        "ticker: opens the gate",
        "thread: the gate opened, the read returns",
        "main: got 'poem'",
    ]


# -- 2. a bounded pool, served in order ---------------------------------------------------


def test_at_most_max_threads_calls_run_at_once_and_the_rest_start_in_order(
        make_kernel, gates):
    before = kernel_workers()
    kernel = make_kernel(max_threads=2)
    names = "abcd"
    gate = {name: gates.new() for name in names}
    arrivals = queue.Queue()
    lock = threading.Lock()
    running, entries, ran_on = set(), [], {}

    def call(name):
        with lock:
            running.add(name)
            entries.append((name, sorted(running)))  # who runs, as this one starts
            ran_on[name] = threading.current_thread()
        arrivals.put(name)
        wait_for(gate[name])
        with lock:
            running.discard(name)
        return name.upper()

    def main():
        tasks = []
        for name in names:  # they ask in this order, each in its first step
            tasks.append((yield from spawn(waiter(call, name))))
        results = []
        for task in tasks:
            results.append((yield from join(task)))
        return results

    kernel_run = Run(kernel, main())
    assert {arrivals.get(timeout=GUARD), arrivals.get(timeout=GUARD)} == {"a", "b"}
    gate["b"].set()  # b returns: c is next in line, not d
    assert arrivals.get(timeout=GUARD) == "c"
    gate["a"].set()
    assert arrivals.get(timeout=GUARD) == "d"
    gate["c"].set()
    gate["d"].set()
    assert kernel_run.result() == ["A", "B", "C", "D"]

    assert {name for name, _ in entries[:2]} == {"a", "b"}
    assert entries[1][1] == ["a", "b"]
    assert entries[2:] == [("c", ["a", "c"]), ("d", ["c", "d"])]
    # two threads were made, and each next call ran on the thread just freed
    assert ran_on["a"] is not ran_on["b"]
    assert ran_on["c"] is ran_on["b"] and ran_on["d"] is ran_on["a"]
    assert kernel_workers() - before == {ran_on["a"], ran_on["b"]}


# -- 3. a cancelled wait -----------------------------------------------------------------


def test_a_cancelled_wait_never_runs_or_holds_up_the_pool(make_kernel, gates):
    kernel = make_kernel(max_threads=1)
    gate_a, gate_d = gates.new(), gates.new()
    a_started, c_answered = threading.Event(), threading.Event()
    trace, ran_on = [], {}

    def call_a():
        ran_on["a"] = threading.current_thread()
        a_started.set()
        wait_for(gate_a)
        trace.append("thread: A returns, for nobody")
        return "A"

    def call_b():
        trace.append("thread: B runs")  # never: its task stopped waiting before its turn
        return "B"

    def call_c():
        ran_on["c"] = threading.current_thread()
        return "C"

    def call_d():
        ran_on["d"] = threading.current_thread()
        wait_for(gate_d)
        return "D"

    def main():
        a = yield from spawn(waiter(call_a))
        b = yield from spawn(waiter(call_b))
        yield from sleep(0)  # both have asked: A has the only thread, B waits its turn
        yield from cancel(b)
        trace.append(f"main: B's task ended, cancelled={b.cancelled}")
        yield from cancel(a)
        trace.append(f"main: A's task ended, cancelled={a.cancelled}")
        # A no longer counts against max_threads: C runs now, on a thread of its own
        trace.append(f"main: C answered {(yield from run_in_thread(call_c))!r}")
        c_answered.set()
        trace.append(f"main: D answered {(yield from run_in_thread(call_d))!r}")

    kernel_run = Run(kernel, main())
    assert a_started.wait(GUARD) and c_answered.wait(GUARD)
    trace.append("test: A still blocks its thread; its gate opens")
    gate_a.set()
    ran_on["a"].join(GUARD)  # A's thread ends with A, while the kernel runs on
    assert not ran_on["a"].is_alive()
    trace.append("test: A's thread has ended")
    gate_d.set()
    kernel_run.result()
    assert trace == [
        "main: B's task ended, cancelled=True",
        "main: A's task ended, cancelled=True",
        "main: C answered 'C'",
        "test: A still blocks its thread; its gate opens",
        "thread: A returns, for nobody",
        "test: A's thread has ended",
        "main: D answered 'D'",
    ]
    assert ran_on["c"] is not ran_on["a"]
    assert ran_on["d"] is ran_on["c"]  # the pool's own thread, taking the next call


def test_an_abandoned_call_that_fails_is_reported_and_raised_nowhere(
        make_kernel, gates, errors):
    kernel = make_kernel(max_threads=1)
    gate, done = gates.new(), gates.new()
    started, answered = threading.Event(), threading.Event()
    error = OSError("the disk went away")
    ran_on = []

    def doomed_read():
        ran_on.append(threading.current_thread())
        started.set()
        wait_for(gate)
        raise error

    def next_read():
        return "next"

    def main():
        task = yield from spawn(waiter(doomed_read))
        yield from sleep(0)
        yield from cancel(task)
        answer = yield from run_in_thread(next_read)
        answered.set()
        yield from run_in_thread(wait_for, done)  # the kernel runs on while doomed_read ends
        return task, answer

    kernel_run = Run(kernel, main())
    assert started.wait(GUARD) and answered.wait(GUARD)
    assert errors == []  # the call has not failed yet
    gate.set()
    ran_on[0].join(GUARD)  # doomed_read has raised, and its thread ended
    assert not ran_on[0].is_alive()
    done.set()
    task, answer = kernel_run.result()
    assert task.cancelled and answer == "next"
    [(reported, context)] = errors.take()
    assert reported is error
    assert "doomed_read" in context and "stopped waiting" in context


# -- 4. a deadline --------------------------------------------------------------------


@pytest.mark.parametrize("block", ["timeout_after", "move_on_after"])
def test_a_deadline_around_a_blocked_call_abandons_it(make_kernel, gates, block):
    kernel = make_kernel(max_threads=1)
    gate = gates.new()
    answered = threading.Event()
    trace, ran_on = [], []

    def slow_read():
        ran_on.append(threading.current_thread())
        wait_for(gate)
        trace.append("thread: the slow read returns, for nobody")
        return "late poem"

    def next_read():
        return "next poem"

    def main():
        if block == "timeout_after":
            try:
                yield from timeout_after(0.05, run_in_thread(slow_read))
            except TimeoutError as error:
                trace.append(f"main: TimeoutError: {error}")
        else:
            with (yield from move_on_after(0.05)) as scope:
                yield from run_in_thread(slow_read)
                trace.append("main: never")
            trace.append(f"main: moved on, cancelled_caught={scope.cancelled_caught}")
        # slow_read still blocks the thread it has, and no longer counts: the only
        # place in the pool is free, and this call is answered with its own result
        poem = yield from run_in_thread(next_read)
        trace.append(f"main: got {poem!r}")
        answered.set()
        return "main ended"

    kernel_run = Run(kernel, main())
    assert answered.wait(GUARD)
    trace.append("test: the slow read's gate opens")
    gate.set()
    assert kernel_run.result() == "main ended"
    assert kernel.pending_timers() == 0
    ran_on[0].join(GUARD)
    assert not ran_on[0].is_alive()
    first = ("main: TimeoutError: timed out after 0.05s" if block == "timeout_after"
             else "main: moved on, cancelled_caught=True")
    assert trace == [
        first,
        "main: got 'next poem'",
        "test: the slow read's gate opens",
        "thread: the slow read returns, for nobody",
    ]


# -- 5. Ctrl-C ---------------------------------------------------------------------------


CTRL_C_SCRIPT = textwrap.dedent("""
    import threading

    from coro.kernel.loop import Kernel
    from coro.kernel.traps import run_in_thread

    never = threading.Event()

    def block_for_ever():
        print("waiting", flush=True)
        never.wait()

    def main():
        try:
            yield from run_in_thread(block_for_ever)
        finally:
            print("finally ran", flush=True)

    kernel = Kernel(max_threads=1)
    try:
        kernel.run(main())
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    finally:
        kernel.close()
""")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_while_a_call_blocks_for_ever_ends_the_program(signum):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    process = subprocess.Popen([sys.executable, "-c", CTRL_C_SCRIPT], cwd=ROOT, env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        readable, _, _ = select.select([process.stdout], [], [], 60)
        assert readable, "the script never said its call was blocking"
        assert process.stdout.readline() == "waiting\n"  # the call blocks, in its worker
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)  # the blocked worker holds nothing up
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert (process.returncode, out, err) == (0, "finally ran\ninterrupted\n", "")


# -- 6. closing with a call still running --------------------------------------------


@pytest.mark.parametrize("outcome", ["returns", "raises"])
def test_closing_the_kernel_while_a_call_runs_leaves_the_call_to_end_alone(
        make_kernel, gates, errors, capfd, outcome):
    kernel = make_kernel(max_threads=1)
    gate = gates.new()
    started = threading.Event()
    error = OSError("the disk went away")
    ran_on = []

    def slow_write():
        ran_on.append(threading.current_thread())
        started.set()
        wait_for(gate)
        if outcome == "raises":
            raise error
        return "written"

    def main():
        yield from spawn(waiter(slow_write))
        yield from sleep(0)  # the writer has asked; main ends, the writer is cancelled

    run(kernel, main())
    assert started.wait(GUARD)
    pool = kernel._threads
    wakes = []
    wake = pool._wake_kernel
    pool._wake_kernel = lambda: (wakes.append("wake"), wake())
    kernel.close()  # returns at once: the call still blocks its worker
    assert not gate.is_set() and ran_on[0].is_alive()
    gate.set()
    ran_on[0].join(GUARD)
    assert not ran_on[0].is_alive(), "the worker did not end after its call"
    # the call ended after its kernel closed: nothing went to the kernel
    assert wakes == [] and pool._finished == []
    assert capfd.readouterr() == ("", "")
    if outcome == "raises":  # but its error is not lost
        [(reported, context)] = errors.take()
        assert reported is error
        assert "slow_write" in context and "after its kernel closed" in context


def test_an_abandoned_call_that_failed_before_the_kernel_closed_is_reported(
        make_kernel, gates, errors):
    kernel = make_kernel(max_threads=1)
    gate = gates.new()
    started = threading.Event()
    error = OSError("the disk went away")

    def slow_write():
        started.set()
        wait_for(gate)
        raise error

    def main():
        yield from spawn(waiter(slow_write))
        yield from sleep(0)

    run(kernel, main())  # the writer was cancelled: its call is abandoned
    assert started.wait(GUARD)
    gate.set()
    # The worker hands the call in, then wakes the kernel: a byte in its self-pipe. No
    # run collects it now; closing must still say what the call raised.
    readable, _, _ = select.select([kernel._self_pipe.fileno()], [], [], GUARD)
    assert readable
    kernel.close()
    [(reported, context)] = errors.take()
    assert reported is error and "slow_write" in context


# -- 7. no false deadlock -------------------------------------------------------------


def test_a_task_waiting_only_for_a_thread_is_not_a_deadlock(make_kernel, gates):
    kernel = make_kernel(max_threads=1)
    gate = gates.new()
    started = threading.Event()

    def slow_read():
        started.set()
        wait_for(gate)
        return "poem"

    def main():
        # main waits for a task that waits for a thread: no task is ready, no timer is
        # set, no socket is watched, and yet the thread will wake them
        task = yield from spawn(waiter(slow_read))
        return (yield from join(task))

    kernel_run = Run(kernel, main())
    assert started.wait(GUARD)
    gate.set()
    assert kernel_run.result() == "poem"


# -- 8. the task's repr -------------------------------------------------------------------


def test_a_wait_for_a_thread_is_in_the_tasks_repr(make_kernel, gates):
    kernel = make_kernel(max_threads=1)
    gate = gates.new()

    def read_the_poem():
        wait_for(gate)

    def main():
        running = yield from spawn(waiter(read_the_poem))
        queued = yield from spawn(waiter(read_the_poem))  # behind it, for the one thread
        yield from sleep(0)
        seen = [repr(running), repr(queued)]
        gate.set()
        yield from join(running)
        yield from join(queued)
        return running, queued, seen

    running, queued, seen = run(kernel, main())
    assert seen == [
        f"<Task {task.id} {task.name} waiting for a thread to call "
        "test_a_wait_for_a_thread_is_in_the_tasks_repr.<locals>.read_the_poem>"
        for task in (running, queued)
    ]


# -- the size of the pool -------------------------------------------------------------------


def open_descriptors():
    return {fd for fd in os.listdir("/proc/self/fd") if os.path.exists(f"/proc/self/fd/{fd}")}


@pytest.mark.parametrize("max_threads", [0, -1])
def test_a_kernel_without_a_thread_is_refused_and_leaves_nothing_open(max_threads):
    before = open_descriptors()
    try:
        with pytest.raises(ValueError, match="at least 1 thread"):
            Kernel(handle_signals=False, max_threads=max_threads)
        assert open_descriptors() == before
    finally:
        with warnings.catch_warnings():  # what a failure left open, closed for the next test
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
