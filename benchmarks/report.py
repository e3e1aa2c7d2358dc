"""The report: medians, ratios to asyncio, a plain-text table and a JSON file.

Each figure of each server is the median of its repetitions, and its ratio to the
baseline's median (asyncio's protocols; for timers, asyncio's loop) from the same
run. The ratio is always server / baseline, so whether above 1 is good depends on
the figure, and the header says it: higher is better (↑) for requests and MB/s,
lower (↓) for memory and seconds.
The JSON file keeps every repetition's value and details, and the machine they ran on.
The text is written again from it, in the layout of this module, with

    python -m benchmarks.report [benchmarks/results/latest.json]
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import textwrap
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

#: A load generator this busy (share of its core) may be what limits the figure.
LOADGEN_SATURATED = 0.9
#: The text is at most this wide, as a terminal is, and as the book's code blocks hold:
#: the figures go side by side in as many tables as it takes, each with the servers.
WIDTH = 80
BETTER = {"higher": "↑", "lower": "↓"}


@dataclass(frozen=True)
class Figure:
    title: str
    unit: str
    better: str  # "higher" or "lower"
    form: str  # how a value is written
    ratio: bool = True


FIGURES = {
    "echo-10": Figure("echo 10 conn", "req/s", "higher", "{:,.0f}"),
    "echo-100": Figure("echo 100 conn", "req/s", "higher", "{:,.0f}"),
    "bulk": Figure("bulk 50x1MiB", "MB/s", "higher", "{:,.0f}"),
    "idle-memory": Figure("idle memory", "KiB/conn", "lower", "{:.2f}"),
    "idle-held": Figure("idle held", "conns", "higher", "{:.0f}", ratio=False),
    "timers": Figure("100k timers", "s", "lower", "{:.3f}"),
}

#: Framework packages whose versions go into the JSON.
PACKAGES = ("uvloop", "twisted", "tornado", "trio", "gevent")


def machine():
    """What the figures were measured on."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "kernel": f"{platform.system()} {platform.release()}",
        "packages": versions,
    }


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except FileNotFoundError:
        return None
    return None


def summarize(samples, baseline):
    """Turn ``{figure: {server: [Sample, ...]}}`` into medians, ratios and raw values."""
    summary = {}
    for name, by_server in samples.items():
        figure = FIGURES[name]
        rows = {}
        for server, runs in by_server.items():
            values = [run.value for run in runs if run.value is not None]
            missing = [run.missing for run in runs if run.missing is not None]
            rows[server] = {
                "median": statistics.median(values) if values else None,
                "values": [run.value for run in runs],
                "missing": missing,
                "details": [run.details for run in runs],
                "notes": sorted({run.note for run in runs if run.note}),
            }
        base = rows.get(baseline, {}).get("median")
        for row in rows.values():
            row["ratio"] = (row["median"] / base if figure.ratio and base
                            and row["median"] is not None else None)
        summary[name] = {"title": figure.title, "unit": figure.unit,
                         "better": figure.better, "servers": rows}
    return summary


def table(summary, servers, *, repetitions, baseline, info):
    """The plain text: the figures side by side, one row per server, in tables of at
    most ``WIDTH`` columns, then the numbered notes."""
    names = [name for name in FIGURES if name in summary]
    # Once to see how wide each figure's column is, and again to number the notes in
    # the order a reader meets them, table after table, row after row.
    widths = {name: len(max(_column(name, summary, servers, _Footnotes()), key=len))
              for name in names}
    server_width = max(len(server) for server in ["server", *servers])
    groups, width = [], WIDTH
    for name in names:
        if width + 2 + widths[name] > WIDTH:
            groups.append([])
            width = server_width
        groups[-1].append(name)
        width += 2 + widths[name]
    notes = _Footnotes()
    lines = [*textwrap.wrap(
        f"Median of {repetitions} repetition{'s' * (repetitions != 1)}; ×N = ratio to "
        f"{baseline} (protocols) measured in the same run; ↑ higher is better, ↓ lower "
        "is better.", WIDTH), *textwrap.wrap(
        f"{info['date']}, {info['cpu_count']} CPUs ({info['cpu_model']}), "
        f"Python {info['python']}, {info['kernel']}.", WIDTH)]
    for group in groups:
        rows = _rows(group, summary, servers, notes)
        lines.append("")
        lines.extend(_lines(rows))
    if notes.texts:
        lines.append("")
        for number, text in enumerate(notes.texts, 1):
            mark = f"[{number}] "
            lines.extend(textwrap.wrap(mark + text, WIDTH,
                                       subsequent_indent=" " * len(mark)))
    return "\n".join(lines) + "\n"


def _column(name, summary, servers, notes):
    """A figure's column: its title, its unit with which way is better, and a cell per
    server."""
    figure = FIGURES[name]
    return [figure.title, f"{figure.unit} {BETTER[figure.better]}",
            *(_cell(summary[name]["servers"].get(server), figure, notes)
              for server in servers)]


def _rows(names, summary, servers, notes):
    """One table's rows: the header, the units, then a row per server; the figures'
    cells are made row by row, so that the notes are numbered in reading order."""
    heads = [["server", *(FIGURES[name].title for name in names)],
             ["", *(f"{FIGURES[name].unit} {BETTER[FIGURES[name].better]}"
                    for name in names)]]
    return heads + [[server, *(_cell(summary[name]["servers"].get(server), FIGURES[name],
                                     notes) for name in names)] for server in servers]


def _lines(rows):
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
            for row in rows]


class _Footnotes:
    """Numbered notes under the table, each text once."""

    def __init__(self):
        self.texts = []

    def mark(self, text):
        if text not in self.texts:
            self.texts.append(text)
        return f"[{self.texts.index(text) + 1}]"


def _cell(row, figure, notes):
    if row is None:
        return "-"
    if row["median"] is None:
        reason = row["missing"][0] if row["missing"] else "no value"
        word = "n/a" if reason.startswith("n/a") else "error"
        return f"{word} {notes.mark(reason)}"
    text = figure.form.format(row["median"])
    if row["ratio"] is not None:
        text += f" ×{row['ratio']:.2f}"
    if row["missing"]:
        failed = len(row["missing"])
        text += " " + notes.mark(f"{failed} of {len(row['values'])} repetitions gave "
                                 f"no value: {row['missing'][0]}")
    for note in row["notes"]:
        text += " " + notes.mark(note)
    busy = [details.get("loadgen_cpu") or 0 for details in row["details"]]
    if busy and statistics.median(busy) >= LOADGEN_SATURATED:
        text += " " + notes.mark(
            f"the load generator used >= {LOADGEN_SATURATED:.0%} of its core: "
            "the server may be faster than this figure")
    return text


def write(path_json, path_text, *, summary, text, info, settings, notes):
    """Write the JSON file (all repetitions) and the text table."""
    path_json.parent.mkdir(parents=True, exist_ok=True)
    document = {"machine": info, "settings": settings, "figures": summary,
                "notes": notes, "table": text}
    path_json.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    path_text.parent.mkdir(parents=True, exist_ok=True)
    path_text.write_text(text, encoding="utf-8")


def render(document):
    """The text of a report, from the JSON document that :func:`write` wrote."""
    summary = document["figures"]
    servers = list(dict.fromkeys(server for figure in summary.values()
                                 for server in figure["servers"]))
    settings = document["settings"]
    return table(summary, servers, repetitions=settings["repetitions"],
                 baseline=settings["baseline"], info=document["machine"])


def main(argv=None):
    """Write the text of a JSON report again, next to it (``.txt``); return 0."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report",
        description="write the text of a JSON report again, next to it (.txt)")
    parser.add_argument("json", nargs="?", type=Path, metavar="JSON",
                        default=Path(__file__).resolve().parent / "results" / "latest.json",
                        help="the report (default: %(default)s)")
    args = parser.parse_args(argv)
    text = render(json.loads(args.json.read_text(encoding="utf-8")))
    args.json.with_suffix(".txt").write_text(text, encoding="utf-8")
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
