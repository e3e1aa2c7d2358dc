"""A bounded queue between tasks: producers wait while it is full, consumers while it is empty.

A :class:`Queue` holds at most ``maxsize`` items. ``put`` waits while it is full, so a
producer faster than its consumers is held back instead of filling memory (chapter 8's
pause, between tasks); ``get`` waits while it is empty. It has two wait queues
(:mod:`coro.kernel.wait_queue`), one of consumers and one of producers, and it hands
over rather than wakes:

- a ``put`` while consumers wait gives its item straight to the first of them;
- a ``get`` from a full queue, while producers wait, takes the first producer's item
  (which it parked with) into the queue, and wakes that producer with its ``put`` done.

So items come out in the order they went in, waiters are served in the order they
came, and a woken task never finds that another took its place. A producer whose
``put`` is cancelled while it waits leaves with its item: it was never put.

``close`` ends it: producers can put no more (:exc:`QueueClosed`), producers still
waiting are woken with that error (their items were not put, and they are told so),
and consumers get the items left, then :exc:`QueueClosed`, as waiting consumers do at
once. In an ``async def`` task, ``async for item in queue`` does all of that.
"""

import collections
import types

from coro.kernel.wait_queue import WaitQueue


class QueueClosed(Exception):
    """A put to a closed queue, or a get from one that is closed and empty."""


class QueueFull(Exception):
    """``put_nowait`` on a full queue."""


class QueueEmpty(Exception):
    """``get_nowait`` on an empty queue."""


class Queue:
    """Items passed between tasks, in order, at most ``maxsize`` at a time.

    Invariant: ``_items`` holds at most ``maxsize`` items; consumers are parked only
    while it is empty, and producers only while it is full, each with its item; once
    closed, nobody is parked.

    Args:
        maxsize: How many items it holds; 0 makes each ``put`` wait for a ``get``.
    """

    def __init__(self, maxsize):
        if maxsize < 0:
            raise ValueError(f"a Queue holds 0 items or more, not {maxsize}")
        self.maxsize = maxsize
        self.closed = False
        self._items = collections.deque()
        self._getters = WaitQueue("Queue.get")
        self._putters = WaitQueue("Queue.put")

    def __len__(self):
        """How many items it holds now (not counting the producers' still waiting)."""
        return len(self._items)

    @types.coroutine
    def put(self, item):
        """Add ``item`` at the back, waiting while the queue is full.

        Raises:
            QueueClosed: if the queue is closed, or closes while this waits.
        """
        try:
            self.put_nowait(item)
        except QueueFull:
            yield from self._putters.park(item)  # woken once a get took the item in

    def put_nowait(self, item):
        """Add ``item`` at the back, if there is room now.

        Raises:
            QueueFull: if it is full (or ``maxsize`` is 0 and no consumer waits).
            QueueClosed: if the queue is closed.
        """
        if self.closed:
            raise QueueClosed("put() to a closed queue")
        if self._getters:
            self._getters.unpark(item)  # the queue is empty: straight to the first consumer
        elif len(self._items) < self.maxsize:
            self._items.append(item)
        else:
            raise QueueFull(f"the queue holds {self.maxsize} items already")

    @types.coroutine
    def get(self):
        """Take the item at the front, waiting while the queue is empty.

        Raises:
            QueueClosed: if the queue is closed and empty, or closes while this waits.
        """
        try:
            return self.get_nowait()
        except QueueEmpty:
            return (yield from self._getters.park())  # a put hands its item over

    def get_nowait(self):
        """Take the item at the front, if there is one now.

        Raises:
            QueueEmpty: if there is none (and no producer waits).
            QueueClosed: if the queue is closed and empty.
        """
        if self._items:
            item = self._items.popleft()
            if self._putters:  # there is room now: the first producer's item goes in
                self._items.append(self._putters.unpark())
            return item
        if self._putters:  # maxsize 0: straight from the first producer
            return self._putters.unpark()
        if self.closed:
            raise QueueClosed("get() from a closed and empty queue")
        raise QueueEmpty("the queue is empty")

    def close(self):
        """Take no more items; the items in it can still be taken.

        Waiting producers are woken with :exc:`QueueClosed` (their items were not put),
        and waiting consumers too (there is nothing left for them).
        """
        if self.closed:
            return
        self.closed = True
        while self._putters:  # an exception each: each is raised in a task of its own
            self._putters.unpark(exc=QueueClosed("the queue was closed while put() waited"))
        while self._getters:
            self._getters.unpark(exc=QueueClosed("the queue was closed while get() waited"))

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return await self.get()
        except QueueClosed:
            raise StopAsyncIteration from None

    def __repr__(self):
        state = "closed, " if self.closed else ""
        return (f"<Queue {state}{len(self._items)}/{self.maxsize} items, "
                f"{len(self._getters)} getting, {len(self._putters)} putting>")
