"""Start a poetry server in a child process and learn its ports.

The tour, the tests and the docs build all need servers on free loopback ports.
They start the real command, ``python -m poetry_server --port 0 ...``, read the
``Serving <poem> on <host>:<port>`` lines it prints, and stop it with Ctrl-C (SIGINT)
when they are done, exactly as a reader would in another terminal.
"""

import contextlib
import signal
import subprocess
import sys

from coro.cli import parse_address


class ServerFailed(RuntimeError):
    """The server exited before it announced every poem."""


@contextlib.contextmanager
def spawn(*poems, module="poetry_server", delay=0.1, num_bytes=10, iface="127.0.0.1",
          options=()):
    """Run ``python -m <module>`` serving ``poems`` on free ports.

    Args:
        poems: Catalogue names or file paths.
        module: The server module to run (``poetry_server.blocking`` serves one poem).
        delay: Seconds between chunks.
        num_bytes: Bytes per chunk.
        iface: The interface to listen on: ``"::1"`` serves over IPv6.
        options: More options for the server, such as ``("--framed",)``.

    Yields:
        A list of ``(host, port)``, one per poem, in order.

    Raises:
        ServerFailed: with the server's stderr, if it exits before announcing, or
            if it does not exit with status 0 when stopped with Ctrl-C.
    """
    command = [sys.executable, "-m", module, "--iface", iface, "--port", "0",
               "--delay", str(delay), "--num-bytes", str(num_bytes), *options, *poems]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, text=True)
    try:
        addresses = []
        for _ in poems:
            line = child.stdout.readline()
            if not line.startswith("Serving "):
                _stop(child)
                raise ServerFailed(f"{' '.join(command)}: {line}{child.stderr.read()}".strip())
            addresses.append(parse_address(line.rsplit(" ", 1)[1].strip()))
        yield addresses
        _stop(child)
        if child.returncode != 0:
            raise ServerFailed(f"{' '.join(command)} exited {child.returncode} after "
                               f"Ctrl-C: {child.stderr.read()}".strip())
    finally:
        _stop(child)
        child.stdout.close()
        child.stderr.close()


def _stop(child):
    """Ctrl-C, as a reader would type it; kill only if that is ignored for 10s."""
    if child.poll() is None:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
