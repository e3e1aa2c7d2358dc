"""The bounded queue's rules, each as a story on a fake clock: a full queue holds its
producers back and lets them go in order, closing ends everyone cleanly, and a waiter
that is cancelled leaves no trace. (test_queue_model.py checks the same rules against
a reference model, on operations hypothesis makes up.)"""

import pytest

from coro.kernel.queues import Queue, QueueClosed, QueueEmpty, QueueFull
from coro.kernel.traps import cancel, join, sleep, spawn
from tests.ch16b.tasks import join_all, spawn_all


def test_a_full_queue_holds_the_producer_back_until_a_consumer_takes_one(kernel, log):
    queue = Queue(2)

    def producer():
        for item in "abcd":
            yield from queue.put(item)
            log("put", item, len(queue))
        queue.close()

    def consumer():
        while True:
            try:
                item = yield from queue.get()
            except QueueClosed:
                log("closed and empty")
                return
            log("got", item)
            yield from sleep(1)  # a slow consumer

    def main():
        yield from join_all((yield from spawn_all(producer(), consumer())))

    kernel.run(main())
    assert log.trace == [
        (0.0, "put", "a", 1), (0.0, "put", "b", 2),  # full: "c" waits
        (0.0, "got", "a"), (0.0, "put", "c", 2),     # the get took "c" in
        (1.0, "got", "b"), (1.0, "put", "d", 2),
        (2.0, "got", "c"), (3.0, "got", "d"), (4.0, "closed and empty"),
    ]


def test_waiting_consumers_are_served_in_the_order_they_came(kernel, log):
    queue = Queue(1)

    async def consumer(name):
        log(name, "got", await queue.get())

    def main():
        tasks = yield from spawn_all(consumer("a"), consumer("b"), consumer("c"))
        yield from sleep(1)
        for item in (1, 2, 3):
            yield from queue.put(item)  # each goes straight to a waiting consumer
        log("main", "left in the queue", len(queue))
        yield from join_all(tasks)

    kernel.run(main())
    assert log.trace == [(1.0, "main", "left in the queue", 0), (1.0, "a", "got", 1),
                         (1.0, "b", "got", 2), (1.0, "c", "got", 3)]


def test_close_wakes_every_waiter_and_the_items_left_can_still_be_taken(kernel, log):
    full, empty = Queue(1), Queue(1)

    def putter(name):
        try:
            yield from full.put(name)
        except QueueClosed as error:
            log(name, "put failed:", str(error))

    def getter(name):
        try:
            yield from empty.get()
        except QueueClosed as error:
            log(name, "get failed:", str(error))

    def main():
        full.put_nowait("first")
        tasks = yield from spawn_all(putter("p1"), putter("p2"), getter("g1"), getter("g2"))
        yield from sleep(1)
        full.close()
        empty.close()
        yield from join_all(tasks)
        log("main", "left", (yield from full.get()))
        for queue in (full, empty):
            with pytest.raises(QueueClosed, match="closed and empty"):
                yield from queue.get()
            with pytest.raises(QueueClosed, match="put\\(\\) to a closed queue"):
                yield from queue.put("late")

    kernel.run(main())
    assert log.trace == [
        (1.0, "p1", "put failed:", "the queue was closed while put() waited"),
        (1.0, "p2", "put failed:", "the queue was closed while put() waited"),
        (1.0, "g1", "get failed:", "the queue was closed while get() waited"),
        (1.0, "g2", "get failed:", "the queue was closed while get() waited"),
        (1.0, "main", "left", "first"),
    ]


def test_a_cancelled_producer_takes_its_item_away_with_it(kernel, log):
    queue = Queue(1)

    def putter(item):
        yield from queue.put(item)
        log("put", item)

    def main():
        queue.put_nowait("a")
        b, c = yield from spawn_all(putter("b"), putter("c"))
        yield from sleep(1)
        yield from cancel(b)
        log("main", "waiting to put", len(queue._putters))
        log("main", "got", (yield from queue.get()), (yield from queue.get()))
        yield from join(c)
        log("main", "left", len(queue), len(queue._putters))

    kernel.run(main())
    assert log.trace == [(1.0, "main", "waiting to put", 1), (1.0, "main", "got", "a", "c"),
                         (1.0, "put", "c"), (1.0, "main", "left", 0, 0)]


def test_a_queue_of_size_0_hands_each_item_from_a_put_to_a_get(kernel, log):
    queue = Queue(0)

    def producer():
        for item in (1, 2):
            yield from queue.put(item)
            log("put", item)

    def main():
        task = yield from spawn(producer())
        yield from sleep(1)
        with pytest.raises(QueueFull):
            queue.put_nowait(0)  # nobody waits to take it
        log("get", (yield from queue.get()))
        yield from sleep(1)
        log("get", queue.get_nowait())
        yield from join(task)
        with pytest.raises(QueueEmpty):
            queue.get_nowait()

    kernel.run(main())
    assert log.trace == [(1.0, "get", 1), (1.0, "put", 1), (2.0, "get", 2), (2.0, "put", 2)]


def test_async_for_takes_every_item_and_ends_when_the_queue_closes(kernel):
    queue = Queue(3)

    async def consumer():
        return [item async for item in queue]

    def main():
        task = yield from spawn(consumer())
        for item in range(10):
            yield from queue.put(item)
        queue.close()
        return (yield from join(task))

    assert kernel.run(main()) == list(range(10))


def test_a_negative_size_is_refused():
    with pytest.raises(ValueError, match="0 items or more, not -1"):
        Queue(-1)
