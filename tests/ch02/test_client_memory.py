"""A client holds the poem it downloads about once: a 50 MB poem costs a client process
no more than one and a half times its size over what a tiny poem costs, ``--save``
included.

The measure is the process's peak resident memory (VmHWM in /proc/PID/status), read by
the process itself as it exits: a small launcher runs the stage as ``python -m`` would
and prints the line from an atexit hook. A few stages stand for the rest: the blocking
client's get_poetry (also the threaded client's), the non-blocking Download (busy,
select and signal clients), the reactor's protocol (every client from chapter 9 on),
the Deferred client's factory, and the kernel's task; and the transform client, which
keeps a poem too long to send as it was, instead of building a request of it.
"""

import filecmp
import re
import subprocess
import sys

import pytest

from poetry_server import spawn
from tests.support import TASK_LINE, catalogue_bytes, refused_address

POEM_SIZE = 50 * 2**20

#: ``python -c LAUNCHER MODULE ARGS...`` runs ``python -m MODULE ARGS...`` and, as it
#: exits, prints its peak resident memory to stderr as /proc says it: ``VmHWM: N kB``.
LAUNCHER = """
import atexit, runpy, sys

def print_peak():
    with open("/proc/self/status") as status:
        print(next(line for line in status if line.startswith("VmHWM:")), file=sys.stderr)

atexit.register(print_peak)
module = sys.argv[1]
sys.argv[1:] = sys.argv[2:]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""

STAGES = ["coro.blocking_client", "coro.select_client", "coro.protocol_client",
          "coro.deferred_client", "coro.kernel_client", "coro.transform_client"]


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """A server of a 50 MB poem (the Mariner, again and again) and of a tiny one."""
    path = tmp_path_factory.mktemp("poems") / "long-mariner.txt"
    mariner = catalogue_bytes("mariner")
    with path.open("wb") as poem:
        for _ in range(POEM_SIZE // len(mariner)):
            poem.write(mariner)
        poem.write(mariner[:POEM_SIZE % len(mariner)])
    with spawn(str(path), "science", delay=0, num_bytes=2**20) as [big, tiny]:
        yield path, big, tiny


def peak_kib(module, address, save, options):
    """Run the stage on one address, saving into ``save``; its peak memory in KiB."""
    result = subprocess.run(
        [sys.executable, "-c", LAUNCHER, module, *options, "--save", save, str(address[1])],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert TASK_LINE.match(result.stdout.splitlines()[-2]), result.stdout
    [kib] = re.findall(r"^VmHWM:\s+(\d+) kB$", result.stderr, re.MULTILINE)
    return int(kib)


@pytest.mark.parametrize("module", STAGES)
def test_a_client_holds_a_long_poem_about_once(module, servers, tmp_path):
    path, big, tiny = servers
    with refused_address() as (_, refused):
        # The transform client's poems are kept as they were; the others take no option.
        options = ["--transform-server", str(refused)] if "transform" in module else []
        baseline = peak_kib(module, tiny, tmp_path / "tiny", options)
        peak = peak_kib(module, big, tmp_path / "big", options)
    assert filecmp.cmp(path, tmp_path / "big" / "poem-1.txt", shallow=False)
    extra_mib = (peak - baseline) / 1024
    assert extra_mib < 1.5 * POEM_SIZE / 2**20, (
        f"{module}: {extra_mib:.0f} MiB over its baseline of {baseline / 1024:.0f} MiB "
        f"for a {POEM_SIZE / 2**20:.0f} MiB poem")
