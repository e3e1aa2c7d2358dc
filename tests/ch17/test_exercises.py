"""Chapter 17's exercises, whose answers are tests: each answer passes when a reader runs
it with pytest, and fails when the stage it tests is broken on purpose, in the very
tests that should catch that fault.

A stage is broken by a plugin written for the run, ``-p ch17_broken_stage``, which
replaces one of its methods before the answer is collected; the answer itself is run
as it is, and knows nothing of it.
"""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROXY = "exercises/ch17_proxy_in_memory.py"
TEN_MINUTES = "exercises/ch17_ten_minutes.py"


def run_pytest(answer, *options, env=None):
    """Run pytest on ``answer`` from the repository's root; return the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         *options, answer],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL)


def failed_tests(result):
    """The names of the tests that failed, or whose fixture did, from pytest's short
    summary (``-rfE``)."""
    return {match.group(1) for match in
            re.finditer(r"^(?:FAILED|ERROR) \S+::(\S+)", result.stdout, re.MULTILINE)}


@pytest.mark.parametrize("answer, count", [(PROXY, 7), (TEN_MINUTES, 2)])
def test_the_answer_passes_as_a_reader_runs_it(answer, count):
    result = run_pytest(answer)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(rf"^{count} passed\b", result.stdout, re.MULTILINE), result.stdout


# The answers' tests that each broken stage must fail.
ANY_CHUNKING = "test_every_client_gets_every_byte_however_the_network_cuts_them"
CLIENT_RESET = "test_a_client_reset_in_the_middle_of_the_download_costs_that_client_only"
UPSTREAM_RESET = "test_an_upstream_reset_fails_every_waiting_client_and_nothing_is_kept"
TRICKLE = "test_a_client_that_trickles_is_answered_and_then_dropped_ten_minutes_apart"
PROMPT = "test_a_prompt_client_waits_for_no_timeout_at_all"

BROKEN = {
    # Chapter 9's client keeps the last piece it received, not every piece: a bug only
    # a network that cuts the poem into pieces shows.
    "a-client-keeps-only-its-last-piece": (PROXY, """
        from coro.protocol_client import PoetryProtocol

        def data_received(self, data):
            self.poem.seek(0)
            self.poem.truncate()
            self.poem.write(data)

        PoetryProtocol.data_received = data_received
        """, {f"{ANY_CHUNKING}[1]", f"{ANY_CHUNKING}[7]"}),
    # A client that hangs up cancels the download, and every other client with it.
    "a-hang-up-cancels-the-download": (PROXY, """
        from poetry_server.proxy import PoemProxyProtocol

        connection_lost = PoemProxyProtocol.connection_lost

        def cancelling_the_download(self, reason):
            if self.waiting is not None:
                self.factory.cache.fetching.cancel()
            connection_lost(self, reason)

        PoemProxyProtocol.connection_lost = cancelling_the_download
        """, {CLIENT_RESET}),
    # A failed download closes the clients' connections in good order, which a slow
    # poetry client takes for the end of a poem.
    "a-failure-closed-in-good-order": (PROXY, """
        from poetry_server.proxy import PoemProxyProtocol

        def fetch_failed(self, failure):
            self.waiting = None
            self.transport.lose_connection()

        PoemProxyProtocol.fetch_failed = fetch_failed
        """, {f"{UPSTREAM_RESET}[{cut}]"
              for cut in ("before-any-byte", "half-way", "all-but-the-last-8-bytes")}),
    # Each byte of a request restarts the server's timer.
    "a-byte-restarts-the-timer": (TEN_MINUTES, """
        from poetry_server.transform_server import TransformProtocol

        data_received = TransformProtocol.data_received

        def restarting_the_timer(self, data):
            if not self.answered:
                self.start_timer()
            data_received(self, data)

        TransformProtocol.data_received = restarting_the_timer
        """, {TRICKLE}),
    # The server forgets its timer when the connection ends, instead of cancelling it.
    "a-timer-left-behind": (TEN_MINUTES, """
        from poetry_server.transform_server import TransformProtocol

        connection_lost = TransformProtocol.connection_lost

        def forgetting_the_timer(self, reason):
            self.timer = None
            connection_lost(self, reason)

        TransformProtocol.connection_lost = forgetting_the_timer
        """, {PROMPT}),
}


@pytest.mark.parametrize("answer, breakage, expected", BROKEN.values(), ids=BROKEN.keys())
def test_the_answer_fails_where_the_stage_is_broken(tmp_path, answer, breakage, expected):
    (tmp_path / "ch17_broken_stage.py").write_text(textwrap.dedent(breakage))
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    result = run_pytest(answer, "-p", "ch17_broken_stage", "-rfE",
                        env={**os.environ, "PYTHONPATH": path})
    assert result.returncode == 1, result.stdout + result.stderr
    assert failed_tests(result) == expected, result.stdout
