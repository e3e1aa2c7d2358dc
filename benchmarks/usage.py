"""What a process uses, read from ``/proc``: resident memory, CPU time, descriptors.

Also the one limit every benchmark process raises first: the number of descriptors
it may open. The idle benchmark holds 10,000 connections, each a descriptor on the
server's side and another on the client's, beyond the usual soft limit of 1024.
"""

import os
import resource


def raise_fd_limit():
    """Raise this process's soft RLIMIT_NOFILE to its hard limit; return the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_kib(pid):
    """The resident set size of process ``pid`` in KiB (``VmRSS`` in /proc/PID/status).

    Raises:
        ProcessLookupError: if the process is gone.
    """
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])  # "VmRSS:   12345 kB"
    except FileNotFoundError:
        raise ProcessLookupError(f"no process {pid}") from None
    raise ProcessLookupError(f"process {pid} has no resident memory (a zombie?)")


_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """CPU time (user + system) that process ``pid`` has used so far, in seconds.

    Raises:
        ProcessLookupError: if the process is gone.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            text = stat.read()
    except FileNotFoundError:
        raise ProcessLookupError(f"no process {pid}") from None
    # The command name (field 2) is in parentheses and may contain spaces, so count
    # the fields after its closing parenthesis: utime and stime are fields 14 and 15.
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND


def own_cpu_seconds():
    """CPU time this process has used so far, in seconds (finer than /proc's ticks)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
