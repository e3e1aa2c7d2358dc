"""Timeouts around blocks of waits: their own deadline only, nested, on a fake clock."""

import pytest

from coro.kernel.task import DeadlineExpired
from coro.kernel.timeouts import timeout_after
from coro.kernel.traps import cancel, join, sleep, spawn


def steps(trace, clock, name, pauses):
    try:
        for pause in pauses:
            trace.append((clock.now(), name))
            yield from sleep(pause)
        return f"{name} finished"
    finally:
        trace.append((clock.now(), f"{name} finally"))


def test_a_block_that_finishes_in_time_gives_its_result(kernel, clock):
    def main():
        result = yield from timeout_after(5, steps([], clock, "block", [1, 1]))
        yield from sleep(10)  # after the block, its deadline no longer applies
        return result

    assert kernel.run(main()) == "block finished"
    assert clock.now() == 12


def test_the_deadline_covers_every_wait_of_the_block_together(kernel, clock):
    trace = []

    def main():
        with pytest.raises(TimeoutError, match="timed out after 2.5s"):
            yield from timeout_after(2.5, steps(trace, clock, "block", [1, 1, 1, 1]))
        return clock.now()

    assert kernel.run(main()) == 2.5
    assert trace == [(0, "block"), (1, "block"), (2, "block"), (2.5, "block finally")]


def test_nested_the_inner_one_fires_first_and_the_outer_block_goes_on(kernel, clock):
    trace = []

    def outer_block():
        try:
            yield from timeout_after(1, steps(trace, clock, "inner", [5]))
        except TimeoutError:
            trace.append((clock.now(), "inner timed out"))
        yield from sleep(2)
        return "outer finished"

    def main():
        return (yield from timeout_after(10, outer_block()))

    assert kernel.run(main()) == "outer finished"
    assert trace == [(0, "inner"), (1, "inner finally"), (1, "inner timed out")]
    assert clock.now() == 3


def test_an_expired_outer_deadline_is_not_mistaken_for_the_inner_one(kernel, clock):
    trace = []

    def outer_block():
        try:
            yield from timeout_after(5, steps(trace, clock, "inner", [10]))
        except TimeoutError:
            trace.append("the inner block wrongly took the outer timeout")
        trace.append("the outer block went on after its own deadline")

    def main():
        try:
            yield from timeout_after(1, outer_block())
        except TimeoutError as exc:
            return str(exc), clock.now()

    assert kernel.run(main()) == ("timed out after 1s", 1)
    assert trace == [(0, "inner"), (1, "inner finally")]


def test_when_both_pass_at_once_the_outer_one_wins(kernel, clock):
    trace = []

    def outer_block():
        try:
            yield from timeout_after(2, steps(trace, clock, "inner", [3]))
        except TimeoutError:
            trace.append("inner")
            raise

    def main():
        try:
            yield from timeout_after(2, outer_block())
        except TimeoutError:
            trace.append("outer")

    kernel.run(main())
    assert trace == [(0, "inner"), (2, "inner finally"), "outer"]


def test_a_block_that_catches_its_timeout_and_waits_again_still_cannot_wait(kernel, clock):
    def stubborn():
        try:
            yield from sleep(10)
        except DeadlineExpired:
            pass  # wrong, but it must not buy it more time
        yield from sleep(10)

    def main():
        with pytest.raises(TimeoutError):
            yield from timeout_after(1, stubborn())
        return clock.now()

    assert kernel.run(main()) == 1


def test_a_deadline_that_passed_while_the_task_ran_fails_its_next_wait(kernel, clock):
    def busy_then_wait():
        clock.advance(2)  # as a long computation would
        yield from sleep(0)

    def main():
        with pytest.raises(TimeoutError):
            yield from timeout_after(1, busy_then_wait())

    kernel.run(main())


def test_async_def_blocks_time_out_too(kernel, clock):
    async def block():
        await sleep(5)

    async def main():
        try:
            await timeout_after(1, block())
        except TimeoutError:
            return clock.now()

    assert kernel.run(main()) == 1


def test_many_blocks_that_finish_in_time_leave_no_pile_of_timers(kernel, clock):
    def quick():
        yield from sleep(0.001)

    def main():
        for _ in range(5_000):
            yield from timeout_after(60, quick())
        return kernel.pending_timers()

    assert kernel.run(main()) == 0


def test_when_both_passed_while_the_task_ran_the_outer_one_wins_too(kernel, clock):
    trace = []

    def busy_then_wait():
        clock.advance(5)
        yield from sleep(0)

    def outer_block():
        try:
            yield from timeout_after(2, busy_then_wait())
        except TimeoutError:
            trace.append("inner")

    def main():
        try:
            yield from timeout_after(3, outer_block())
        except TimeoutError:
            trace.append("outer")

    kernel.run(main())
    assert trace == ["outer"]


def test_many_tasks_that_time_out_of_a_long_sleep_leave_no_alarm_behind(kernel, clock):
    def sleeper():
        with pytest.raises(TimeoutError):
            yield from timeout_after(1, sleep(10))

    def main():
        tasks = []
        for _ in range(600):  # their sleeps and deadlines all fall due in the same turns
            tasks.append((yield from spawn(sleeper())))
        for task in tasks:
            yield from join(task)
        return kernel.pending_timers(), clock.now()

    assert kernel.run(main()) == (0, 1)


def test_a_timeout_inside_a_cancelled_task_s_cleanup_bounds_that_cleanup(kernel, clock):
    trace = []

    def says_goodbye():
        try:
            yield from sleep(60)
        finally:
            try:
                yield from timeout_after(2, sleep(60))  # a goodbye to a peer that never reads
            except TimeoutError:
                trace.append((clock.now(), "goodbye timed out"))
            trace.append((clock.now(), "cleanup ended"))

    def main():
        task = yield from spawn(says_goodbye())
        yield from sleep(1)
        yield from cancel(task)
        return task.cancelled

    assert kernel.run(main()) is True
    assert trace == [(3, "goodbye timed out"), (3, "cleanup ended")]


def test_a_deadline_set_before_a_cancel_neither_cuts_its_cleanup_short_nor_swallows_it(
        kernel, clock):
    trace = []

    def work():
        try:
            yield from sleep(60)
        finally:
            yield from sleep(10)
            trace.append((clock.now(), "cleanup ended"))

    def task_body():
        try:
            yield from timeout_after(5, work())
        except TimeoutError:
            trace.append((clock.now(), "timed out"))  # never: the task was cancelled
        trace.append((clock.now(), "went on"))  # never

    def main():
        task = yield from spawn(task_body())
        yield from sleep(1)
        yield from cancel(task)
        return task.cancelled

    assert kernel.run(main()) is True
    assert trace == [(11, "cleanup ended")]
