"""The chain simulator: its drawings are the contract, and the path it draws is the
one the real Deferred took, which a plain try/except model of the chain agrees with."""

import pytest
from hypothesis import given, strategies as st

from coro import chain_simulator
from coro.chain_simulator import (ACTIONS, CELL, LANES, CameBack, ChainSyntaxError, Fired, Ran,
                                  Returned, Run, Stage, draw, parse_chain, simulate)
from coro.deferred.failure import Failure
from tests.support import assert_one_line_usage_error, run_module

PROG = "python -m coro.chain_simulator"


def drawing(*words, fire="callback"):
    return draw(simulate(parse_chain(words), fire))


def test_a_raise_crosses_to_the_errbacks_and_a_recovery_crosses_back():
    assert drawing("ok/pass raise/pass pass/ok ok/pass") == """\
fired: d.callback('poem')
       callbacks      errbacks
            │
  1   [    ok    ]      pass      'poem' -> 'poem+1'
            │
  2   [  raise   ]      pass      'poem+1' -> raised ValueError('stage 2')
            └─────────────┐       to the errbacks
  3       pass      [    ok    ]  <Failure ValueError: stage 2> -> 'recovered 3'
            ┌─────────────┘       back to the callbacks
  4   [    ok    ]      pass      'recovered 3' -> 'recovered 3+4'
            │
result: 'recovered 3+4'"""


def test_a_returned_deferred_pauses_the_chain_until_it_fires():
    assert drawing("defer-ok/pass", "raise/pass", "pass/defer-fail", "pass/ok") == """\
fired: d.callback('poem')
       callbacks      errbacks
            │
  1   [ defer-ok ]      pass      'poem' -> <Deferred d1>
            ┆                     d.callback() returns; the chain waits for d1
            ┆                     later: d1.callback('poem+1')
            │
  2   [  raise   ]      pass      'poem+1' -> raised ValueError('stage 2')
            └─────────────┐       to the errbacks
  3       pass      [defer-fail]  <Failure ValueError: stage 2> -> <Deferred d2>
                          ┆       d1.callback() returns; the chain waits for d2
                          ┆       later: d2.errback(ValueError('d2'))
                          │
  4       pass      [    ok    ]  <Failure ValueError: d2> -> 'recovered 4'
            ┌─────────────┘       back to the callbacks
result: 'recovered 4'"""


def test_a_failure_nobody_handles_is_drawn_with_a_warning(unhandled_failures):
    assert drawing("ok/pass raise/pass", fire="errback") == """\
fired: d.errback(ValueError('fired'))
       callbacks      errbacks
                          │
  1        ok             │ pass  <Failure ValueError: fired> goes on
                          │
  2      raise            │ pass  <Failure ValueError: fired> goes on
                          │
result: <Failure ValueError: fired>
warning: unhandled error: no errback handled this Failure"""
    assert unhandled_failures.take() == []  # the simulator handled it after drawing


def test_the_records_tell_what_ran_in_order():
    run = simulate(parse_chain(["ok/pass defer-fail/pass pass/ok"]))
    d1 = run.records[2].returned
    error = run.records[4].value
    failure = run.records[5].result
    assert run.records == [
        Fired("d", "callback", "poem"),
        Ran(1, "callback", "poem", "poem+1"),
        Ran(2, "callback", "poem+1", d1),
        Returned("d", "callback"),  # the chain waits: no stage runs until d1 fires
        Fired("d1", "errback", error),
        CameBack("d1", failure),
        Ran(3, "errback", failure, "recovered 3"),
        Returned("d1", "errback"),
    ]
    assert run.names == {id(d1): "d1"}
    assert failure.value is error  # d1's own failure is what reached stage 3
    assert run.result == "recovered 3"


def test_the_drawing_follows_the_records_not_the_rules():
    # Records that no correct Deferred would write: an errback runs on a value. The
    # drawing shows what the records say, so it can only show what really ran.
    run = Run([Stage("ok", "ok")], "callback",
              records=[Fired("d", "callback", "poem"), Ran(1, "errback", "poem", "odd")],
              result="odd")
    row = draw(run).splitlines()[3]
    assert row.startswith("  1        ok       [    ok    ]  'poem' -> 'odd'")


# The property: whatever the chain, the drawn path is the try/except path.

def reference(chain, fire):
    """The chain worked out by plain synchronous code: the path and the result."""
    value, error = ("poem", None) if fire == "callback" else (None, ValueError("fired"))
    path, inner = [], 0
    for number, stage in enumerate(chain, start=1):
        side = "callback" if error is None else "errback"
        action = getattr(stage, side)
        path.append((number, side, action != "pass"))
        if action == "pass":
            continue
        inner += action.startswith("defer")
        try:
            if action == "raise":
                raise ValueError(f"stage {number}")
            if action == "defer-fail":
                raise ValueError(f"d{inner}")
            value, error = (f"{value}+{number}" if side == "callback"
                            else f"recovered {number}"), None
        except ValueError as exc:
            value, error = None, exc
    return path, repr(value) if error is None else f"<Failure ValueError: {error}>"


def drawn_path(text):
    """Read the path back from a drawing: the column marked on each stage's row."""
    path = []
    for line in text.splitlines():
        if not line[:3].strip().isdigit():
            continue
        cells = [line[start:start + CELL] for start in LANES]
        marked = [(side, cell.startswith("[")) for side, cell in zip(("callback", "errback"),
                                                                     cells)
                  if cell.startswith("[") or cell[CELL // 2:CELL // 2 + 1] == "│"]
        assert len(marked) == 1, line
        path.append((int(line[:3]), *marked[0]))
    return path


chains = st.lists(st.builds(Stage, st.sampled_from(ACTIONS), st.sampled_from(ACTIONS)),
                  min_size=1, max_size=10)


@given(chains, st.sampled_from(["callback", "errback"]))
def test_the_drawn_path_is_the_path_of_a_try_except_model(chain, fire):
    path, result = reference(chain, fire)
    run = simulate(chain, fire)
    text = draw(run)
    assert [(n, side, record is not None)
            for n, side, _, record in chain_simulator.path_of(run)] == path
    assert drawn_path(text) == path
    assert repr(run.result) == result
    assert f"\nresult: {result}" in text
    assert ("warning: unhandled error" in text) == isinstance(run.result, Failure)


@given(chains)
def test_no_stage_runs_while_the_chain_waits(chain):
    run = simulate(chain)
    for index, record in enumerate(run.records):
        if isinstance(record, Ran) and isinstance(record.returned, chain_simulator.Deferred):
            name = run.names[id(record.returned)]
            back = next(i for i, r in enumerate(run.records)
                        if isinstance(r, CameBack) and r.name == name)
            assert not any(isinstance(r, Ran) for r in run.records[index + 1:back])


# The command line.

def test_the_command_line_draws_the_chain():
    result = run_module("coro.chain_simulator", "--fire", "errback", "pass/ok", "ok/pass")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "fired: d.errback(ValueError('fired'))"
    assert result.stdout.splitlines()[-1] == "result: 'recovered 1+2'"
    assert result.stderr == ""


def test_help_explains_the_language_with_an_example():
    result = run_module("coro.chain_simulator", "--help")
    assert result.returncode == 0
    for action in ACTIONS:
        assert f"\n  {action} " in result.stdout
    assert "example: python -m coro.chain_simulator ok/pass raise/pass" in result.stdout


def test_usage_errors_are_one_line_naming_the_choices():
    for args in (["ok/boom"], ["ok"], [], ["--fire", "maybe", "ok/pass"], ["ok/pass/ok"]):
        result = run_module("coro.chain_simulator", *args)
        assert_one_line_usage_error(result, PROG)
    assert "ok, raise, pass, defer-ok, defer-fail" in run_module(
        "coro.chain_simulator", "raise/recover").stderr


def test_the_parser_takes_stages_in_one_word_or_many():
    assert parse_chain(["ok/pass raise/pass", "pass/ok"]) == [
        Stage("ok", "pass"), Stage("raise", "pass"), Stage("pass", "ok")]
    with pytest.raises(ChainSyntaxError, match="at most 99"):
        parse_chain(["ok/pass"] * 100)
