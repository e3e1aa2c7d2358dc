"""The testing layer: the book's own ways of testing asynchronous code, as a toolkit
(chapter 17).

It stands on every layer before it and adds nothing to them. Its pytest plugin,
:mod:`coro.testing.plugin`, is loaded by pytest itself once the package is installed
(the ``pytest11`` entry point ``coro``); nothing else here imports pytest.
"""
