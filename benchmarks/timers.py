"""Timers: how long an event loop takes to fire 100,000 zero-delay timers.

    python -m benchmarks.timers coro-epoll|asyncio|uvloop|twisted|tornado|trio|... [--count N]

Each run schedules ``count`` timers with ``call_later(0, fire)`` (or the framework's
word for it), runs the loop until the last one has fired, and prints one line of
JSON: ``seconds`` from the first scheduling to the last firing, and ``fired``. The
runner starts a fresh process for each run, so that no loop inherits another's heap.

What is measured is the timer machinery: making a timer, keeping it in order with the
others, finding it due, calling it. Two frameworks have no callback timers:

- trio runs tasks, not callbacks, so each timer is a task that awaits
  ``trio.sleep(0)`` and then fires: the cost of a task is in the figure;
- gevent's callbacks-level equivalent is a timer watcher on its hub's loop,
  ``loop.timer(0).start(fire)``, which is what ``gevent.spawn_later`` sits on.
"""

import argparse
import json
import sys
import time

COUNT = 100_000


class _Countdown:
    """Counts firings; calls ``done()`` and notes the time when the last one fires."""

    def __init__(self, count, done):
        self.left = count
        self.done = done
        self.finished_at = None

    def fire(self):
        self.left -= 1
        if self.left == 0:
            self.finished_at = time.perf_counter()
            self.done()


def coro_timers(count, backend):
    from coro.io import multiplexer
    from coro.reactor.loop import Reactor

    reactor = Reactor(multiplexer.create(backend))
    countdown = _Countdown(count, reactor.stop)
    start = time.perf_counter()
    for _ in range(count):
        reactor.call_later(0, countdown.fire)
    reactor.run()
    reactor.close()
    return start, countdown


def asyncio_timers(count, new_event_loop):
    loop = new_event_loop()
    countdown = _Countdown(count, loop.stop)
    start = time.perf_counter()
    for _ in range(count):
        loop.call_later(0, countdown.fire)
    loop.run_forever()
    loop.close()
    return start, countdown


def twisted_timers(count):
    from twisted.internet import reactor

    countdown = _Countdown(count, reactor.stop)
    start = time.perf_counter()
    for _ in range(count):
        reactor.callLater(0, countdown.fire)
    reactor.run()
    return start, countdown


def tornado_timers(count):
    import asyncio

    from tornado.ioloop import IOLoop

    async def main():
        finished = asyncio.Event()
        countdown = _Countdown(count, finished.set)
        io_loop = IOLoop.current()
        start = time.perf_counter()
        for _ in range(count):
            io_loop.call_later(0, countdown.fire)
        await finished.wait()
        return start, countdown

    return asyncio.run(main())


def trio_timers(count):
    import trio

    async def fire_after_sleep(countdown):
        await trio.sleep(0)
        countdown.fire()

    async def main():
        countdown = _Countdown(count, lambda: None)
        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(count):
                nursery.start_soon(fire_after_sleep, countdown)
        return start, countdown

    return trio.run(main)


def gevent_timers(count):
    import gevent
    from gevent.event import Event

    finished = Event()
    countdown = _Countdown(count, finished.set)
    loop = gevent.get_hub().loop
    start = time.perf_counter()
    watchers = []  # a watcher that nothing refers to may be collected before it fires
    for _ in range(count):
        watcher = loop.timer(0)
        watcher.start(countdown.fire)
        watchers.append(watcher)
    finished.wait()
    return start, countdown


def _uvloop_loop():
    import uvloop

    return uvloop.new_event_loop()


def _asyncio_loop():
    import asyncio

    return asyncio.new_event_loop()


TIMERS = {
    "coro-select": lambda count: coro_timers(count, "select"),
    "coro-poll": lambda count: coro_timers(count, "poll"),
    "coro-epoll": lambda count: coro_timers(count, "epoll"),
    "asyncio": lambda count: asyncio_timers(count, _asyncio_loop),
    "uvloop": lambda count: asyncio_timers(count, _uvloop_loop),
    "twisted": twisted_timers,
    "tornado": tornado_timers,
    "trio": trio_timers,
    "gevent": gevent_timers,
}


#: What a figure means where a framework has no ``call_later`` of its own.
NOTES = {
    "trio": "trio timers: 100,000 tasks, each awaiting trio.sleep(0) and then calling "
            "back (trio has no callback timers)",
    "gevent": "gevent timers: timer watchers on the hub's loop, loop.timer(0).start(fn)",
}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.timers",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("loop", choices=sorted(TIMERS))
    parser.add_argument("--count", type=int, default=COUNT)
    args = parser.parse_args(argv)
    start, countdown = TIMERS[args.loop](args.count)
    if countdown.finished_at is None:
        print(f"timers {args.loop}: {countdown.left} of {args.count} timers never fired",
              file=sys.stderr)
        return 1
    print(json.dumps({"seconds": countdown.finished_at - start, "fired": args.count}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
