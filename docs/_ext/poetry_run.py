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
command, shown as ``printf 'one\ntwo\n' | COMMAND``. ``:caption:`` captions the
session, as it does a ``code-block``.

``:server-options: --framed`` gives the poetry servers more options, after
``--num-bytes``. The server module may be any that takes the poetry servers'
options: chapter 13's ``docs._ext.interrupted_server`` presses Ctrl-C itself once a
client has taken N bytes, which no hand could time to land mid-poem on every run.

``:service: python -m MODULE ARGS`` also starts another server, after the poetry
servers (its ARGS may name their ports, ``{port1}``...), reads the first line it
prints, which must end in `` on HOST:PORT``, and gives its port as ``{service}``.
With ``:service-stderr:``, what it printed on stderr is shown under that line, as its
terminal shows it once the commands have run.

The directive's content, if any, is more commands, one a line, run in turn against
the same servers and shown one after the other; ``:returncode: 1 0 0`` then gives
each one's exit status (one value is every command's).

``nc HOST PORT`` is the one command that is not run as it is: with ``:send: BYTES``
the directive itself connects to HOST:PORT, sends BYTES, half-closes, and shows what
came back, as ``printf 'BYTES' | nc HOST PORT`` would print it. (A build machine may
have no ``nc``; a test checks that the real one gets the same reply where it exists.)

A page's runs are kept as long as the page is, in the build's doctrees, which the html
and the doctest builds share: the doctest build reads nothing the html build has just
read, so each run happens once. What a page shows must never outlive the code that made
it, so every page depends on every file of the code (:data:`CODE`): once one of them
has changed, each page is read again, and its commands run again. A page read again
draws its figures again too (the plot directive alone keeps a figure whose page has
not changed, however old the code that drew it).
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
from sphinx.directives.code import container_wrapper
from sphinx.util.docutils import SphinxDirective

from poetry_server import spawn


@contextlib.contextmanager
def _service(command, said):
    """Run a server command; yield ``(the line it printed, its port)``. Once it has
    stopped, the lines it printed on stderr are added to ``said``."""
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
        said += child.stderr.read().splitlines()
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


def _start(stack, poems, module, delay, num_bytes, options):
    """Start the servers; return ``(shown server commands and lines, ports)``."""
    groups = [[poem] for poem in poems] if module == "poetry_server.blocking" else [poems]
    shown, ports = [], []
    for group in groups:
        addresses = stack.enter_context(
            spawn(*group, module=module, delay=delay, num_bytes=num_bytes, options=options))
        shown.append(f"$ python -m {module} --delay {delay:g} --num-bytes {num_bytes} "
                     + " ".join([*options, *group]))
        for poem, (host, port) in zip(group, addresses):
            shown.append(f"Serving {poem} on {host}:{port}")
            ports.append(port)
    return shown, ports


def _returncodes(text):
    """``:returncode:``: one exit status per command, or one for them all."""
    return [int(word) for word in text.split()]


class PoetryRun(SphinxDirective):
    required_arguments = 1
    final_argument_whitespace = True
    has_content = True
    option_spec = {
        "servers": directives.unchanged,
        "server-module": directives.unchanged,
        "server-options": directives.unchanged,
        "delay": float,
        "num-bytes": directives.positive_int,
        "show-servers": directives.flag,
        "returncode": _returncodes,
        "timeout": float,
        "stdin": directives.unchanged,
        "service": directives.unchanged,
        "service-stderr": directives.flag,
        "send": directives.unchanged,
        "caption": directives.unchanged,
    }

    def run(self):
        poems = self.options.get("servers", "").split()
        module = self.options.get("server-module", "poetry_server")
        commands = [self.arguments[0], *filter(None, map(str.strip, self.content))]
        expected = self.options.get("returncode", [0])
        if len(expected) not in (1, len(commands)):
            raise self.error(f":returncode: gives {len(expected)} exit statuses for "
                             f"{len(commands)} commands")
        said = []  # the service's stderr, once it has stopped
        with contextlib.ExitStack() as stack:
            shown, ports = _start(
                stack, poems, module, self.options.get("delay", 0.1),
                self.options.get("num-bytes", 10),
                shlex.split(self.options.get("server-options", ""))) if poems else ([], [])
            refused = stack.enter_context(socket.socket())
            refused.bind(("127.0.0.1", 0))
            names = {"ports": " ".join(map(str, ports)), "refused": refused.getsockname()[1],
                     **{f"port{n}": port for n, port in enumerate(ports, start=1)}}
            if "service" in self.options:
                service = self.options["service"].format(**names)
                line, names["service"] = stack.enter_context(_service(service, said))
                shown += [f"$ {service}", line] if "show-servers" in self.options else []
            runs = [self.run_one(command.format(**names)) for command in commands]
        if "service-stderr" in self.options:
            shown += said
        text = "\n".join(shown) + "\n\n" if shown else ""  # servers, blank line, commands
        for n, (command, result) in enumerate(runs):
            want = expected[n if len(expected) > 1 else 0]
            if result.returncode != want:
                raise self.error(f"{command!r} exited {result.returncode}, not {want}:\n"
                                 f"{result.stdout}{result.stderr}")
            text += ("\n" if n else "") + f"$ {command}"
            output = (result.stdout + result.stderr).rstrip("\n")
            if output:
                text += "\n" + output
        block = nodes.literal_block(text, text, language="console")
        self.set_source_info(block)
        if "caption" in self.options:
            return [container_wrapper(self, block, self.options["caption"])]
        return [block]

    def run_one(self, command):
        """Run one command; return ``(the command as shown, its CompletedProcess)``."""
        words = shlex.split(command)
        timeout = self.options.get("timeout", 120)
        if words[0] == "nc" and "send" in self.options:
            sent = self.options["send"]
            result = subprocess.CompletedProcess(words, 0, _exchange(
                words[1], int(words[2]), sent.encode("utf-8"), timeout), "")
            return f"printf '{sent}' | {command}", result
        if words[0] != "python":
            raise self.error(f"poetry-run runs python commands only: {command}")
        typed = self.options.get("stdin")
        result = subprocess.run([sys.executable, *words[1:]], capture_output=True,
                                text=True, timeout=timeout,
                                **({"input": typed.replace("\\n", "\n")} if typed
                                   else {"stdin": subprocess.DEVNULL}))
        return (f"printf '{typed}' | {command}" if typed else command), result


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


#: The code that the book's runs and figures run, relative to the repository.
CODE = ("coro", "poetry_server", "exercises", "benchmarks", "docs/_ext")


def code_files(root):
    """Every file of :data:`CODE` under ``root``."""
    return sorted(path for folder in CODE for path in (root / folder).rglob("*")
                  if path.is_file() and "__pycache__" not in path.parts)


def _depend_on_the_code(app, docname, source):
    """``source-read``: the page being read depends on every file of the code, and
    draws its figures afresh (the plot directive names them ``PAGE-N.*``)."""
    for path in code_files(Path(app.srcdir).parent):
        app.env.note_dependency(str(path))
    figures = Path(app.doctreedir).parent / "plot_directive" / Path(docname).parent
    for figure in figures.glob(f"{Path(docname).name}-*"):
        figure.unlink()


def setup(app):
    app.add_directive("poetry-run", PoetryRun)
    app.add_directive("stage-diff", StageDiff)
    app.connect("source-read", _depend_on_the_code)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
