"""The poems: a fixed catalogue bundled with the package, or a file you name.

A poem is bytes. Servers send bytes and clients count bytes; text is decoded once,
at the end, by whoever wants to read it, so a character that a chunk boundary splits
in two is never a problem.
"""

import csv
import io
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


class PoemError(Exception):
    """A poem that cannot be served: an unknown name or an unreadable file."""


@dataclass(frozen=True)
class Poem:
    """A poem ready to serve.

    Attributes:
        name: The catalogue name, or the path as the user gave it.
        data: The poem's bytes, exactly as stored (UTF-8 for the catalogue).
        credit: Title, author and source edition; empty for a file of your own.
    """

    name: str
    data: bytes
    credit: str = ""


def _poems_folder():
    return resources.files("poetry_server") / "poems"


def catalogue():
    """Return the bundled poems' credits, ``{name: credit}``, in name order."""
    text = (_poems_folder() / "credits.tsv").read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO(text), delimiter="\t")
    return {
        row["name"]: f'"{row["title"]}" by {row["author"]} ({row["year"]}); {row["source"]}'
        for row in sorted(rows, key=lambda row: row["name"])
    }


#: The most times ``NAME-xN`` repeats a poem: ``mariner-x1000`` is about 20 MB.
MOST_REPEATS = 1000


def load_poem(name_or_path):
    """Load a poem by catalogue name (``ecstasy``) or by file path.

    A catalogue name is looked up in a fixed table, never used to build a path.
    ``NAME-xN`` is the catalogue's poem NAME repeated N times (1 to 1000): a poem
    bigger than the socket buffers, for watching flow control, with no file to make.

    Raises:
        PoemError: with a one-line message, when the name is not in the catalogue and
            no readable file has that path.
    """
    credits = catalogue()
    repeated = re.fullmatch(r"([a-z]+)-x([1-9][0-9]*)", name_or_path)
    if repeated and repeated[1] in credits and not Path(name_or_path).exists():
        times = int(repeated[2])
        if times > MOST_REPEATS:
            raise PoemError(f"cannot repeat a poem {times} times: at most {MOST_REPEATS}")
        poem = load_poem(repeated[1])
        return Poem(name_or_path, poem.data * times, f"{poem.credit}; repeated {times} times")
    if name_or_path in credits:
        data = (_poems_folder() / f"{name_or_path}.txt").read_bytes()
        return Poem(name_or_path, data, credits[name_or_path])
    path = Path(name_or_path)
    if not path.exists():
        names = ", ".join(credits)
        raise PoemError(
            f"unknown poem {name_or_path!r}: not in the catalogue ({names}) "
            "and no such file"
        )
    try:
        return Poem(name_or_path, path.read_bytes())
    except OSError as exc:
        raise PoemError(f"cannot read poem file {name_or_path!r}: {exc.strerror}") from None
