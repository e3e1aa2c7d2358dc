"""The catalogue: poems by name, and big poems made by repeating one."""

import pytest

from poetry_server.catalogue import PoemError, catalogue, load_poem


def test_a_repeated_poem_is_the_poem_n_times_over():
    mariner = load_poem("mariner")
    big = load_poem("mariner-x50")
    assert big.data == mariner.data * 50
    assert big.name == "mariner-x50"
    assert big.credit == f"{mariner.credit}; repeated 50 times"


@pytest.mark.parametrize("name", ["mariner-x0", "mariner-x1001", "nosuch-x2", "mariner-x",
                                  "mariner-x02"])
def test_a_repeat_out_of_range_or_of_an_unknown_poem_is_refused(name):
    with pytest.raises(PoemError, match="unknown poem|repeat"):
        load_poem(name)


def test_repeated_poems_are_not_listed_as_poems_of_their_own():
    assert all("-x" not in name for name in catalogue())
