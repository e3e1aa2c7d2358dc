"""Cancel scopes: move_on_after and fail_after, alone and nested with each other and
with chapter 16's timeout_after, on a fake clock. Each scope stops only its own
deadline's exception; when two pass together, the outer one wins."""

import pytest

from coro.kernel.task import TaskCancelled
from coro.kernel.timeouts import fail_after, move_on_after, timeout_after
from coro.kernel.traps import cancel, sleep, spawn


def test_move_on_after_ends_its_block_quietly_and_says_so(kernel, log):
    def main():
        with (yield from move_on_after(2)) as scope:
            log("sleeps")
            try:
                yield from sleep(10)
            finally:
                log("unwound")  # the block's finally runs, as for any exception
        log("after", scope.cancelled_caught)
        with (yield from move_on_after(2)) as quick:
            yield from sleep(1)
        log("after", quick.cancelled_caught)

    kernel.run(main())
    assert log.trace == [(0.0, "sleeps"), (2.0, "unwound"), (2.0, "after", True),
                         (3.0, "after", False)]


def test_in_an_async_def_task_it_is_async_with(kernel, log):
    async def main():
        async with move_on_after(1) as scope:
            await sleep(5)
        log("moved on", scope.cancelled_caught)
        with pytest.raises(TimeoutError, match="timed out after 1s"):
            async with fail_after(1) as failing:
                await sleep(5)
        log("failed", failing.cancelled_caught)

    kernel.run(main())
    assert log.trace == [(1.0, "moved on", True), (2.0, "failed", True)]


def test_fail_after_raises_timeout_error_at_the_edge_of_its_block(kernel, log):
    def main():
        try:
            with (yield from fail_after(3)):
                yield from sleep(10)
        except TimeoutError as error:
            log("caught", str(error))

    kernel.run(main())
    assert log.trace == [(3.0, "caught", "timed out after 3s")]


def test_an_inner_scope_that_fires_leaves_the_outer_one_running(kernel, log):
    def main():
        with (yield from move_on_after(5)) as outer:
            with (yield from move_on_after(1)) as inner:
                yield from sleep(10)
            log("inner done", inner.cancelled_caught)
            yield from sleep(10)
        log("outer done", outer.cancelled_caught)

    kernel.run(main())
    assert log.trace == [(1.0, "inner done", True), (5.0, "outer done", True)]


def test_an_outer_deadline_goes_through_an_inner_scope_untouched(kernel, log):
    def main():
        with (yield from move_on_after(1)) as outer:
            with (yield from fail_after(5)) as inner:  # not its deadline: no TimeoutError
                yield from sleep(10)
            log("never here")
        log("outer", outer.cancelled_caught, "inner", inner.cancelled_caught)

    kernel.run(main())
    assert log.trace == [(1.0, "outer", True, "inner", False)]


def test_scopes_nest_with_timeout_after_both_ways(kernel, log):
    def block():
        yield from sleep(10)

    def main():
        # a move_on_after around a longer timeout_after: the scope's deadline comes first
        with (yield from move_on_after(1)) as scope:
            yield from timeout_after(5, block())
        log("scope fired", scope.cancelled_caught)
        # a timeout_after around a longer move_on_after: TimeoutError, the scope untouched
        inside = []

        def inner():
            with (yield from move_on_after(5)) as scope:
                inside.append(scope)
                yield from block()
            log("never here")

        try:
            yield from timeout_after(1, inner())
        except TimeoutError:
            log("timed out", inside[0].cancelled_caught)

    kernel.run(main())
    assert log.trace == [(1.0, "scope fired", True), (2.0, "timed out", False)]


def test_when_both_pass_at_once_the_outer_one_wins(kernel, log):
    def main():
        with (yield from move_on_after(2)) as outer:
            try:
                with (yield from fail_after(2)) as inner:
                    yield from sleep(10)
            except TimeoutError:
                log("inner raised")  # wrong: the outer block is over too
        log("outer", outer.cancelled_caught, "inner", inner.cancelled_caught)

    kernel.run(main())
    assert log.trace == [(2.0, "outer", True, "inner", False)]


def test_a_cancel_goes_through_a_scope(kernel, log):
    def victim():
        try:
            with (yield from move_on_after(5)) as scope:
                yield from sleep(10)
        except TaskCancelled:
            log("cancelled", scope.cancelled_caught)
            raise

    def main():
        task = yield from spawn(victim())
        yield from sleep(1)
        yield from cancel(task)

    kernel.run(main())
    assert log.trace == [(1.0, "cancelled", False)]


def test_a_scope_is_entered_once_and_only_with_the_kernels_help(kernel):
    def main():
        scope = move_on_after(1)
        with pytest.raises(TypeError, match=r"with \(yield from move_on_after\(\.\.\.\)\)"):
            with scope:
                pass
        with (yield from scope):
            pass
        with pytest.raises(RuntimeError, match="entered once"):
            yield from scope

    kernel.run(main())
