"""The layout shows the book: budgets per module, and layers that only look down.

The runtime is five packages, in the order the book builds them (the last, testing, is the
book's tests turned into a toolkit). A layer may import the
ones before it, never one after it, and never a stage: a reader who stops at chapter 9
has a reactor that needs nothing from chapters 10 to 16.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted([*ROOT.glob("coro/**/*.py"), *ROOT.glob("poetry_server/*.py")])
LAYERS = ("io", "reactor", "deferred", "kernel", "testing")  # the book's order
RUNTIME = sorted(path for layer in LAYERS for path in ROOT.glob(f"coro/{layer}/*.py"))
#: What every layer may record into: the trace of a run, which imports nothing of coro.
SHARED = {"coro.trace"}


def relative(path):
    return str(path.relative_to(ROOT))


def imported_modules(path):
    """Every module ``path`` imports, by absolute name (``from coro import x`` gives ``coro.x``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{relative(path)}: relative import"
            if node.module == "coro":
                yield from (f"coro.{alias.name}" for alias in node.names)
            else:
                yield node.module


def layer_of(module):
    """The rank of the layer ``module`` belongs to, or None if it is not in the runtime."""
    parts = module.split(".")
    if parts[0] == "coro" and len(parts) > 1 and parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    return None


@pytest.mark.parametrize("path", MODULES, ids=relative)
def test_no_module_passes_400_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= 400, f"{path.name} has {lines} lines: split it by idea"


def test_the_reactor_fits_in_300_lines():
    lines = len((ROOT / "coro/reactor/loop.py").read_text(encoding="utf-8").splitlines())
    assert lines <= 300, f"the reactor has {lines} lines: a loop that grew holds a second idea"


@pytest.mark.parametrize("path", RUNTIME, ids=relative)
def test_a_layer_imports_only_the_layers_before_it(path):
    own = layer_of(relative(path).removesuffix(".py").replace("/", "."))
    for module in imported_modules(path):
        if not module.startswith("coro"):
            assert module.split(".")[0] != "poetry_server", f"{relative(path)} imports {module}"
            continue
        if module in SHARED:
            continue
        layer = layer_of(module)
        assert layer is not None, (
            f"{relative(path)} imports {module}, which is not in the runtime: a stage or the "
            "book's machinery")
        assert layer <= own, (
            f"{relative(path)} (the {LAYERS[own]} layer) imports {module}, from the "
            f"{LAYERS[layer]} layer after it")


def test_what_every_layer_may_record_into_imports_nothing_of_coro():
    for module in SHARED:
        path = ROOT / (module.replace(".", "/") + ".py")
        assert not [name for name in imported_modules(path) if name.startswith("coro")]


def test_the_checker_sees_an_upward_import(tmp_path):
    # The rule above must be able to fail: a kernel import in the reactor is one.
    bad = tmp_path / "bad.py"
    bad.write_text("from coro.kernel.traps import sleep\nfrom coro import kernel_client\n")
    found = [(module, layer_of(module)) for module in imported_modules(bad)]
    assert found == [("coro.kernel.traps", 3), ("coro.kernel_client", None)]


def test_the_top_of_coro_holds_stages_and_the_books_machinery_only():
    from coro.chapters import CHAPTERS

    run = {stage.command.split()[2] for chapter in CHAPTERS for stage in chapter.stages
           if stage.command.startswith("python -m coro")}
    machinery = {"__init__", "__main__", "chapters", "cli", "trace", "tour", "netstring"}
    top = {path.stem for path in ROOT.glob("coro/*.py")}
    stages = {name.removeprefix("coro.") for name in run if name != "coro"}
    # What is neither run nor machinery is a piece a stage shares with its siblings.
    shared = top - stages - machinery
    assert shared <= {"blocking_client", "deferred_client", "chain_simulator"}, shared
    assert not {path.name for path in ROOT.glob("coro/*/")} - {*LAYERS, "__pycache__"}
