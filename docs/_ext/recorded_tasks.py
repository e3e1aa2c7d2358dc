"""A real run of the kernel, recorded for the diagram of a task's states (chapter 16).

:func:`task_states` runs tasks that yield every trap of the kernel's table and writes
down, with :func:`sys.setprofile` (:func:`recorded_runs.profiling`), each change of a
task's state and what made it: a trap, by its class name, or the kernel's method that
did it. :mod:`diagrams` draws the record, so the figure's states are the code's and its
traps the kernel's own; a trap added to the table fails the build until the run makes it.
"""

import socket
from dataclasses import dataclass

from coro.io.clock import FakeClock
from coro.kernel import traps
from coro.kernel.loop import Kernel
from coro.kernel.task import SUSPEND, TaskState, Waiting
from coro.kernel.timeouts import timeout_after
from coro.kernel.wait_queue import WaitQueue
from recorded_runs import profiling


@dataclass(frozen=True)
class Move:
    """A task went from state ``before`` to ``after`` (names of
    :class:`~coro.kernel.task.TaskState`; ``before`` is None for a new task), waiting
    ``kind`` (a :class:`~coro.kernel.task.Waiting` name) at either end, moved ``by`` a
    trap, or by the kernel method that did it; ``exception`` is what it was woken with."""

    before: str
    after: str
    kind: str
    by: str
    exception: str = None


@dataclass
class TaskStates:
    """Every move seen in one run, in order, each once; ``answers`` maps each trap of
    the kernel's table to how its handler answered (``"suspended"`` or ``"at once"``),
    and ``endings`` says how the tasks of the run ended."""

    moves: list
    answers: dict
    endings: list


def _every_trap_once(a, b):
    """A run that yields each trap of the kernel's table, each in its usual way."""

    def reader():
        yield from traps.wait_readable(a)
        return a.recv(1)

    def napper():
        yield from traps.sleep(60)

    def impatient():
        try:
            yield from timeout_after(1, traps.sleep(60))
        except TimeoutError:
            return "timed out"

    lot = WaitQueue("a wait queue")

    def parked():
        return (yield from lot.park())

    def main():
        yield from traps.current_task()
        waiter = yield from traps.spawn(parked())
        yield from traps.run_in_thread(len, "a thread")
        lot.unpark("unparked")
        yield from traps.join(waiter)
        first = yield from traps.spawn(reader())
        asleep = yield from traps.spawn(napper())
        late = yield from traps.spawn(impatient())
        yield from traps.wait_writable(b)
        b.send(b"!")
        yield from traps.wait_any([first, late])
        yield from traps.join(late)
        yield from traps.sleep(0.5)
        yield from traps.cancel(asleep)

    return main()


def task_states():
    """Run :func:`_every_trap_once` on a real :class:`Kernel` and record each change of a
    task's state, and what made it.

    Raises:
        RuntimeError: if the run left a trap of the kernel's table unused, or a kind of
            wait unused or never ended: the scenario must grow with the kernel.
    """
    tasks, seen, moves, answers, handling = [], {}, [], {}, []

    def recording(trap_class, handler):
        def handle(task, trap):
            handling.append(trap_class.__name__)
            try:
                answer = handler(task, trap)
            finally:
                handling.pop()
            how = "suspended" if answer is SUSPEND else "at once"
            answers.setdefault(trap_class.__name__, set()).add(how)
            return answer
        return handle

    def mover(frame):
        if handling:
            return handling[-1]
        if frame.f_code.co_name == "_wake":
            frame = frame.f_back
        return frame.f_code.co_qualname

    def profile(frame, event, arg):
        if event == "return" and frame.f_code is Kernel._new_task.__code__:
            tasks.append(arg)
            seen[arg] = (arg.state, None)
            _add(moves, Move(None, arg.state.name, None, mover(frame.f_back)))
        if event not in ("call", "return"):
            return
        for task in tasks:
            now = (task.state, task._wait_kind)
            if now == seen[task]:
                continue
            (before, waited), seen[task] = seen[task], now
            if task.state is TaskState.WAITING:
                kind = task._wait_kind.name
            else:
                kind = waited.name if before is TaskState.WAITING else None
            changer = frame.f_back if event == "call" else frame  # it ran the change
            woken_with = task._exc and type(task._exc).__name__
            _add(moves, Move(before.name, task.state.name, kind, mover(changer), woken_with))

    a, b = socket.socketpair()
    with a, b, Kernel(clock=FakeClock(), handle_signals=False) as kernel:
        kernel._traps = {cls: recording(cls, handler) for cls, handler in kernel._traps.items()}
        with profiling(profile):
            kernel.run(_every_trap_once(a, b))
    missing = {cls.__name__ for cls in kernel._traps} - set(answers)
    for kind in Waiting:
        ends = {move.after for move in moves if move.kind == kind.name}
        if ends != {TaskState.WAITING.name, TaskState.READY.name}:
            missing.add(f"wait {kind.name}")
    if missing:
        raise RuntimeError(f"the run made no {', '.join(sorted(missing))}")
    endings = ["cancelled" if task.cancelled else "returned" for task in tasks]
    return TaskStates(moves, answers, endings)


def _add(moves, move):
    if move not in moves:
        moves.append(move)
