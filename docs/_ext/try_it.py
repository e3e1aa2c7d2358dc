"""Commands the reader is asked to try, shown on the page and run by the tests.

A "Try it" list at the end of a chapter asks the reader to run something and says what
to watch for. Where that can run unattended in a few seconds, the commands go in a
``try-it`` block, and ``tests/test_try_it.py`` runs every such block of every page,
as the reader would type them, and checks that the output shows what the page says::

    .. try-it::
       :expect: Serving jingyesi on
                Task 1: got 60 bytes of poetry

       python -m poetry_server.blocking --port 10001 --num-bytes 3 jingyesi  # terminal 1
       python -m coro.blocking_client --save poems 10001                      # terminal 2

The page shows the commands, each after a ``$`` prompt (the copy button leaves the
prompt out). The runner treats them as a reader's terminals would:

- A line that runs a server (a stage ``python -m coro --list`` calls a server) is one a
  reader leaves running in its own terminal. The runner starts it with ``--port 0`` instead of the page's port,
  reads the ``... on HOST:PORT`` lines it prints, and writes the real ports into the
  later commands wherever the page's ports appear (the page's ``--port 10001`` with
  three poems stands for 10001, 10002 and 10003). Servers are stopped with Ctrl-C at
  the end, and what they printed counts as output too.
- A line that ends in ``&`` runs in the background, as a shell would run it; the
  others run one after another, each to its end, in one scratch folder.
- Each ``:expect:`` line is a regular expression that must match somewhere in what
  the commands and the servers printed; ``:returncode:`` gives the foreground
  commands' exit statuses (one value for all, or one each; 0 by default).

README.md's examples use the same runner: a fenced block preceded by a comment
``<!-- try-it: expect=REGEX; expect=REGEX; returncode=0 1 -->`` is run the same way.
"""

import contextlib
import os
import re
import selectors
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

from coro.chapters import CHAPTERS

ROOT = Path(__file__).resolve().parents[2]
#: The repository's folders a command may name, linked into the scratch folder.
TOP_FOLDERS = ("coro", "poetry_server", "exercises")

#: How long any one command, or a server's announcement, may take in a test run.
COMMAND_TIMEOUT = 60.0

#: A server: a command of a stage the table of contents (``python -m coro --list``) calls
#: a server, such as ``python -m poetry_server.kernel_server ...``.
_SERVER = re.compile(r"^python -m (?:%s)(?:\s|$)" % "|".join(sorted(
    {re.escape(stage.command.split()[2]) for chapter in CHAPTERS for stage in chapter.stages
     if stage.role == "server"})))
_ANNOUNCED = re.compile(r" on (\S+):(\d+)$")


@dataclass
class TryIt:
    """One block of commands to try, and what their output must show."""

    where: str
    commands: list
    expect: list = field(default_factory=list)
    returncodes: list = field(default_factory=lambda: [0])


def join_lines(lines):
    """The commands of a block: continued lines (ending in ``\\``) joined, blanks gone."""
    commands, pending = [], ""
    for line in lines:
        line = line.strip()
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        if pending + line:
            commands.append(pending + line)
        pending = ""
    return commands


def _without_comment(command):
    return re.sub(r"\s+#.*$", "", command).strip()


def _returncodes(text):
    return [int(word) for word in text.split()]


class TryItDirective(SphinxDirective):
    has_content = True
    option_spec = {"expect": directives.unchanged_required, "returncode": _returncodes}

    def run(self):
        commands = join_lines(self.content)
        if not commands:
            raise self.error("try-it needs at least one command")
        shown, continued = [], False
        for line in filter(str.strip, self.content):
            shown.append(("  " if continued else "$ ") + line.strip())
            continued = line.rstrip().endswith("\\")
        text = "\n".join(shown)
        block = nodes.literal_block(text, text, language="console")
        self.set_source_info(block)
        return [block]


# -- reading the blocks, for the tests -----------------------------------------------------

def blocks_in_page(path):
    """Every ``try-it`` block of one reStructuredText page, in order."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    found = []
    n = 0
    while n < len(lines):
        if lines[n].strip() != ".. try-it::":
            n += 1
            continue
        indent = len(lines[n]) - len(lines[n].lstrip())
        start, n = n + 1, n + 1
        options, content, key, in_options = {}, [], None, True
        while n < len(lines) and (not lines[n].strip()
                                  or len(lines[n]) - len(lines[n].lstrip()) > indent):
            line = lines[n].strip()
            if not line:
                in_options = in_options and not options
            elif in_options and (option := re.match(r"^:([a-z-]+):\s*(.*)$", line)):
                key = option[1]
                options[key] = [option[2]] if option[2] else []
            elif in_options and key:
                options[key].append(line)  # an option's value, continued
            else:
                in_options = False
                content.append(line)
            n += 1
        found.append(TryIt(
            where=f"{Path(path).name}:{start}", commands=join_lines(content),
            expect=options.get("expect", []),
            returncodes=_returncodes(" ".join(options.get("returncode", ["0"])))))
    return found


def blocks_in_readme(path):
    """README's marked examples, ``<!-- try-it: ... -->``, as one block.

    A reader keeps the servers of one example running for the next (the chapter 15
    command uses the transformation service started for chapter 12), so the examples
    run as one sequence, in order. Each marker's ``returncode=`` gives one status for
    every foreground command of its block, or one each.
    """
    text = Path(path).read_text(encoding="utf-8")
    commands, expect, codes = [], [], []
    for match in re.finditer(r"<!-- try-it:(.*?)-->\s*```[^\n]*\n(.*?)```", text, re.S):
        settings = [part.strip().partition("=") for part in match[1].split(";")]
        expect += [value for key, _, value in settings if key.strip() == "expect"]
        block = join_lines(match[2].splitlines())
        foreground = [c for c in block if not _SERVER.match(_without_comment(c))]
        given = [value for key, _, value in settings if key.strip() == "returncode"]
        statuses = _returncodes(given[0]) if given else [0]
        codes += statuses if len(statuses) > 1 else statuses * len(foreground)
        commands += block
    return [TryIt(where=Path(path).name, commands=commands, expect=expect,
                  returncodes=codes)] if commands else []


# -- running them ------------------------------------------------------------------------

class TryItFailed(AssertionError):
    """A block whose commands failed, hung, or did not show what the page says."""


class _Lines:
    """Read a child's output a line at a time, never waiting past a deadline."""

    def __init__(self, stream, what, stderr=None):
        self.stream, self.what, self.buffer, self.stderr = stream, what, b"", stderr
        self.selector = selectors.DefaultSelector()
        self.selector.register(stream, selectors.EVENT_READ)
        os.set_blocking(stream.fileno(), False)

    def readline(self, deadline):
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(left):
                raise TryItFailed(f"{self.what}: no line within {COMMAND_TIMEOUT:g}s, "
                                  f"only {self.buffer!r}")
            chunk = os.read(self.stream.fileno(), 65536)
            if not chunk:
                raise TryItFailed(f"{self.what}: exited before it said where it serves "
                                  f"({self.buffer!r}): {self.why()}")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode("utf-8", "replace")

    def why(self):
        """What the child said on stderr, once it has exited."""
        return self.stderr.read().decode("utf-8", "replace") if self.stderr else ""

    def rest(self):
        """Everything left, once the child has exited."""
        os.set_blocking(self.stream.fileno(), True)
        data = self.buffer + self.stream.read()
        self.selector.close()
        return data.decode("utf-8", "replace")


def _page_ports(command):
    """The page's port numbers a command names (``10001``, ``127.0.0.1:10001``)."""
    return {int(n) for n in re.findall(r"(?<![\w.-])(?:\S+:)?(\d{4,5})\b", command)}


def _port_option(command):
    return int(m[1]) if (m := re.search(r"--port\s+(\d+)", command)) else None


def run_block(block, python=sys.executable):
    """Run one block as a reader would; return what it printed, or raise TryItFailed."""
    python = Path(python).absolute()
    env = dict(os.environ, PYTHONUNBUFFERED="1",
               PATH=f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    ports = {}  # the page's port -> the real one
    transcript = []
    foreground = []
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        for name in TOP_FOLDERS:  # the scratch folder stands for the repository's top
            os.symlink(ROOT / name, Path(folder) / name)
        servers, background = [], []

        def substitute(command):
            return re.sub(r"\b(\d{4,5})\b",
                          lambda m: str(ports.get(int(m[1]), m[1])), command)

        for n, command in enumerate(block.commands):
            plain = _without_comment(command)
            later = " ".join(_without_comment(c) for c in block.commands[n + 1:])
            if _SERVER.match(plain):
                first = _port_option(plain) or 10000
                after = [p for c in block.commands[n + 1:]
                         if _SERVER.match(c) and (p := _port_option(c)) and p > first]
                wanted = {p for p in _page_ports(later) if first <= p < min(after, default=first + 100)}
                plain = re.sub(r"--port\s+\d+", "--port 0", substitute(plain))
                if "--port" not in plain:
                    plain += " --port 0"
                child = subprocess.Popen(["bash", "-c", f"exec {plain}"], cwd=folder, env=env,
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE)
                stack.callback(_stop, child)
                lines = _Lines(child.stdout, plain, child.stderr)
                servers.append((plain, child, lines))
                deadline = time.monotonic() + COMMAND_TIMEOUT
                offset = 0
                while wanted - ports.keys():
                    line = lines.readline(deadline)
                    transcript.append(line)
                    if found := _ANNOUNCED.search(line):
                        ports[first + offset] = int(found[2])
                        offset += 1
                continue
            plain = substitute(plain)
            if plain.endswith("&"):
                child = subprocess.Popen(["bash", "-c", plain[:-1].strip()], cwd=folder,
                                         env=env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                stack.callback(_stop, child)
                background.append((plain, child))
                continue
            try:
                result = subprocess.run(["bash", "-c", plain], cwd=folder, env=env,
                                        stdin=subprocess.DEVNULL, capture_output=True,
                                        text=True, timeout=COMMAND_TIMEOUT)
            except subprocess.TimeoutExpired:
                raise TryItFailed(f"{block.where}: {plain!r} ran past "
                                  f"{COMMAND_TIMEOUT:g}s") from None
            transcript.append(result.stdout + result.stderr)
            foreground.append((plain, result.returncode, result.stdout + result.stderr))
        for plain, child in background:
            _stop(child)
            transcript.append(child.stdout.read().decode("utf-8", "replace"))
            child.stdout.close()
        for plain, child, lines in servers:
            _stop(child)
            transcript.append(lines.rest() + child.stderr.read().decode("utf-8", "replace"))
            child.stdout.close()
            child.stderr.close()
    codes = block.returncodes
    for n, (plain, code, output) in enumerate(foreground):
        want = codes[n] if len(codes) > 1 else codes[0]
        if code != want:
            raise TryItFailed(f"{block.where}: {plain!r} exited {code}, not {want}:\n{output}")
    text = "\n".join(transcript)
    for pattern in block.expect:
        if not re.search(pattern, text, re.M):
            raise TryItFailed(f"{block.where}: nothing matched {pattern!r} in:\n{text}")
    return text


def _stop(child):
    """Ctrl-C, as the reader would press it; a kill only if that is ignored."""
    if child.poll() is None:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def setup(app):
    app.add_directive("try-it", TryItDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
