"""Failure: an exception kept, with its type and traceback, to be handled later."""

import pytest

from coro.deferred.failure import Failure, NoCurrentExceptionError


def raise_key_error():
    raise KeyError("ecstasy")


def caught(fn):
    try:
        fn()
    except Exception:  # noqa: BLE001 - the test wants whatever fn raised
        return Failure()
    raise AssertionError(f"{fn} did not raise")


def test_a_failure_made_in_an_except_block_wraps_the_exception_being_handled():
    failure = caught(raise_key_error)
    assert failure.type is KeyError
    assert failure.value.args == ("ecstasy",)
    assert failure.tb is failure.value.__traceback__


def test_a_failure_keeps_the_traceback_of_where_the_exception_was_raised():
    text = caught(raise_key_error).get_traceback()
    assert "in raise_key_error" in text
    assert text.rstrip().endswith("KeyError: 'ecstasy'")


def test_failure_with_no_argument_outside_an_except_block_is_a_clear_error():
    with pytest.raises(NoCurrentExceptionError, match="inside an 'except' block"):
        Failure()


def test_a_failure_can_wrap_an_exception_that_was_never_raised():
    failure = Failure(ConnectionRefusedError("refused"))
    assert failure.type is ConnectionRefusedError
    assert failure.tb is None
    assert failure.get_error_message() == "refused"


def test_a_failure_wraps_exceptions_only():
    with pytest.raises(TypeError, match="wraps an exception, not 'oops'"):
        Failure("oops")


def test_check_returns_the_first_type_that_matches_else_none():
    failure = Failure(ConnectionRefusedError())
    assert failure.check(KeyError) is None
    assert failure.check(KeyError, OSError, ConnectionRefusedError) is OSError
    assert failure.check() is None


def test_trap_returns_the_type_that_matches():
    assert Failure(TimeoutError()).trap(KeyError, TimeoutError) is TimeoutError


def test_trap_re_raises_the_original_exception_when_nothing_matches():
    failure = caught(raise_key_error)
    with pytest.raises(KeyError) as info:
        failure.trap(ValueError, TimeoutError)
    assert info.value is failure.value
    assert "raise_key_error" in "".join(str(entry) for entry in info.traceback)


def test_raise_exception_raises_it_again_with_its_traceback():
    failure = caught(raise_key_error)
    with pytest.raises(KeyError) as info:
        failure.raise_exception()
    assert info.value is failure.value
    assert any(entry.name == "raise_key_error" for entry in info.traceback)


def test_the_error_message_falls_back_to_the_type_name():
    assert Failure(TimeoutError()).get_error_message() == "TimeoutError"
    assert repr(Failure(ValueError("bad poem"))) == "<Failure ValueError: bad poem>"
