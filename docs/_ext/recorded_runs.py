"""Real runs of the reactor, recorded for the diagrams of chapters 8 and 9.

Each function here runs the real reactor on a small scenario and writes down, with
:func:`sys.setprofile`, who called what: the steps of one tick, and the calls between
the objects of one TCP connection (:mod:`recorded_tasks` does the same for the kernel's
tasks). :mod:`diagrams` draws these records, so the names in the figures are the
code's, and a renamed method or a changed step shows in the book when it is next built.
"""

import contextlib
import inspect
import re
import socket
import sys
from dataclasses import dataclass, field

from coro.io.clock import FakeClock
from coro.reactor import ClientFactory, Connector, Factory, Listener, Protocol, Reactor, Transport
from coro.reactor.tcp import connect


@contextlib.contextmanager
def profiling(profile):
    """Have ``profile(frame, event, arg)`` see every call and return in this thread."""
    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield
    finally:
        sys.setprofile(previous)


# -- chapter 8: one tick of the reactor ---------------------------------------

#: The reactor's methods that give it something to wait for.
SCHEDULING = ("call_soon", "call_later", "call_at", "add_reader", "add_writer")


@dataclass
class Step:
    """One numbered step of :meth:`Reactor.run_once`, and what it did in the traced tick.

    ``title`` is the step's name in the method's docstring, ``comment`` the numbered
    comment over its code; ``calls`` are ``"attribute.method"`` calls it made on the
    reactor's own objects, each once, in order; ``ran`` the callbacks it called.
    """

    number: int
    title: str
    comment: str
    calls: list = field(default_factory=list)
    ran: list = field(default_factory=list)


@dataclass
class Tick:
    """One traced tick, and where each scheduling method puts what it is given.

    ``places`` maps a reactor attribute (``_timers``, say) to the class of its value;
    ``entries`` maps it to the scheduling methods whose call made it grow; ``queued``
    holds ``(callback, "call_soon", fn)`` for each ``call_soon(fn)`` a callback of the
    tick made: the tick did not run ``fn``, the next one did.
    """

    steps: list
    places: dict
    entries: dict
    queued: list


def _steps_of_run_once():
    """The steps of a tick as the code writes them: the names in ``run_once``'s
    docstring, each with its numbered comment and the line where that comment is."""
    summary = inspect.getdoc(Reactor.run_once).splitlines()[0]
    titles = summary.partition(": ")[2].rstrip(".").split(", ")
    lines, first = inspect.getsourcelines(Reactor.run_once)
    comments = [(first + i, int(m[1]), m[2]) for i, line in enumerate(lines)
                if (m := re.match(r"\s*# (\d+)\. (.*)", line))]
    if [number for _, number, _ in comments] != list(range(1, len(titles) + 1)):
        raise RuntimeError(f"run_once's docstring names {len(titles)} steps, "
                           f"but its comments number {len(comments)}")
    return [(line, Step(number, title, comment))
            for (line, number, comment), title in zip(comments, titles)]


def _sizes(reactor):
    sizes = {}
    for name, value in vars(reactor).items():
        with contextlib.suppress(TypeError):
            sizes[name] = len(value)
    return sizes


def _nothing():
    """A callback that does nothing: it is only scheduled, to see where it waits."""


def _entries():
    """Which of the reactor's objects grows when each scheduling method is called:
    where what it is given waits for a tick to take it."""
    entries = {}
    with Reactor(clock=FakeClock(), handle_signals=False) as reactor:
        pair = socket.socketpair()
        with pair[0], pair[1]:
            arguments = {"call_soon": (_nothing,), "call_later": (1, _nothing),
                         "call_at": (1, _nothing), "add_reader": (pair[0], _nothing),
                         "add_writer": (pair[1], _nothing)}
            for method in SCHEDULING:
                before = _sizes(reactor)
                getattr(reactor, method)(*arguments[method])
                for name, size in _sizes(reactor).items():
                    if size > before.get(name, 0):
                        entries.setdefault(name, []).append(method)
            reactor.remove_reader(pair[0])
            reactor.remove_writer(pair[1])
    return entries


def reactor_tick():
    """Run one tick of a real :class:`Reactor` with a timer that is due, a readable and
    a writable socket, and a timer callback that calls ``call_soon``; record each step.

    Returns:
        A :class:`Tick`.
    """
    steps = _steps_of_run_once()
    code = Reactor.run_once.__code__
    queued, ran_now = [], []
    clock = FakeClock()
    with Reactor(clock=clock, handle_signals=False) as reactor:
        owners = {id(value): name for name, value in vars(reactor).items()
                  if not isinstance(value, (type(None), bool, int, float, str))}
        places = {name: type(vars(reactor)[name]).__name__ for name in owners.values()}
        reader, writer = socket.socketpair()
        with reader, writer:
            def on_readable():
                reader.recv(1)

            def on_writable():
                reactor.remove_writer(writer)

            def on_timer():
                reactor.call_soon(soon)

            def soon():
                ran_now.append(soon)

            writer.send(b"!")
            reactor.add_reader(reader, on_readable)
            reactor.add_writer(writer, on_writable)
            reactor.call_later(1, on_timer)
            clock.advance(1)

            def profile(frame, event, arg):
                if event not in ("call", "c_call"):
                    return
                caller = frame.f_back if event == "call" else frame
                if event == "call" and frame.f_code is Reactor.call_soon.__code__:
                    queued.append((caller.f_code.co_name, frame.f_code.co_name,
                                   frame.f_locals["fn"].__name__))
                if caller.f_code is not code:
                    return
                step = next(s for line, s in reversed(steps) if line <= caller.f_lineno)
                if event == "call":  # the receiver: self, or a built-in method's __self__
                    name, receiver = frame.f_code.co_name, frame.f_locals.get("self")
                else:
                    name, receiver = arg.__name__, getattr(arg, "__self__", None)
                owner = owners.get(id(receiver))
                if owner is not None and not name.startswith("__"):
                    if f"{owner}.{name}" not in step.calls:
                        step.calls.append(f"{owner}.{name}")
                elif event == "call" and owner is None:
                    step.ran.append(name)

            with profiling(profile):
                reactor.run_once()
            if not queued:
                raise RuntimeError("on_timer did not run, or did not call call_soon")
            if ran_now:
                raise RuntimeError("a callback scheduled in the tick ran in the same tick")
            reactor.run_once(0)
            if not ran_now:
                raise RuntimeError("a callback scheduled in the tick did not run in the next")
            reactor.remove_reader(reader)
    entries = _entries()
    touched = {call.partition(".")[0] for _, step in steps for call in step.calls}
    return Tick([step for _, step in steps], places,
                {name: methods for name, methods in entries.items() if name in touched},
                queued)


# -- chapter 9: who calls whom in one connection ------------------------------

#: The parts of a connection, by the class each is an instance of.
ROLES = (Reactor, Listener, Connector, Factory, Transport, Protocol)
#: What the server writes: more than the socket takes at once, so that the transport
#: keeps the rest and has the reactor call it back when there is room.
GREETING = b"a greeting longer than the socket buffer\n" * 8192


class _Reader(Protocol):
    """The client's protocol: it takes in what comes (and does nothing with it), and
    notes in a list it shares when the connection is lost."""

    def __init__(self, ends):
        self.ends = ends

    def connection_lost(self, reason):
        self.ends.append(reason)


class _Greeter(_Reader):
    """The server's protocol: write the greeting, and close once it is sent."""

    def connection_made(self, transport):
        super().connection_made(transport)
        transport.write(GREETING)
        transport.lose_connection()


@dataclass
class Connection:
    """The calls between the parts of one connection, as ``(caller, callee) ->
    [method, ...]``; a part is named by the class in :data:`ROLES` it is an instance
    of. ``built`` names the part whose method returned a new protocol, and that method.
    """

    calls: dict
    built: tuple


def _role(obj):
    return next((cls.__name__ for cls in ROLES if isinstance(obj, cls)), None)


def one_connection():
    """Serve one real TCP connection on 127.0.0.1, both ends on one reactor, and record
    each call from one part of the connection (:data:`ROLES`) to another.

    Returns:
        A :class:`Connection`.
    """
    calls, built = {}, []

    def profile(frame, event, arg):
        if event == "return" and isinstance(arg, Protocol) and (
                _role(frame.f_locals.get("self")) == "Factory"):
            built.append(("Factory", frame.f_code.co_name))
        if event != "call":
            return
        callee = _role(frame.f_locals.get("self"))
        name = frame.f_code.co_name
        if callee is None or name.startswith("__"):
            return
        caller_frame = frame.f_back
        while caller_frame is not None and _role(caller_frame.f_locals.get("self")) is None:
            caller_frame = caller_frame.f_back
        caller = caller_frame and _role(caller_frame.f_locals.get("self"))
        if caller is not None and caller != callee:
            key = (caller, callee, id(caller_frame.f_locals["self"]), id(frame.f_locals["self"]))
            methods = calls.setdefault(key, [])
            if name not in methods:
                methods.append(name)

    with Reactor(handle_signals=False) as reactor:
        server = socket.create_server(("127.0.0.1", 0))
        # A small send buffer, inherited by the accepted socket: the greeting cannot go
        # out in one send, whatever this system's defaults are.
        server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        ends = []
        listener = Listener(reactor, server, Factory(_Greeter, ends))
        with profiling(profile):
            connect(reactor, *listener.address, ClientFactory(_Reader, ends))
            while len(ends) < 2:
                reactor.run_once()
        listener.close()
    merged = {}
    for (caller, callee, _, _), methods in calls.items():
        _merge(merged.setdefault((caller, callee), []), methods)
    return Connection(merged, built[0])


def _merge(merged, sequence):
    """Add the names of ``sequence`` to ``merged``, each new one just after the name
    before it in ``sequence``: two objects' orders of calls become one order."""
    position = 0
    for name in sequence:
        if name in merged:
            position = merged.index(name) + 1
        else:
            merged.insert(position, name)
            position += 1
