"""``.. command-usage:: MODULE``: what ``python -m MODULE --help`` prints, run at build time.

The argument parser of a stage is the one place its options are written down; the
directive runs the stage with ``--help`` and shows the session as a terminal shows it,
so the page lists every option the stage has (``--cpu`` included) and cannot drift
from it. The help is printed for a terminal 80 columns wide, whatever the building
machine's is. A ``--help`` that fails fails the build.

The module docstrings of the stages open with a synopsis, indented, in their own words::

    python -m coro.blocking_client [--timeout SECONDS] [--save DIR] [HOST:]PORT ...

On the reference page, autodoc shows that synopsis in place of the real one: each such
block of a module's docstring, whose module can be run, is replaced by the directive
for it. A synopsis of no single module (``python -m coro.<stage>``) is shown as it is,
in monospace.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

#: argparse wraps its help to the terminal's width, which it reads from COLUMNS.
COLUMNS = 80
SYNOPSIS = re.compile(r"(?P<indent>\s+)python -m (?P<module>\S+)")
MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def help_text(module, cwd):
    """What ``python -m module --help`` prints, run in ``cwd``; raises RuntimeError if it
    fails."""
    result = subprocess.run([sys.executable, "-m", module, "--help"], cwd=cwd,
                            capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL,
                            env={**os.environ, "COLUMNS": str(COLUMNS)})
    if result.returncode != 0:
        raise RuntimeError(f"python -m {module} --help exited {result.returncode}:\n"
                           f"{result.stdout}{result.stderr}")
    return result.stdout.rstrip("\n")


def runnable(module):
    """Whether ``python -m module`` names a module that can be run."""
    if not MODULE_NAME.fullmatch(module):
        return False
    try:
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.submodule_search_locations is not None:
            spec = importlib.util.find_spec(f"{module}.__main__")  # a package
    except ModuleNotFoundError:
        return False
    return spec is not None


class CommandUsage(SphinxDirective):
    required_arguments = 1

    def run(self):
        module = self.arguments[0]
        root = Path(self.env.srcdir).parent
        try:
            text = f"$ python -m {module} --help\n{help_text(module, root)}"
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            raise self.error(str(exc)) from exc
        block = nodes.literal_block(text, text, language="console")
        self.set_source_info(block)
        return [block]


def replace_synopses(app, what, name, obj, options, lines):
    """``autodoc-process-docstring``: in a module's docstring, each indented block that
    begins ``python -m MODULE`` becomes ``.. command-usage:: MODULE`` if MODULE can be
    run, and a literal block as it is written if not."""
    if what != "module":
        return
    n = 0
    while n < len(lines):
        found = SYNOPSIS.match(lines[n])
        if not found or (n and lines[n - 1].strip()):
            n += 1
            continue
        end = n + 1
        while end < len(lines) and lines[end].startswith(found["indent"]) and \
                lines[end].strip():
            end += 1
        module = found["module"]
        if runnable(module):
            block = [f".. command-usage:: {module}"]
        else:
            block = [".. code-block:: text", ""] + lines[n:end]
        lines[n:end] = block
        n += len(block)


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")
    app.add_directive("command-usage", CommandUsage)
    app.connect("autodoc-process-docstring", replace_synopses)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
