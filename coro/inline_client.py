"""Chapter 15: chapter 12's client, with each task written as straight-line code that waits.

Chapter 12's ``get_transformed_poem`` downloads a poem, has it transformed, and keeps
it as it was if the transform fails; it says so with a callback that returns a
Deferred and an errback that traps three kinds of error, each in a function of its
own. Here it is one generator under :func:`~coro.deferred.inline.inline_callbacks`: it yields
the download's Deferred and gets the poem, yields the transform's and gets the new
poem, and catches the transform's errors with ``try``/``except``. It runs on the same
reactor, from the same Deferreds, one step per event; only the way it is written has
changed. Each task is a generator too, and so is the run: it waits for a
:class:`~coro.deferred.deferred_list.DeferredList` of the tasks, then stops the reactor.

With ``--async``, each task is an ``async def`` coroutine that ``await``\\ s the same
Deferreds instead, run by :func:`~coro.deferred.inline.ensure_deferred`. The command line and
the output are chapter 12's, with chapter 13's ``--deadline``, which cancels the run's
DeferredList, and so each task still running:

    python -m coro.inline_client --transform-server [HOST:]PORT [--transform NAME] [--async]
                                 [--deadline SECONDS] [--timeout SECONDS] [--save DIR]
                                 [--timeline] [HOST:]PORT ...

What it still lacks: underneath, every wait is still a Deferred with a chain of
callbacks, and the reactor still calls them. Chapter 16 keeps the straight-line code
and drops the Deferreds: a kernel runs the generators itself.
"""

import sys

from coro import cli, transform_client
from coro.deferred.deferred import CancelledError
from coro.deferred.deferred_list import DeferredList
from coro.deferred.inline import ensure_deferred, inline_callbacks
from coro.deferred_client import get_poetry
from coro.io import multiplexer
from coro.reactor.loop import Reactor
from coro.trace import Event
from coro.transform_client import BadReply, TransformError, describe_transform_failure, transform


@inline_callbacks
def get_transformed_poem(reactor, address, transformer, name, *,
                         timeout, trace, task, warn):
    """Download the poem at ``address``, then have it transformed, or keep it as is.

    Args:
        transformer: The transform server's ``(host, port)``.
        name: The transform to ask for.
        warn: Called as ``warn(task, exception)`` when the transform fails.

    Returns:
        A Deferred that fires with the poem, transformed or as it was, or fails
        with the download's error.
    """
    poem = yield get_poetry(reactor, *address, timeout=timeout, trace=trace, task=task)
    try:
        poem = yield transform(reactor, *transformer, name, poem, timeout=timeout)
    except (TransformError, BadReply, OSError) as error:
        warn(task, error)  # and keep the poem as it was
    return poem


async def get_transformed_poem_async(reactor, address, transformer, name, *,
                                     timeout, trace, task, warn):
    """:func:`get_transformed_poem` as a native coroutine: ``await`` for ``yield``.

    Returns:
        A coroutine, for :func:`~coro.deferred.inline.ensure_deferred` to run.
    """
    poem = await get_poetry(reactor, *address, timeout=timeout, trace=trace, task=task)
    try:
        poem = await transform(reactor, *transformer, name, poem, timeout=timeout)
    except (TransformError, BadReply, OSError) as error:
        warn(task, error)  # and keep the poem as it was
    return poem


def download_all(addresses, *, timeout, trace, done, transform_server, transform_name,
                 use_async=False, backend=None, deadline=None):
    """Download the poems at the same time and have each transformed as it arrives.

    Args:
        use_async: Run each task's ``async def`` version instead of its generator.
        deadline: Seconds the whole run may take; the tasks still running then are
            cancelled. None for no deadline.
    """
    stopping = False

    def warn(task, error):
        if not stopping:  # closing after Ctrl-C cuts the transforms short: no news
            reason = describe_transform_failure(error, transform_server, timeout)
            print(f"Task {task}: transform failed ({reason}); kept the poem as it was",
                  flush=True)

    def get_transformed(reactor, address, task):
        arguments = (reactor, address, transform_server, transform_name)
        options = {"timeout": timeout, "trace": trace, "task": task, "warn": warn}
        if use_async:
            return ensure_deferred(get_transformed_poem_async(*arguments, **options))
        return get_transformed_poem(*arguments, **options)

    @inline_callbacks
    def run_task(reactor, task, address):
        trace.record(task, Event.START)
        try:
            poem = yield get_transformed(reactor, address, task)
        except Exception as error:  # noqa: BLE001 - whatever it is, the task failed
            if isinstance(error, CancelledError):  # only the deadline cancels a task
                error = cli.DeadlinePassed(deadline)
            if not stopping:
                done(task, error=error)
        else:
            if not stopping:
                done(task, poem=poem)

    @inline_callbacks
    def run_all(reactor):
        tasks = [run_task(reactor, task, address)
                 for task, address in enumerate(addresses, start=1)]
        # A failure that reaches the list is a bug in done(), not a task's failure: it
        # stays on its task's Deferred, to be reported.
        everything = DeferredList(tasks)
        if deadline is not None:  # then cancel the list, and so each task in it
            everything.add_timeout(deadline, reactor)
        yield everything
        reactor.stop()

    with Reactor(multiplexer.create(backend)) as reactor:
        reactor.call_when_running(run_all, reactor)  # so that stop() comes after run()
        try:
            reactor.run()
        finally:
            stopping = True
    if reactor.stopped_by:
        raise KeyboardInterrupt


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m coro.inline_client",
                    description=__doc__.split("\n\n")[0], finishing_order=True, stage_options=[
                        *transform_client.STAGE_OPTIONS,
                        (("--async",),
                         {"action": "store_true", "dest": "use_async",
                          "help": "run each task as an 'async def' coroutine that awaits "
                                  "the Deferreds, not a generator that yields them"}),
                        cli.DEADLINE_OPTION,
                    ])


if __name__ == "__main__":
    sys.exit(main())
