"""Chapter 14: generators, the paused frames that the next two chapters schedule.

Chapters 10 to 13 wrote every program that waits as a chain of callbacks: the code
after a wait moves into a function of its own, called when the result arrives. This
chapter adds nothing to the runtime. It looks at the Python feature that lets code
which waits read like code which blocks: a generator is a function whose frame can
be paused, at a ``yield``, and resumed later by someone else, with a value or with an
exception. Each demo below shows one rule, and prints a trace of what happens, in
the order it happens: the caller's lines at the left margin, the generator's lines
indented under its name. The last demo is the first scheduler, from
:mod:`coro.round_robin`.

What it lacks: a scheduler that resumes a generator when something it waits for has
happened. Chapter 15 resumes one when a Deferred fires; chapter 16 builds a kernel
of generator tasks.

    python -m coro.generators [--list] [DEMO ...]
"""

import argparse
import sys
import traceback
from inspect import getgeneratorlocals, getgeneratorstate

from coro.round_robin import poem_lines, recite, run


def demo_paused():
    """A generator is a paused frame: calling it runs nothing; next() runs it."""

    def count_to(limit):
        print(f"    count_to: started with limit={limit}")
        total = 0
        for n in range(1, limit + 1):
            total += n
            print(f"    count_to: yield {n}")
            yield n
        print(f"    count_to: the loop is over, total={total}")

    print("caller: gen = count_to(2)")
    gen = count_to(2)
    print(f"caller: nothing has run: {getgeneratorstate(gen)}")
    for _ in range(2):
        print("caller: next(gen)")
        got = next(gen)
        print(f"caller: got {got}; {getgeneratorstate(gen)} "
              f"with locals {getgeneratorlocals(gen)}")
    print("caller: next(gen)")
    try:
        next(gen)
    except StopIteration:
        print("caller: StopIteration: the frame has returned; "
              f"{getgeneratorstate(gen)}")


def demo_send():
    """send(value) resumes the generator; the paused yield evaluates to value."""

    def running_total():
        total = 0
        while True:
            print(f"    running_total: yield {total}")
            number = yield total
            print(f"    running_total: the yield evaluated to {number}")
            total += number

    print("caller: gen = running_total()")
    gen = running_total()
    print("caller: gen.send(10)")
    try:
        gen.send(10)
    except TypeError as exc:
        print(f"caller: TypeError: {exc}")
    print(f"caller: still {getgeneratorstate(gen)}")
    print("caller: gen.send(None), which is next(gen)")
    print(f"caller: got {gen.send(None)}")
    for number in (10, 5):
        print(f"caller: gen.send({number})")
        print(f"caller: got {gen.send(number)}")


def demo_throw():
    """throw(exception) resumes the generator by raising it at the yield."""

    def patient():
        while True:
            try:
                print("    patient: yield 'waiting'")
                yield "waiting"
            except TimeoutError as exc:
                print(f"    patient: the yield raised {exc!r}; caught it")

    print("caller: gen = patient(); next(gen)")
    gen = patient()
    next(gen)
    print("caller: gen.throw(TimeoutError('too slow'))")
    got = gen.throw(TimeoutError("too slow"))
    print(f"caller: throw returned {got!r}, the next value yielded")
    print("caller: gen.throw(KeyError('no such poem'))")
    try:
        gen.throw(KeyError("no such poem"))
    except KeyError as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1].name
        print(f"caller: {exc!r} came out of throw, raised in {where}; "
              f"{getgeneratorstate(gen)}")


def demo_close():
    """close() raises GeneratorExit at the yield; finally blocks run."""

    def reciter():
        try:
            print("    reciter: yield 'first line'")
            yield "first line"
            print("    reciter: yield 'second line'")
            yield "second line"
        finally:
            print("    reciter: finally: put the book away")

    def stubborn():
        try:
            yield "first line"
        except GeneratorExit:
            print("    stubborn: caught GeneratorExit, and yields anyway")
            yield "one more line"

    print("caller: gen = reciter(); next(gen)")
    gen = reciter()
    next(gen)
    print("caller: gen.close()")
    result = gen.close()
    print(f"caller: close returned {result}; {getgeneratorstate(gen)}")
    print("caller: gen = reciter(); next(gen)")
    gen = reciter()
    next(gen)
    print("caller: del gen")
    del gen  # CPython frees it at once, and freeing a paused generator closes it
    print("caller: gen = stubborn(); next(gen)")
    gen = stubborn()
    next(gen)
    print("caller: gen.close()")
    try:
        gen.close()
    except RuntimeError as exc:
        print(f"caller: RuntimeError: {exc}")


def demo_return():
    """A return value travels in StopIteration.value; a for loop drops it."""

    def recite(lines):
        for line in lines:
            yield line
        return len(lines)

    lines = ["Tyger Tyger,", "burning bright"]
    print(f"caller: lines = {lines}")
    print(f"caller: list(recite(lines)) is {list(recite(lines))}, and no 2")
    print("caller: gen = recite(lines)")
    gen = recite(lines)
    while True:
        try:
            line = next(gen)
        except StopIteration as stop:
            print(f"caller: {stop!r}: it returned {stop.value}")
            break
        print(f"caller: got {line!r}")


def demo_yield_from():
    """yield from hands everything to a subgenerator, and is its return value."""

    def inner():
        try:
            print("    inner: yield 1")
            got = yield 1
            print(f"    inner: the yield evaluated to {got!r}")
            print("    inner: yield 2")
            yield 2
        except ValueError as exc:
            print(f"    inner: caught {exc!r}; return 'recovered'")
            return "recovered"
        finally:
            print("    inner: finally")

    def outer():
        try:
            print("  outer: yield from inner()")
            result = yield from inner()
            print(f"  outer: yield from inner() evaluated to {result!r}")
            print("  outer: yield 3")
            yield 3
        finally:
            print("  outer: finally")

    print("caller: gen = outer(); next(gen)")
    gen = outer()
    print(f"caller: got {next(gen)}")
    print("caller: gen.send('hello')")
    print(f"caller: got {gen.send('hello')}")
    print("caller: gen.throw(ValueError('bad line'))")
    print(f"caller: got {gen.throw(ValueError('bad line'))}")
    print("caller: gen.close()")
    gen.close()
    print("caller: gen = outer(); next(gen)")
    gen = outer()
    next(gen)
    print("caller: gen.close()")
    gen.close()


def demo_stop_iteration():
    """PEP 479: a StopIteration escaping a generator becomes a RuntimeError."""
    poems = [["Tyger Tyger, burning bright,"], [],
             ["Ich weiß nicht, was soll es bedeuten,"]]

    def first_lines(poems):
        for poem in poems:
            yield next(iter(poem))  # the empty poem: next() raises StopIteration

    class FirstLines:
        """The same loop as an iterator class, with the same mistake."""

        def __init__(self, poems):
            self.poems = iter(poems)

        def __iter__(self):
            return self

        def __next__(self):
            return next(iter(next(self.poems)))

    print("caller: for line in first_lines(poems)")
    try:
        for line in first_lines(poems):
            print(f"caller: got {line!r}")
    except RuntimeError as exc:
        print(f"caller: RuntimeError: {exc}, from {exc.__cause__!r}")
    print("caller: for line in FirstLines(poems)")
    for line in FirstLines(poems):
        print(f"caller: got {line!r}")
    print("caller: the loop ended without an error, and the third poem was lost")


def demo_round_robin():
    """The first scheduler: generators that take turns, from coro.round_robin."""
    tasks = [recite(poem_lines("lorelei")[:2]), recite(poem_lines("tyger")[:3])]
    results = run(tasks)
    print(f"caller: run() returned {results}")


#: The demos by name, in the order of the chapter.
DEMOS = {
    "paused": demo_paused,
    "send": demo_send,
    "throw": demo_throw,
    "close": demo_close,
    "return": demo_return,
    "yield-from": demo_yield_from,
    "stop-iteration": demo_stop_iteration,
    "round-robin": demo_round_robin,
}


def summary(name):
    """The first line of a demo's docstring: the rule it shows."""
    return DEMOS[name].__doc__.splitlines()[0]


def heading(name):
    """The line printed above a demo when several run."""
    return f"=== {name}: {summary(name)}\n"


class _UsageError(Exception):
    """A mistake on the command line, told in one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError(message)


def main(argv=None):
    """Run the demos named on the command line, or all; return the exit status."""
    prog = "python -m coro.generators"
    parser = _Parser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("demos", nargs="*", metavar="DEMO",
                        help="a demo to run (default: all, in order): "
                             + ", ".join(DEMOS))
    parser.add_argument("--list", action="store_true", help="name the demos and stop")
    try:
        options = parser.parse_args(argv)
        unknown = [name for name in options.demos if name not in DEMOS]
        if unknown:
            raise _UsageError(f"unknown demo {unknown[0]!r} "
                              f"(the demos: {', '.join(DEMOS)})")
    except _UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    if options.list:
        for name in DEMOS:
            print(f"{name:15} {summary(name)}")
        return 0
    chosen = options.demos or list(DEMOS)
    for number, name in enumerate(chosen):
        if len(chosen) > 1:
            print(("\n" if number else "") + heading(name), end="")
        DEMOS[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
