"""Sphinx directives that put real code and the output of real runs into the book.

``.. poetry-run:: COMMAND`` runs COMMAND while slow poetry servers are up, and shows
the command and what it printed, exactly as a reader's terminal would show them::

    .. poetry-run:: python -m coro.blocking_client {ports}
       :servers: ecstasy fascination science
       :delay: 0.1
       :num-bytes: 200
       :show-servers:
       :returncode: 0

``{ports}`` becomes the servers' ports, space-separated; ``{port1}``, ``{port2}``...
each one; ``{refused}`` a port that refuses connections (bound, never listening). ``:server-module: poetry_server.blocking`` starts one blocking server per
poem instead of one ``python -m poetry_server`` for all of them. The build fails if the
command's exit status is not ``:returncode:`` (default 0), so a page cannot show a run
that went wrong by accident. ``:stdin: one\ntwo\n`` types those lines into the
command, shown as ``printf 'one\ntwo\n' | COMMAND``.
"""

import ast
import contextlib
import difflib
import shlex
import socket
import subprocess
import sys
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives

from poetry_server import spawn


def _start(stack, poems, module, delay, num_bytes):
    """Start the servers; return ``(shown server commands and lines, ports)``."""
    groups = [[poem] for poem in poems] if module == "poetry_server.blocking" else [poems]
    shown, ports = [], []
    for group in groups:
        addresses = stack.enter_context(
            spawn(*group, module=module, delay=delay, num_bytes=num_bytes))
        shown.append(f"$ python -m {module} --delay {delay:g} --num-bytes {num_bytes} "
                     + " ".join(group))
        for poem, (host, port) in zip(group, addresses):
            shown.append(f"Serving {poem} on {host}:{port}")
            ports.append(port)
    return shown, ports


class PoetryRun(Directive):
    required_arguments = 1
    final_argument_whitespace = True
    has_content = False
    option_spec = {
        "servers": directives.unchanged,
        "server-module": directives.unchanged,
        "delay": float,
        "num-bytes": directives.positive_int,
        "show-servers": directives.flag,
        "returncode": int,
        "timeout": float,
        "stdin": directives.unchanged,
    }

    def run(self):
        poems = self.options.get("servers", "").split()
        module = self.options.get("server-module", "poetry_server")
        with contextlib.ExitStack() as stack:
            shown, ports = _start(stack, poems, module, self.options.get("delay", 0.1),
                                  self.options.get("num-bytes", 10)) if poems else ([], [])
            refused = stack.enter_context(socket.socket())
            refused.bind(("127.0.0.1", 0))
            command = self.arguments[0].format(
                ports=" ".join(map(str, ports)), refused=refused.getsockname()[1],
                **{f"port{n}": port for n, port in enumerate(ports, start=1)})
            words = shlex.split(command)
            if words[0] != "python":
                raise self.error(f"poetry-run runs python commands only: {command}")
            typed = self.options.get("stdin")
            result = subprocess.run([sys.executable, *words[1:]], capture_output=True,
                                    text=True, timeout=self.options.get("timeout", 120),
                                    **({"input": typed.replace("\\n", "\n")} if typed
                                       else {"stdin": subprocess.DEVNULL}))
            if typed:
                command = f"printf '{typed}' | {command}"
        expected = self.options.get("returncode", 0)
        if result.returncode != expected:
            raise self.error(f"{command!r} exited {result.returncode}, not {expected}:\n"
                             f"{result.stdout}{result.stderr}")
        text = "\n".join(shown + ([""] if shown else []) + [f"$ {command}"])
        output = (result.stdout + result.stderr).rstrip("\n")
        if output:
            text += "\n" + output
        block = nodes.literal_block(text, text, language="console")
        return [block]


class StageDiff(Directive):
    """``.. stage-diff:: OLD NEW`` shows what a stage changed against the one before.

    Paths are relative to the repository. With ``:pyobject: NAME``, only that
    function or class of each file is compared, so the diff shows the one new idea.
    """

    required_arguments = 2
    option_spec = {"pyobject": directives.unchanged}

    def run(self):
        env = self.state.document.settings.env
        root = Path(env.srcdir).parent
        texts = []
        for name in self.arguments:
            path = root / name
            env.note_dependency(str(path))
            source = path.read_text(encoding="utf-8")
            if "pyobject" in self.options:
                source = _pyobject(source, self.options["pyobject"], name, self)
            texts.append(source.splitlines(keepends=True))
        diff = "".join(difflib.unified_diff(*texts, *self.arguments, n=3))
        return [nodes.literal_block(diff, diff, language="diff")]


def _pyobject(source, name, filename, directive):
    for node in ast.parse(source).body:
        if getattr(node, "name", None) == name:
            lines = source.splitlines(keepends=True)
            return "".join(lines[node.lineno - 1:node.end_lineno])
    raise directive.error(f"{filename} has no top-level {name!r}")


def setup(app):
    app.add_directive("poetry-run", PoetryRun)
    app.add_directive("stage-diff", StageDiff)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
