"""The transforms the transformation service offers: a fixed table of names and functions.

A transform takes a poem's bytes and returns new bytes. Poems are UTF-8 text, so each
transform decodes the whole poem once, changes the text, and encodes the result: a Chinese
character is one character to a transform, never three bytes, and upper-casing the German
``ß`` gives two letters, ``SS``, for one.

The server looks a request's transform name up in :data:`TRANSFORMS` and nowhere else. A
name that comes from the network is never turned into code: ``getattr(module, name)``
would let any client call any function the module can reach. A name that is not in the
table gets an error reply that lists the names that are.

>>> from poetry_server.transform import TRANSFORMS
>>> list(TRANSFORMS)
['cummingsify', 'reverse', 'upper']
>>> TRANSFORMS["upper"]("Daß ich so traurig bin".encode()).decode()
'DASS ICH SO TRAURIG BIN'
"""

import functools
import types


class NotText(ValueError):
    """The poem's bytes are not UTF-8 text, so no transform can read it."""


def _on_text(change):
    """Make a transform of bytes out of ``change``, a function of text."""

    @functools.wraps(change)
    def transform(poem):
        try:
            text = poem.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotText(f"the poem is not UTF-8 text: {exc.reason} at byte {exc.start}") \
                from None
        return change(text).encode("utf-8")

    return transform


@_on_text
def cummingsify(text):
    """Lower-case every letter, as e. e. cummings wrote his name."""
    return text.lower()


@_on_text
def upper(text):
    """Upper-case every letter (``ß`` becomes ``SS``)."""
    return text.upper()


@_on_text
def reverse(text):
    """Reverse the order of the lines (a line ending in ``\\r\\n`` keeps its ``\\r``)."""
    end = "\n" if text.endswith("\n") else ""
    lines = text.removesuffix("\n").split("\n")
    return "\n".join(reversed(lines)) + end


#: The transforms a client may ask for, by name. The table is read-only (the server cannot
#: be talked into adding one); a test that needs another transform passes its own table.
TRANSFORMS = types.MappingProxyType({
    "cummingsify": cummingsify,
    "reverse": reverse,
    "upper": upper,
})
