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

``:service: python -m MODULE ARGS`` also starts another server, after the poetry
servers (its ARGS may name their ports, ``{port1}``...), reads the first line it
prints, which must end in `` on HOST:PORT``, and gives its port as ``{service}``.

``nc HOST PORT`` is the one command that is not run as it is: with ``:send: BYTES``
the directive itself connects to HOST:PORT, sends BYTES, half-closes, and shows what
came back, as ``printf 'BYTES' | nc HOST PORT`` would print it. (A build machine may
have no ``nc``; a test checks that the real one gets the same reply where it exists.)
"""

import ast
import contextlib
import re
import difflib
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives

from poetry_server import spawn


@contextlib.contextmanager
def _service(command):
    """Run a server command; yield ``(the line it printed, its port)``."""
    child = subprocess.Popen([sys.executable, *shlex.split(command)[1:]], text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL)
    try:
        line = child.stdout.readline().rstrip("\n")
        found = re.search(r" on [^ ]+:(\d+)$", line)
        if not found:
            child.kill()
            raise RuntimeError(f"{command}: printed {line!r}: {child.stderr.read()}")
        yield line, int(found[1])
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
            child.wait(timeout=10)
        child.stdout.close()
        child.stderr.close()


def _exchange(host, port, data, timeout):
    """Send ``data``, half-close, and return everything the server sent back."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", errors="backslashreplace")


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
        "service": directives.unchanged,
        "send": directives.unchanged,
    }

    def run(self):
        poems = self.options.get("servers", "").split()
        module = self.options.get("server-module", "poetry_server")
        with contextlib.ExitStack() as stack:
            shown, ports = _start(stack, poems, module, self.options.get("delay", 0.1),
                                  self.options.get("num-bytes", 10)) if poems else ([], [])
            refused = stack.enter_context(socket.socket())
            refused.bind(("127.0.0.1", 0))
            names = {"ports": " ".join(map(str, ports)), "refused": refused.getsockname()[1],
                     **{f"port{n}": port for n, port in enumerate(ports, start=1)}}
            if "service" in self.options:
                service = self.options["service"].format(**names)
                line, names["service"] = stack.enter_context(_service(service))
                shown += [f"$ {service}", line] if "show-servers" in self.options else []
            command = self.arguments[0].format(**names)
            words = shlex.split(command)
            timeout = self.options.get("timeout", 120)
            if words[0] == "nc" and "send" in self.options:
                sent = self.options["send"]
                result = subprocess.CompletedProcess(words, 0, _exchange(
                    words[1], int(words[2]), sent.encode("utf-8"), timeout), "")
                command = f"printf '{sent}' | {command}"
            elif words[0] != "python":
                raise self.error(f"poetry-run runs python commands only: {command}")
            else:
                typed = self.options.get("stdin")
                result = subprocess.run([sys.executable, *words[1:]], capture_output=True,
                                        text=True, timeout=timeout,
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
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            return "".join(lines[first - 1:node.end_lineno])  # with its decorators
    raise directive.error(f"{filename} has no top-level {name!r}")


def setup(app):
    app.add_directive("poetry-run", PoetryRun)
    app.add_directive("stage-diff", StageDiff)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
