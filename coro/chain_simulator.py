"""Chapter 11: a Deferred's chain, drawn from a real run.

A chain is easier to follow on paper: two columns, callbacks on the left and
errbacks on the right, one row per stage, and the path the result takes down them,
crossing over when a callback raises or an errback recovers. This module draws that
picture from a run, not from the rules: it builds a real
:class:`~coro.deferred.deferred.Deferred` with the stages it is given, fires it, and each stage
function writes down what it got and what it returned as it runs. The drawing is made
from those notes alone; a row where no note was written is a stage that had nothing
to run on the result's side, so the result passed through it unchanged.

Each stage is written ``CALLBACK/ERRBACK``, one action for each side, as
:meth:`~coro.deferred.deferred.Deferred.add_callbacks` adds them (N is the stage's number):

==============  ==================================================================
``ok``          return a value: a callback adds ``+N`` to what it got, an errback
                returns ``'recovered N'``
``raise``       raise ``ValueError('stage N')``
``pass``        nothing on this side: the result goes on unchanged
``defer-ok``    return a Deferred, ``d1``, ``d2``..., that has not fired; it fires
                later with the value ``ok`` would have returned
``defer-fail``  the same, but it fails later, with ``ValueError('d1')``
==============  ==================================================================

``ok/pass`` is what ``add_callback`` adds, ``pass/ok`` what ``add_errback`` adds.
The chain is fired with ``d.callback('poem')`` or, with ``--fire errback``, with
``d.errback(ValueError('fired'))``; the inner Deferreds are fired, in the order they
were made, once the call that fired the chain has returned. A chain that ends in a
Failure is drawn with a warning; the simulator then handles that Failure itself, so
that nothing is reported again when the Deferred is garbage-collected.

    python -m coro.chain_simulator [--fire callback|errback] CALLBACK/ERRBACK ...
"""

import argparse
import sys
from dataclasses import dataclass, field

from coro.deferred.deferred import Deferred
from coro.deferred.failure import Failure

#: What one side of a stage can do.
ACTIONS = ("ok", "raise", "pass", "defer-ok", "defer-fail")
SIDES = ("callback", "errback")
#: The longest chain drawn.
MAX_STAGES = 99
FIRST_VALUE = "poem"


class ChainSyntaxError(ValueError):
    """A chain description that does not follow the language."""


@dataclass(frozen=True)
class Stage:
    """What each side of one stage does: one of :data:`ACTIONS`."""

    callback: str
    errback: str


def parse_chain(words):
    """Read a chain description: ``CALLBACK/ERRBACK`` per stage, spaces between.

    Args:
        words: Command-line words; each may hold several stages.

    Returns:
        A list of :class:`Stage`.

    Raises:
        ChainSyntaxError: A stage is not two actions of :data:`ACTIONS` around a
            slash, there is no stage, or there are more than :data:`MAX_STAGES`.
    """
    chain = []
    for word in " ".join(words).split():
        callback, slash, errback = word.partition("/")
        if not slash or callback not in ACTIONS or errback not in ACTIONS:
            raise ChainSyntaxError(
                f"bad stage {word!r}: write CALLBACK/ERRBACK, each one of "
                f"{', '.join(ACTIONS)} (e.g. ok/pass)")
        chain.append(Stage(callback, errback))
    if not chain:
        raise ChainSyntaxError("no stage: give at least one CALLBACK/ERRBACK, e.g. ok/pass")
    if len(chain) > MAX_STAGES:
        raise ChainSyntaxError(f"{len(chain)} stages: at most {MAX_STAGES}, please")
    return chain


# What a run writes down, in the order it happens.

@dataclass(frozen=True)
class Fired:
    """``target`` was fired: ``d`` (the chain) or ``d1``, ``d2``... (inner Deferreds),
    with ``target.callback(value)`` or ``target.errback(value)``."""

    target: str
    how: str
    value: object


@dataclass(frozen=True)
class Returned:
    """The call that fired ``target`` returned to its caller."""

    target: str
    how: str


@dataclass(frozen=True)
class Ran:
    """The ``side`` function of stage ``stage`` ran: it got ``got``, and returned
    ``returned`` or, when ``raised`` is True, raised it."""

    stage: int
    side: str
    got: object
    returned: object
    raised: bool = False


@dataclass(frozen=True)
class CameBack:
    """Inner Deferred ``name`` fired, and its last stage handed ``result`` on."""

    name: str
    result: object


@dataclass
class Run:
    """A chain, what happened when it was fired, and how it ended.

    ``records`` are in the order things happened. Inner Deferreds are named ``d1``,
    ``d2``... in the order they were made; ``names`` maps ``id(deferred)`` to that name.
    """

    chain: list
    fire: str
    records: list = field(default_factory=list)
    names: dict = field(default_factory=dict)
    result: object = None


def simulate(chain, fire="callback"):
    """Build a real Deferred from ``chain``, fire it, and record what each stage does.

    Inner Deferreds (``defer-ok``, ``defer-fail``) are fired by the simulator itself,
    in the order they were made, once the call that fired the chain has returned.

    Args:
        chain: A list of :class:`Stage`.
        fire: ``"callback"`` or ``"errback"``: how the chain is fired.

    Returns:
        A :class:`Run`; its ``result`` is the Deferred's result at the end.
    """
    run = Run(chain, fire)
    later = []  # (name, inner Deferred, how to fire it, with what), not fired yet

    def stage_function(number, side, action):
        def stage(got):
            value = f"{got}+{number}" if side == "callback" else f"recovered {number}"
            if action == "ok":
                run.records.append(Ran(number, side, got, value))
                return value
            if action == "raise":
                error = ValueError(f"stage {number}")
                run.records.append(Ran(number, side, got, error, raised=True))
                raise error
            inner = Deferred()
            name = run.names[id(inner)] = f"d{len(run.names) + 1}"
            if action == "defer-ok":
                later.append((name, inner, "callback", value))
            else:
                later.append((name, inner, "errback", ValueError(name)))
            inner.add_both(came_back, name)
            run.records.append(Ran(number, side, got, inner))
            return inner
        return stage

    def came_back(result, name):
        run.records.append(CameBack(name, result))
        return result

    def fire_and_record(name, deferred, how, value):
        run.records.append(Fired(name, how, value))
        if how == "callback":
            deferred.callback(value)
        else:
            deferred.errback(value)
        run.records.append(Returned(name, how))

    d = Deferred()
    for number, stage in enumerate(chain, start=1):
        callback, errback = (None if action == "pass" else
                             stage_function(number, side, action)
                             for side, action in zip(SIDES, (stage.callback, stage.errback)))
        d.add_callbacks(callback or _pass_on, errback)
    fire_and_record("d", d, fire, FIRST_VALUE if fire == "callback" else ValueError("fired"))
    while later:
        fire_and_record(*later.pop(0))
    run.result = d.result
    if isinstance(run.result, Failure):
        d.add_errback(_handled_by_the_simulator)
    return run


def _pass_on(result):
    return result


def _handled_by_the_simulator(failure):
    return None  # drawn as unhandled already; not to be reported again when collected


# The drawing.

CELL = 12
LANES = (6, 6 + CELL + 2)  # where each column's cell starts, after the stage number
CENTRES = tuple(start + CELL // 2 for start in LANES)
NOTES = LANES[1] + CELL + 2  # where the notes start


def path_of(run):
    """Each stage's row of the drawing: ``(stage, side, got, record)``.

    ``side`` is the column the result was in at that stage and ``got`` the result
    itself; ``record`` is the :class:`Ran` of the function that ran there, or None
    when that side was ``pass`` (nothing ran). Worked out from the records alone.
    """
    ran = {r.stage: r for r in run.records if isinstance(r, Ran)}
    rows = []
    current = _first_result(run)
    for number in range(1, len(run.chain) + 1):
        record = ran.get(number)
        if record is None:
            rows.append((number, _side_of(current), current, None))
        else:
            rows.append((number, record.side, record.got, record))
            current = _outcome_of(run, record)
    return rows


def _first_result(run):
    fired = run.records[0]
    return fired.value if fired.how == "callback" else Failure(fired.value)


def _outcome_of(run, record):
    """What stage ``record`` handed on: a value, a Failure, or what its Deferred gave."""
    if record.raised:
        return Failure(record.returned)
    if isinstance(record.returned, Deferred):
        return run.records[_came_back_at(run, record)].result
    return record.returned


def _came_back_at(run, record):
    """Where in the records the Deferred that ``record`` returned handed its result on."""
    name = run.names[id(record.returned)]
    return next(i for i, r in enumerate(run.records)
                if isinstance(r, CameBack) and r.name == name)


def _side_of(result):
    return "errback" if isinstance(result, Failure) else "callback"


def show(run, thing):
    """The text for a value, a Failure, an exception or an inner Deferred."""
    if isinstance(thing, Deferred):
        return f"<Deferred {run.names[id(thing)]}>"
    if isinstance(thing, BaseException):
        return f"{type(thing).__name__}({str(thing)!r})"
    return repr(thing)


def draw(run):
    """The picture of a run: a row per stage, the path between them, the result.

    Returns:
        The drawing, as lines of text without a final newline.
    """
    first = run.records[0]
    lines = [f"fired: {first.target}.{first.how}({show(run, first.value)})",
             _line({0: "callbacks".center(CELL), 1: "errbacks".center(CELL)}, start=LANES),
             _line({SIDES.index(first.how): "│"})]
    rows = path_of(run)
    for (number, side, got, record), after in zip(rows, rows[1:] + [None]):
        lane = SIDES.index(side)
        stage = run.chain[number - 1]
        cells = {0: stage.callback.center(CELL), 1: stage.errback.center(CELL)}
        if record is None:
            cells[lane] = " " * (CELL // 2) + "│ pass"
            note = f"{show(run, got)} goes on"
        else:
            cells[lane] = f"[{getattr(stage, side).center(CELL - 2)}]"
            outcome = "raised " if record.raised else ""
            note = f"{show(run, got)} -> {outcome}{show(run, record.returned)}"
        lines.append(f"{number:>3}" + _line(cells, note, start=LANES)[3:])
        if record is not None and isinstance(record.returned, Deferred):
            lines.extend(_line({lane: "┆"}, note) for note in _pause(run, record))
        next_side = after[1] if after else _side_of(run.result)
        lines.append(_connector(lane, SIDES.index(next_side)))
    lines.append(f"result: {show(run, run.result)}")
    if isinstance(run.result, Failure):
        lines.append("warning: unhandled error: no errback handled this Failure")
    return "\n".join(line.rstrip() for line in lines)


def _pause(run, record):
    """What happened while the chain waited on the Deferred that ``record`` returned."""
    name = run.names[id(record.returned)]
    start = next(i for i, r in enumerate(run.records) if r is record)
    for r in run.records[start + 1:_came_back_at(run, record)]:
        if isinstance(r, Returned):
            yield f"{r.target}.{r.how}() returns; the chain waits for {name}"
        elif isinstance(r, Fired):
            yield f"later: {r.target}.{r.how}({show(run, r.value)})"


def _line(marks, note="", *, start=CENTRES):
    """A line with ``marks[lane]`` placed in each lane, then ``note`` in the notes column."""
    text = ""
    for lane, mark in sorted(marks.items()):
        text = text.ljust(start[lane]) + mark
    return (text.ljust(NOTES) + note) if note else text


def _connector(top, bottom):
    """The path from one row to the next: straight down, or across to the other side."""
    if top == bottom:
        return _line({top: "│"})
    across = "─" * (CENTRES[1] - CENTRES[0] - 1)
    if bottom:
        return _line({0: "└" + across + "┐"}, "to the errbacks")
    return _line({0: "┌" + across + "┘"}, "back to the callbacks")


class _UsageError(Exception):
    """A mistake on the command line, told in one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError(message)


def main(argv=None):
    """Draw the chain given on the command line; return the exit status."""
    prog = "python -m coro.chain_simulator"
    parser = _Parser(prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter,
                     description=__doc__.split("\n\n")[0] + "\n\n" + _LANGUAGE)
    parser.add_argument("stages", nargs="*", metavar="CALLBACK/ERRBACK",
                        help="one stage; each side one of " + ", ".join(ACTIONS))
    parser.add_argument("--fire", choices=SIDES, default="callback",
                        help="fire with d.callback('poem') or d.errback(ValueError('fired')) "
                             "(default: callback)")
    try:
        options = parser.parse_args(argv)
        chain = parse_chain(options.stages)
    except (_UsageError, ChainSyntaxError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    print(draw(simulate(chain, options.fire)))
    return 0


_LANGUAGE = """\
Each stage is CALLBACK/ERRBACK: what its callback and its errback do, each one of
  ok          return a value: 'poem+N' from a callback, 'recovered N' from an errback
  raise       raise ValueError('stage N')
  pass        nothing on this side: the result goes on unchanged
  defer-ok    return a Deferred (d1, d2...) that fires later, with what ok returns
  defer-fail  return a Deferred that fails later, with ValueError('d1')
(N is the stage's number.) ok/pass is what add_callback adds, pass/ok what
add_errback adds.

example: python -m coro.chain_simulator ok/pass raise/pass pass/ok ok/pass"""


if __name__ == "__main__":
    sys.exit(main())
