"""The kernel: traps, spawn and join, cancel, the one-way door, ordering from a trace."""

import gc
import os
import signal
import socket

import pytest

from coro.deferred.deferred import Deferred
from coro.io import multiplexer
from coro.kernel.loop import Kernel
from coro.kernel.sockets import Socket
from coro.kernel.task import TaskCancelled
from coro.kernel.traps import cancel, current_task, join, sleep, spawn, wait_any


def worker(trace, clock, name, steps, pause=1.0):
    for step in range(steps):
        trace.append((clock.now(), name, step))
        yield from sleep(pause)
    return f"{name} done"


def test_tasks_take_turns_at_their_waits_in_the_order_of_their_deadlines(kernel, clock):
    trace = []

    def main():
        a = yield from spawn(worker(trace, clock, "a", 3, pause=1.0))
        b = yield from spawn(worker(trace, clock, "b", 2, pause=1.5))
        return (yield from join(a)), (yield from join(b))

    assert kernel.run(main()) == ("a done", "b done")
    assert trace == [(0.0, "a", 0), (0.0, "b", 0), (1.0, "a", 1), (1.5, "b", 1),
                     (2.0, "a", 2)]
    assert clock.now() == 3.0  # a's last sleep; no real time passed


def test_sleep_zero_lets_every_other_ready_task_run_first(kernel):
    trace = []

    def polite(name):
        for step in range(3):
            trace.append(f"{name}{step}")
            yield from sleep(0)

    def main():
        tasks = []
        for name in "xyz":
            tasks.append((yield from spawn(polite(name))))
        for task in tasks:
            yield from join(task)

    kernel.run(main())
    assert trace == ["x0", "y0", "z0", "x1", "y1", "z1", "x2", "y2", "z2"]


def test_async_def_tasks_use_the_same_traps(kernel, clock):
    async def child():
        await sleep(2)
        return (await current_task()).name

    async def main():
        task = await spawn(child())
        return await join(task), clock.now()

    assert kernel.run(main()) == ("test_async_def_tasks_use_the_same_traps.<locals>.child", 2.0)


def test_join_raises_the_exception_the_task_raised(kernel):
    error = ValueError("bad poem")

    def failing():
        yield from sleep(1)
        raise error

    def main():
        task = yield from spawn(failing())
        with pytest.raises(ValueError) as caught:
            yield from join(task)
        assert caught.value is error
        with pytest.raises(ValueError):  # and again, once it has ended
            yield from join(task)
        return "ok"

    assert kernel.run(main()) == "ok"


def test_joining_itself_is_an_error_not_a_deadlock(kernel):
    def main():
        me = yield from current_task()
        yield from join(me)

    with pytest.raises(RuntimeError, match="cannot wait for itself"):
        kernel.run(main())


def test_tasks_waiting_only_on_each_other_are_a_clear_error(kernel):
    def main():
        me = yield from current_task()
        other = yield from spawn(join_forever(me))
        yield from join(other)

    def join_forever(task):
        yield from join(task)

    with pytest.raises(RuntimeError, match="every task waits on another"):
        kernel.run(main())


@pytest.mark.parametrize("value, hint", [
    ((x for x in ()), "did you mean `yield from`"),
    (None, "a bare `yield` is not a trap"),
    (Deferred(), "Deferreds fire on a reactor"),
    (42, "yielded 42, which is not a trap"),
])
def test_a_value_that_is_not_a_trap_fails_at_the_yield_saying_what_was_meant(
        kernel, value, hint):
    def main():
        try:
            yield value
        except TypeError as exc:
            return str(exc)

    assert hint in kernel.run(main())


def test_yielding_a_coroutine_says_to_await_it(kernel):
    async def forgot():
        pass

    def main():
        coro = forgot()
        try:
            yield coro
        except TypeError as exc:
            return str(exc)
        finally:
            coro.close()

    assert "did you mean `await` it?" in kernel.run(main())


def test_spawning_a_function_instead_of_a_call_says_so(kernel):
    def child():
        yield from sleep(1)

    def main():
        yield from spawn(child)

    with pytest.raises(TypeError, match=r"call it: spawn\(f\(...\)\)"):
        kernel.run(main())


def test_cancel_raises_at_the_wait_and_finally_runs_before_cancel_returns(kernel, clock):
    trace = []

    def sleeper():
        try:
            trace.append("sleeping")
            yield from sleep(60)
            trace.append("woke up")  # never
        finally:
            trace.append(f"finally at {clock.now()}")

    def main():
        task = yield from spawn(sleeper())
        yield from sleep(1)
        yield from cancel(task)
        trace.append("cancel returned")
        return task

    task = kernel.run(main())
    assert trace == ["sleeping", "finally at 1.0", "cancel returned"]
    assert task.cancelled and task.done


def test_a_cancel_for_a_ready_task_is_raised_at_its_next_wait(kernel):
    trace = []

    def target():
        trace.append("running")
        try:
            yield from sleep(1)
        except TaskCancelled:
            trace.append("cancelled at the wait")
            raise

    def main():
        t = yield from spawn(target())
        yield from cancel(t, wait=False)  # t is ready and has not run yet: it is marked
        trace.append("asked")
        with pytest.raises(TaskCancelled):
            yield from join(t)

    kernel.run(main())
    assert trace == ["asked", "running", "cancelled at the wait"]


def test_cancel_waiting_for_the_end_is_not_interrupted_by_the_cancellers_own_cancel(kernel):
    trace = []

    def slow_to_stop():
        try:
            yield from sleep(60)
        finally:
            trace.append("cleaning up")
            yield from sleep(5)  # cleanup that waits
            trace.append("clean")

    def canceller(task):
        yield from cancel(task)
        trace.append("canceller saw the end")

    def main():
        t = yield from spawn(slow_to_stop())
        yield from sleep(1)
        c = yield from spawn(canceller(t))
        yield from sleep(1)
        yield from cancel(c, wait=False)  # arrives while c waits for t to end
        yield from wait_any([t])  # join() would raise t's TaskCancelled here
        yield from sleep(0)  # c, woken when t ended, runs first
        return c

    c = kernel.run(main())
    assert trace == ["cleaning up", "clean", "canceller saw the end"]
    assert not c.cancelled


def test_a_second_cancel_lets_the_cleanup_of_the_first_run_to_its_end(kernel, clock):
    trace = []

    def polite():
        try:
            yield from sleep(60)
        except TaskCancelled:
            trace.append((clock.now(), "cancelled"))
            raise
        finally:
            try:
                yield from sleep(5)  # a cleanup that waits: a goodbye to the peer
                trace.append((clock.now(), "cleanup ended"))
            except TaskCancelled:
                trace.append((clock.now(), "cleanup cut short"))
                raise

    def main():
        task = yield from spawn(polite())
        yield from sleep(1)
        yield from cancel(task, wait=False)
        yield from sleep(1)
        yield from cancel(task)  # the task is cleaning up: nothing to deliver, wait for the end
        trace.append((clock.now(), "cancel returned"))
        return task

    task = kernel.run(main())
    assert trace == [(1, "cancelled"), (6, "cleanup ended"), (6, "cancel returned")]
    assert task.cancelled


def test_two_cancels_of_a_task_that_has_not_run_yet_raise_one_task_cancelled(kernel):
    trace = []

    def catches_every_cancel():
        for _ in range(2):
            try:
                yield from sleep(1)
                trace.append("slept")
            except TaskCancelled:
                trace.append("cancelled")

    def main():
        task = yield from spawn(catches_every_cancel())
        yield from cancel(task, wait=False)
        yield from cancel(task, wait=False)
        yield from join(task)

    kernel.run(main())
    assert trace == ["cancelled", "slept"]


def test_when_main_ends_a_cleanup_that_waits_runs_to_its_end(kernel, clock):
    trace = []

    def background():
        try:
            yield from sleep(60)
        finally:
            yield from sleep(5)  # each turn of the kernel's last loop must not cancel it again
            trace.append((clock.now(), "background cleaned up"))

    def main():
        yield from spawn(background())
        yield from sleep(1)

    kernel.run(main())
    assert trace == [(6, "background cleaned up")]


def test_wait_any_given_one_task_twice_wakes_the_waiter_once(kernel, clock):
    def main():
        task = yield from spawn(worker([], clock, "twice", 1, pause=1))
        first = yield from wait_any([task, task])
        woken_at = clock.now()
        yield from sleep(5)  # a second wake-up would cut this short
        return first is task, woken_at, clock.now()

    assert kernel.run(main()) == (True, 1, 6)


def test_wait_any_returns_the_first_task_to_end(kernel):
    def main():
        slow = yield from spawn(worker([], kernel.clock, "slow", 1, pause=5))
        fast = yield from spawn(worker([], kernel.clock, "fast", 1, pause=2))
        first = yield from wait_any([slow, fast])
        return first is fast, (yield from join(slow))

    assert kernel.run(main()) == (True, "slow done")


def test_when_main_ends_the_tasks_still_running_are_cancelled_and_their_finally_runs(kernel):
    trace = []

    def forever():
        try:
            while True:
                yield from sleep(1)
        finally:
            trace.append("background task cleaned up")

    def main():
        yield from spawn(forever())
        yield from sleep(3)
        return "main done"

    assert kernel.run(main()) == "main done"
    assert trace == ["background task cleaned up"]


def test_a_task_that_failed_and_was_never_joined_is_reported(kernel, errors):
    def failing():
        raise ValueError("nobody is listening")
        yield

    def main():
        yield from spawn(failing())
        yield from sleep(1)

    kernel.run(main())
    gc.collect()
    [(exc, context)] = errors.take()
    assert isinstance(exc, ValueError) and "which nobody joined" in context


def test_main_s_exception_comes_out_of_run(kernel):
    def main():
        yield from sleep(1)
        raise LookupError("no such poem")

    with pytest.raises(LookupError, match="no such poem"):
        kernel.run(main())


def test_ten_thousand_ready_yields_do_not_recurse(kernel):
    def main():
        for _ in range(10_000):
            yield from sleep(0)
            yield from current_task()
        return "done"

    assert kernel.run(main()) == "done"


def test_sigint_cancels_every_task_and_run_raises_keyboard_interrupt(kernel):
    trace = []

    def victim():
        try:
            yield from sleep(60)
        finally:
            trace.append("victim cleaned up")

    def main():
        yield from spawn(victim())
        yield from sleep(1)
        os.kill(os.getpid(), signal.SIGINT)
        try:
            yield from sleep(60)
        finally:
            trace.append("main cleaned up")

    with pytest.raises(KeyboardInterrupt):
        kernel.run(main())
    assert sorted(trace) == ["main cleaned up", "victim cleaned up"]
    assert kernel.stopped_by == signal.SIGINT


def test_a_step_that_keeps_the_loop_too_long_is_reported_when_asked(clock, errors):
    warnings = []

    def blocking():
        yield from sleep(1)
        clock.advance(0.25)  # as a blocking call would: time passes inside one step

    def quick():
        yield from sleep(1)
        clock.advance(0.05)

    def main():
        first = yield from spawn(blocking())
        second = yield from spawn(quick())
        yield from join(first)
        yield from join(second)

    with Kernel(clock=clock, report_error=errors.report, slow_task=0.1,
                warn=warnings.append) as kernel:
        kernel.run(main())
    [warning] = warnings
    assert "blocking) kept the kernel for 0.25s without a trap" in warning


def test_a_wait_the_multiplexer_refuses_fails_in_the_task_and_leaves_it_runnable(kernel):
    def refuse(fd, interest):  # as select() does past FD_SETSIZE
        raise multiplexer.TooManyDescriptors(f"cannot watch {fd}")

    def reader():
        ours, theirs = socket.socketpair()
        sock = Socket(ours)
        try:
            yield from sock.recv(1)
        except multiplexer.TooManyDescriptors:
            pass
        finally:
            sock.close()  # must not wake this task a second time
            theirs.close()
        return "done"

    def main():
        task = yield from spawn(reader())
        yield from wait_any([task])
        yield from sleep(0)
        return task.result()

    kernel._multiplexer.register = refuse
    assert kernel.run(main()) == "done"


def test_a_failed_task_is_reported_as_soon_as_it_is_dropped_without_the_cycle_collector(
        kernel, errors):
    def failing():
        raise ValueError("crashed")
        yield

    def main():
        yield from spawn(failing())
        yield from sleep(1)
        return len(errors)

    gc.disable()
    try:
        assert kernel.run(main()) == 1
    finally:
        gc.enable()
    errors.take()


def test_a_second_ctrl_c_interrupts_a_cleanup_that_does_not_end(kernel):
    trace = []

    def stubborn():
        while True:
            try:
                yield from sleep(60)
            except TaskCancelled:
                trace.append("refused to stop")
                os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C again

    def main():
        yield from spawn(stubborn())
        yield from sleep(1)
        os.kill(os.getpid(), signal.SIGINT)
        yield from sleep(60)

    # As in a terminal: a shell that starts a job in the background ignores SIGINT for it,
    # and the handler put back after the first Ctrl-C would then ignore the second.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            kernel.run(main())
    finally:
        signal.signal(signal.SIGINT, previous)
    assert trace == ["refused to stop"]


def test_a_kernel_whose_multiplexer_refuses_its_self_pipe_leaves_nothing_open():
    class Refusing(type(multiplexer.create())):
        def register(self, fd, interest):  # as select() does past FD_SETSIZE
            raise multiplexer.TooManyDescriptors(f"cannot watch {fd}")

    with Refusing() as refusing, pytest.raises(multiplexer.TooManyDescriptors):
        Kernel(refusing)


def test_a_ctrl_c_before_the_handlers_are_in_leaves_a_kernel_that_closes(clock, monkeypatch):
    # SIGINT can land at any bytecode of run(), before its own handler is installed; it is
    # then Python's KeyboardInterrupt, and the program's "with Kernel()" must still close.
    kernel = Kernel(clock=clock)
    started = []

    def interrupted(on_signal):
        raise KeyboardInterrupt

    def main():
        started.append("main")
        yield from sleep(0)

    monkeypatch.setattr(kernel._self_pipe, "catch_stop_signals", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with kernel:
            kernel.run(main())
    assert started == [] and kernel._closed  # not "running": close() worked


def test_running_something_that_is_not_a_task_leaves_a_kernel_that_runs_and_closes(kernel):
    with pytest.raises(TypeError, match="a task runs a generator or a coroutine"):
        kernel.run(print)

    def main():
        yield from sleep(1)
        return "ran"

    assert kernel.run(main()) == "ran"
