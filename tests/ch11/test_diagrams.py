"""Chapter 11's figure of a Deferred's two columns: drawn from a real run of the chain
simulator, so each row says what the text drawing of the same run says."""

from coro import chain_simulator
from tests.docs_extensions import drawn_texts, load_diagrams

diagrams = load_diagrams()


def notes_of_the_text_drawing(chain):
    """What ``python -m coro.chain_simulator CHAIN`` writes beside each stage."""
    run = chain_simulator.simulate(chain_simulator.parse_chain(chain.split()))
    return [line[chain_simulator.NOTES:].strip()
            for line in chain_simulator.draw(run).splitlines()
            if line[:3].strip().isdigit() or line.strip().startswith(("└", "┌"))]


def test_each_row_of_the_figure_says_what_the_text_drawing_says():
    texts = [text.replace("\u2192", "->") for text in drawn_texts(diagrams.deferred_paths)]
    notes = notes_of_the_text_drawing(diagrams.CHAIN)
    assert len(notes) == 6  # four stages, a crossing to the errbacks and one back
    for note in notes:
        assert note in texts
    assert "result: 'recovered 3+4'" in texts
    assert "d.callback('poem')" in texts


def test_a_chain_fired_with_an_error_starts_in_the_errbacks():
    texts = drawn_texts(diagrams.deferred_paths, "pass/ok ok/pass", fire="errback")
    assert "d.errback(ValueError('fired'))" in texts
    assert "<Failure ValueError: fired> \u2192 'recovered 1'" in texts
    assert "back to the callbacks" in texts
