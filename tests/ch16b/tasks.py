"""Spawn and join several kernel tasks in one line, for the stories of these tests."""

from coro.kernel.traps import join, spawn


def spawn_all(*coros):
    """Spawn a task for each of ``coros``, in order; returns the tasks."""
    tasks = []
    for coro in coros:
        tasks.append((yield from spawn(coro)))
    return tasks


def join_all(tasks):
    """Join each of ``tasks``, in order; returns their results."""
    results = []
    for task in tasks:
        results.append((yield from join(task)))
    return results
