"""A property test: a Queue driven by many tasks does what a plain reference model says.

Hypothesis makes up a script of operations on a ``Queue(maxsize)``: a new producer task
starts a ``put`` (which may wait), a new consumer task starts a ``get``, a waiting
producer or consumer is cancelled, the driver calls ``put_nowait`` or ``get_nowait``
(and may cancel, before it runs, the task that call has just woken), or it closes the
queue. The driver is the kernel's main task: after each operation it lets every task
that can run, run, and then compares the queue with :class:`Model`, a few lines of
deques that say what each operation must do:

- items come out in the order they went in, and waiters are served in the order they
  came;
- a put while consumers wait hands its item to the first of them;
- a get from a full queue while producers wait takes the first producer's item into
  the queue, and that producer's put is done (with ``maxsize`` 0, the item goes
  straight to the getter);
- a waiting producer that is cancelled leaves with its item, never delivered, and a
  waiting consumer that is cancelled takes nothing: neither leaves a trace;
- close wakes the waiting producers and consumers with QueueClosed; after it, gets
  return the items left, then raise QueueClosed, and puts raise QueueClosed.

After every step: each ended put and get ended as the model says, the queue holds the
model's items, as many tasks wait to get and to put, and every item that was put is
either delivered once or still in the queue.
"""

import collections
import itertools

from hypothesis import given, settings, strategies as st

from coro.io.clock import FakeClock
from coro.kernel.loop import Kernel
from coro.kernel.queues import Queue, QueueClosed, QueueEmpty, QueueFull
from coro.kernel.task import TaskCancelled
from coro.kernel.traps import cancel, sleep, spawn

PUT, CLOSED, FULL, EMPTY, CANCELLED = "put", "closed", "full", "empty", "cancelled"


def got(item):
    return ("got", item)


class Model:
    """What the queue must do. ``outcomes`` maps each operation's number to how it
    ended; one that waits has none until it ends."""

    def __init__(self, maxsize):
        self.maxsize = maxsize
        self.items = collections.deque()
        self.putters = collections.deque()  # (number, item), in the order they came
        self.getters = collections.deque()  # numbers, in the order they came
        self.closed = False
        self.outcomes = {}

    def put(self, who, item, *, wait):
        if self.closed:
            self.outcomes[who] = CLOSED
        elif self.getters:
            self.outcomes[self.getters.popleft()] = got(item)
            self.outcomes[who] = PUT
        elif len(self.items) < self.maxsize:
            self.items.append(item)
            self.outcomes[who] = PUT
        elif wait:
            self.putters.append((who, item))
        else:
            self.outcomes[who] = FULL

    def get(self, who, *, wait):
        if self.items:
            self.outcomes[who] = got(self.items.popleft())
            if self.putters:
                putter, item = self.putters.popleft()
                self.items.append(item)
                self.outcomes[putter] = PUT
        elif self.putters:
            putter, item = self.putters.popleft()
            self.outcomes[who] = got(item)
            self.outcomes[putter] = PUT
        elif self.closed:
            self.outcomes[who] = CLOSED
        elif wait:
            self.getters.append(who)
        else:
            self.outcomes[who] = EMPTY

    def cancel_putter(self, index):
        who, _ = self.putters[index]
        del self.putters[index]
        self.outcomes[who] = CANCELLED
        return who

    def cancel_getter(self, index):
        who = self.getters[index]
        del self.getters[index]
        self.outcomes[who] = CANCELLED
        return who

    def close(self):
        if not self.closed:
            self.closed = True
            for who, _ in self.putters:
                self.outcomes[who] = CLOSED
            for who in self.getters:
                self.outcomes[who] = CLOSED
            self.putters.clear()
            self.getters.clear()


def settle(kernel):
    """Let every task that can run, run: the driver goes to the back of the ready queue
    until nothing is ahead of it."""
    for _ in range(10):
        yield from sleep(0)
        if not kernel._ready:
            return
    raise AssertionError("tasks were still ready after 10 turns")


def drive(kernel, maxsize, script):
    """The main task: runs ``script`` on a queue and on the model, checking each step."""
    queue, model = Queue(maxsize), Model(maxsize)
    actual, tasks, item_of = {}, {}, {}  # by operation number
    numbers = itertools.count()

    def producer(who, item):
        try:
            yield from queue.put(item)
        except QueueClosed:
            actual[who] = CLOSED
        except TaskCancelled:
            actual[who] = CANCELLED
            raise
        else:
            actual[who] = PUT

    def consumer(who):
        try:
            item = yield from queue.get()
        except QueueClosed:
            actual[who] = CLOSED
        except TaskCancelled:
            actual[who] = CANCELLED
            raise
        else:
            actual[who] = got(item)

    def put_nowait(who, item):
        try:
            queue.put_nowait(item)
        except QueueFull:
            actual[who] = FULL
        except QueueClosed:
            actual[who] = CLOSED
        else:
            actual[who] = PUT

    def get_nowait(who):
        try:
            actual[who] = got(queue.get_nowait())
        except QueueEmpty:
            actual[who] = EMPTY
        except QueueClosed:
            actual[who] = CLOSED

    for operation, index in script:
        who = next(numbers)
        item = item_of[who] = f"item {who}"
        if operation == "put":
            tasks[who] = yield from spawn(producer(who, item))
            model.put(who, item, wait=True)
        elif operation == "get":
            tasks[who] = yield from spawn(consumer(who))
            model.get(who, wait=True)
        elif operation == "put_nowait":
            put_nowait(who, item)
            model.put(who, item, wait=False)
        elif operation == "get_nowait":
            get_nowait(who)
            model.get(who, wait=False)
        elif operation == "put_nowait, cancel the getter it served" and model.getters:
            served = model.getters[0]  # handed the item, ready, and cancelled before it runs
            put_nowait(who, item)
            model.put(who, item, wait=False)
            yield from cancel(tasks[served])  # its get has returned: it keeps the item
        elif operation == "get_nowait, cancel the putter it freed" and model.putters:
            freed, _ = model.putters[0]  # its put is done: cancelled before it runs
            get_nowait(who)
            model.get(who, wait=False)
            yield from cancel(tasks[freed])  # its put has returned: the item stays put
        elif operation == "cancel a putter" and model.putters:
            yield from cancel(tasks[model.cancel_putter(index % len(model.putters))])
        elif operation == "cancel a getter" and model.getters:
            yield from cancel(tasks[model.cancel_getter(index % len(model.getters))])
        elif operation == "close":
            queue.close()
            model.close()
        yield from settle(kernel)

        assert actual == model.outcomes
        assert list(queue._items) == list(model.items) and len(queue) == len(model.items)
        assert len(queue._getters) == len(model.getters)
        assert len(queue._putters) == len(model.putters)
        assert queue.closed == model.closed
        waiting = set(model.getters) | {putter for putter, _ in model.putters}
        assert {who for who, task in tasks.items() if not task.done} == waiting
        # no item lost or duplicated: each one put is delivered once, or still queued
        delivered = [outcome[1] for outcome in actual.values() if outcome[0] == "got"]
        was_put = [item_of[who] for who, outcome in actual.items() if outcome == PUT]
        assert sorted(delivered + list(queue._items)) == sorted(was_put)
    # The tasks still waiting are cancelled as the run ends.


OPERATIONS = [
    "put", "get", "put_nowait", "get_nowait",
    "put_nowait, cancel the getter it served", "get_nowait, cancel the putter it freed",
    "cancel a putter", "cancel a getter", "close",
]


def script_leaning_to(more):
    """Scripts where ``more`` ("put" or "get") comes four times as often as the other,
    so that producers wait on a full queue in some, consumers on an empty one in
    others. A close is as rare as any other operation: nothing waits after it."""
    weighted = OPERATIONS + [more] * 3
    return st.lists(st.tuples(st.sampled_from(weighted), st.integers(0, 3)),
                    min_size=10, max_size=50)


scripts = st.sampled_from(["put", "get"]).flatmap(script_leaning_to)


@settings(max_examples=150, deadline=None)
@given(maxsize=st.integers(0, 3), script=scripts)
def test_a_queue_driven_by_tasks_does_what_the_model_says(maxsize, script):
    reported = []
    with Kernel(clock=FakeClock(), handle_signals=False,
                report_error=lambda error, context: reported.append((error, context))) as kernel:
        kernel.run(drive(kernel, maxsize, script))
        assert kernel.pending_timers() == 0
    assert reported == []
