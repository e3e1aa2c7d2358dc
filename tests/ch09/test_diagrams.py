"""Chapter 9's figure of who calls whom: drawn from the calls of one real TCP
connection, so its arrows carry the methods the parts really called."""

import inspect

from coro.reactor.protocol import Protocol
from tests.docs_extensions import drawn_texts, load_diagrams

diagrams = load_diagrams()
recorded_runs = diagrams.recorded_runs


def events_of_a_protocol():
    """The methods a transport calls on its protocol: the public ones of Protocol."""
    return [name for name, _ in inspect.getmembers(Protocol, inspect.isfunction)
            if not name.startswith("_") and name in vars(Protocol)]


def test_the_transport_tells_the_protocol_and_the_protocol_answers_through_it():
    calls = recorded_runs.one_connection().calls
    assert calls["Transport", "Protocol"] == [
        "connection_made", "data_received", "eof_received", "connection_lost"]
    assert sorted(calls["Transport", "Protocol"]) == sorted(events_of_a_protocol())
    assert calls["Protocol", "Transport"] == ["write", "lose_connection"]


def test_the_reactor_calls_the_transport_back_when_its_socket_is_ready():
    calls = recorded_runs.one_connection().calls
    assert {"_on_readable", "_on_writable"} <= set(calls["Reactor", "Transport"])
    assert "add_writer" in calls["Transport", "Reactor"]  # the greeting did not fit


def test_a_factory_builds_the_protocol_of_each_end():
    record = recorded_runs.one_connection()
    assert record.calls["Listener", "Factory"] == ["build_protocol"]
    assert record.calls["Connector", "Factory"] == ["build_protocol"]
    assert record.built == ("Factory", "build_protocol")


def test_the_figure_draws_every_call_of_the_record():
    record = recorded_runs.one_connection()
    texts = " ".join(drawn_texts(diagrams.transport_protocol_factory))
    for cls in recorded_runs.ROLES:
        assert cls.__name__ in texts
    for methods in record.calls.values():
        for method in methods:
            assert method in texts
