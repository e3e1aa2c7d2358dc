"""The runner's child processes: started, watched, and always stopped.

Every server, load generator and timer run is a process of its own. Each starts in a
session of its own, so that a Ctrl-C in the terminal reaches the runner alone, which
then stops its children in order instead of leaving each framework to print its own
traceback. Their output goes to anonymous temporary files, not pipes: a server that
logs thousands of errors into a pipe nobody reads would block, and its figure with it.
The runner reads those files with ``os.pread``, which leaves the file offset alone:
the child's descriptor shares that offset, and moving it would make the child write
over what it wrote before.

Invariant: a child is in ``_running`` from the moment it is started until it has
been reaped, so :func:`stop_all` can always find it.
"""

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

#: The directory holding the ``benchmarks`` package: every child runs there, so that
#: ``python -m benchmarks...`` imports the same code as the runner.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

_running = set()


class ProcessFailed(Exception):
    """A child did not do its job: it exited early, timed out, or reported an error."""


class Child:
    """A child process with its stdout and stderr in temporary files.

    Args:
        command: The command line.
        name: How messages name it ("coro-epoll server", say).
        cpu: The CPU to pin it to, or None to let the scheduler choose.
        stdin: Whether the runner will write lines to it (:meth:`write_line`).
    """

    def __init__(self, command, *, name, cpu=None, stdin=False):
        self.name = name
        self._stdout = tempfile.TemporaryFile(buffering=0)
        self._stderr = tempfile.TemporaryFile(buffering=0)
        self._read_up_to = 0
        self.process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, start_new_session=True,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=self._stdout, stderr=self._stderr)
        _running.add(self)
        if cpu is not None:
            try:
                os.sched_setaffinity(self.process.pid, {cpu})
            except ProcessLookupError:
                pass  # it has exited already; read_line() will say why

    @property
    def pid(self):
        return self.process.pid

    def read_line(self, timeout):
        """Wait for the child's next line on stdout and return it, without the newline.

        Raises:
            ProcessFailed: if the child exits or stays silent for ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            unread = os.pread(self._stdout.fileno(), 1 << 16, self._read_up_to)
            line, newline, _ = unread.partition(b"\n")
            if newline:
                self._read_up_to += len(line) + 1
                return line.decode()
            if self.process.poll() is not None:
                raise ProcessFailed(f"{self.name} exited with status "
                                    f"{self.process.returncode}: {self.last_error()}")
            if time.monotonic() > deadline:
                raise ProcessFailed(f"{self.name} said nothing for {timeout:g}s")
            time.sleep(0.01)

    def write_line(self, text):
        """Send ``text`` and a newline to the child's stdin."""
        self.process.stdin.write(text.encode() + b"\n")
        self.process.stdin.flush()

    def stderr_text(self):
        """Everything the child wrote to stderr so far."""
        size = os.fstat(self._stderr.fileno()).st_size
        return os.pread(self._stderr.fileno(), size, 0).decode(errors="replace")

    def last_error(self):
        """The last line of stderr (where Python puts the exception), or a placeholder."""
        lines = self.stderr_text().strip().splitlines()
        return lines[-1] if lines else "(nothing on stderr)"

    def check_running(self):
        """Raises ProcessFailed if the child has exited."""
        if self.process.poll() is not None:
            raise ProcessFailed(f"{self.name} died with status {self.process.returncode}: "
                                f"{self.last_error()}")

    def wait(self, timeout):
        """Wait for the child to exit by itself; return its status.

        Raises:
            ProcessFailed: if it is still running after ``timeout`` seconds (it is
                then stopped).
        """
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise ProcessFailed(f"{self.name} did not finish in {timeout:g}s") from None

    def stop(self, grace=5.0):
        """Stop the child (SIGTERM, then SIGKILL after ``grace`` seconds) and reap it.

        Returns:
            A sentence saying what went wrong while stopping, or None if it exited
            cleanly (or had exited already).
        """
        trouble = None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                status = self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                trouble = f"{self.name} ignored SIGTERM for {grace:g}s and was killed"
            else:
                if status not in (0, -signal.SIGTERM):
                    trouble = f"{self.name} exited with status {status} on SIGTERM"
        if self.process.stdin is not None:
            self.process.stdin.close()
        _running.discard(self)
        return trouble

    def close(self):
        """Stop the child if needed and release its temporary files."""
        self.stop()
        self._stdout.close()
        self._stderr.close()


def stop_all():
    """Stop every child still running: for the runner's ``finally``."""
    for child in list(_running):
        child.close()
