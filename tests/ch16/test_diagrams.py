"""Chapter 16's figure of a task's states: drawn from a real run that made every trap
of the kernel's table, so its states are the code's and its traps the kernel's own."""

from coro.kernel.loop import Kernel
from coro.kernel.task import TaskState, Waiting
from tests.docs_extensions import drawn_texts, load_diagrams

diagrams = load_diagrams()
recorded_tasks = diagrams.recorded_tasks


def trap_names():
    with Kernel(handle_signals=False) as kernel:
        return [cls.__name__ for cls in kernel._traps]


def test_the_run_makes_every_trap_and_waits_every_way():
    record = recorded_tasks.task_states()
    assert sorted(record.answers) == sorted(trap_names())
    waited = {move.kind for move in record.moves if move.after == TaskState.WAITING.name}
    assert waited == {kind.name for kind in Waiting}


def test_a_task_waits_only_after_a_trap_and_is_woken_by_the_kernel():
    # ... or by a wait queue (chapter 16b), which wakes with the kernel's own function.
    for move in recorded_tasks.task_states().moves:
        if move.after == TaskState.WAITING.name:
            assert move.by in trap_names()
        elif move.before == TaskState.WAITING.name and move.exception is None:
            assert move.by.split(".")[0] in ("IOWaits", "Kernel", "TaskWaits", "ThreadPool",
                                             "WaitQueue")


def test_the_figure_names_every_trap_state_and_kind_of_wait():
    texts = " ".join(drawn_texts(diagrams.task_states))
    for name in trap_names():
        assert name in texts
    for state in TaskState:
        assert state.name in texts
    for kind in Waiting:
        assert kind.name in texts and kind.value in texts
