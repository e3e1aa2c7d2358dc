"""Netstrings: any split of the stream gives the same payloads; bad input fails loudly.

The decoder is fed the way a socket feeds it: in chunks cut anywhere, down to one byte
at a time. A declared length is checked against the limit before its digits are even
complete, so a peer cannot make the decoder hold more than one bounded message.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coro.netstring import DEFAULT_MAX_LENGTH, NetstringDecoder, NetstringError, encode

# Payloads with the bytes that matter to the framing: digits, ':' and ',' and non-ASCII.
payloads_strategy = st.lists(
    st.one_of(st.binary(max_size=30), st.sampled_from([b"", b":", b",", b"1:a,", b"\xff\x00"])),
    max_size=15,
)
streams_strategy = payloads_strategy.map(lambda payloads: b"".join(map(encode, payloads)))
cuts_strategy = st.lists(st.integers(min_value=0, max_value=10_000), max_size=20)


def split(stream, cuts):
    """``stream`` cut at the given positions (taken modulo its length plus one)."""
    points = sorted({cut % (len(stream) + 1) for cut in cuts} | {0, len(stream)})
    return [stream[start:end] for start, end in zip(points, points[1:])]


def feed_all(decoder, chunks):
    """Everything the decoder yields for ``chunks``, fed one after the other."""
    return [payload for chunk in chunks for payload in decoder.feed(chunk)]


def feed_until_error(decoder, chunks):
    """The payloads yielded (including by the failing feed) and the error, if any."""
    payloads = []
    for chunk in chunks:
        try:
            payloads += decoder.feed(chunk)
        except NetstringError as error:
            return payloads + error.messages, error
    return payloads, None


# encode


def test_encode_prefixes_the_length_and_appends_a_comma():
    assert encode(b"hello") == b"5:hello,"


def test_encode_of_the_empty_payload_is_zero_colon_comma():
    assert encode(b"") == b"0:,"


def test_encode_accepts_any_bytes_like_object():
    assert encode(bytearray(b"ab")) == encode(memoryview(b"ab")) == b"2:ab,"


def test_encode_refuses_text_and_says_to_encode_it():
    with pytest.raises(TypeError, match="netstrings carry bytes; encode the text first"):
        encode("text")


def test_encode_refuses_an_int_rather_than_making_that_many_zero_bytes():
    with pytest.raises(TypeError, match="netstrings carry bytes, not int"):
        encode(5)


# Decoding valid streams


def test_one_netstring_gives_its_payload():
    assert NetstringDecoder().feed(b"5:hello,") == [b"hello"]


def test_zero_colon_comma_is_the_empty_payload():
    assert NetstringDecoder().feed(b"0:,") == [b""]


def test_an_unfinished_netstring_gives_nothing_until_its_comma_arrives():
    decoder = NetstringDecoder()
    assert decoder.feed(b"5:hello") == []
    assert decoder.feed(b",") == [b"hello"]


def test_one_byte_at_a_time_gives_every_payload_in_order():
    stream = b"5:hello,0:,3:a:,,"
    decoder = NetstringDecoder()
    assert feed_all(decoder, [stream[i:i + 1] for i in range(len(stream))]) == [
        b"hello", b"", b"a:,"]
    assert decoder.buffered == 0


def test_a_truncated_message_is_still_waiting_when_the_stream_ends():
    decoder = NetstringDecoder()
    assert decoder.feed(b"5:hello,11:hello w") == [b"hello"]
    assert decoder.buffered == len(b"11:hello w")


def test_twenty_thousand_tiny_netstrings_in_one_feed_all_come_out():
    payloads = [str(i % 10).encode() for i in range(20_000)]
    assert NetstringDecoder().feed(b"".join(map(encode, payloads))) == payloads


def test_a_length_equal_to_the_limit_is_accepted():
    assert NetstringDecoder(max_length=5).feed(b"5:hello,") == [b"hello"]


@given(payloads=payloads_strategy)
def test_encoded_payloads_decode_to_themselves(payloads):
    decoder = NetstringDecoder()
    assert decoder.feed(b"".join(map(encode, payloads))) == payloads
    assert decoder.buffered == 0


@given(payloads=payloads_strategy, cuts=cuts_strategy)
def test_any_split_of_the_stream_gives_the_same_payloads(payloads, cuts):
    stream = b"".join(map(encode, payloads))
    assert feed_all(NetstringDecoder(), split(stream, cuts)) == payloads


@given(payloads=payloads_strategy)
def test_any_stream_fed_one_byte_at_a_time_gives_the_same_payloads(payloads):
    stream = b"".join(map(encode, payloads))
    assert feed_all(NetstringDecoder(), [bytes([b]) for b in stream]) == payloads


# Bounded buffering


@pytest.mark.parametrize("digits", [b"1000", b"999", b"101:"])
def test_a_length_over_the_limit_is_refused_before_its_digits_end(digits):
    with pytest.raises(NetstringError, match=r"length \d+\.\.\. is over the limit of 100 bytes"):
        NetstringDecoder(max_length=100).feed(digits)


def test_a_stream_of_digits_is_refused_at_the_first_digit_past_the_limit():
    decoder = NetstringDecoder(max_length=100)
    decoder.feed(b"1")
    decoder.feed(b"0")
    with pytest.raises(NetstringError, match=r"length 101\.\.\. is over the limit"):
        decoder.feed(b"1")


def test_the_default_limit_is_one_mebibyte():
    decoder = NetstringDecoder()
    assert decoder.feed(b"%d:" % DEFAULT_MAX_LENGTH) == []
    with pytest.raises(NetstringError, match=f"over the limit of {1 << 20} bytes"):
        NetstringDecoder().feed(b"%d:" % (DEFAULT_MAX_LENGTH + 1))


@given(stream=st.binary(max_size=200) | streams_strategy,
       max_length=st.integers(min_value=0, max_value=40), cuts=cuts_strategy)
def test_buffered_never_exceeds_the_limit_plus_its_header(stream, max_length, cuts):
    decoder = NetstringDecoder(max_length)
    bound = max_length + len(str(max_length)) + 2
    for chunk in split(stream, cuts):
        try:
            decoder.feed(chunk)
        except NetstringError:
            break
        assert decoder.buffered <= bound


def test_a_negative_limit_is_refused():
    with pytest.raises(ValueError, match="max_length must be at least 0"):
        NetstringDecoder(max_length=-1)


# Malformed streams


@pytest.mark.parametrize("stream, message", [
    (b":abc,", "netstring has no length digits before ':'"),
    (b"5x:hello,", "expected a digit or ':' after netstring length 5, got b'x'"),
    (b"-1:", "expected a digit at the start of a netstring, got b'-'"),
    (b" 5:", "expected a digit at the start of a netstring, got b' '"),
    (b"05:hello,", "netstring length has a leading zero: b'05'"),
    (b"5:hello;", "expected ',' after 5 bytes of payload, got b';'"),
    (b"5:hello5:world,", "expected ',' after 5 bytes of payload, got b'5'"),
])
def test_a_malformed_stream_is_refused_with_a_specific_message(stream, message):
    with pytest.raises(NetstringError) as caught:
        NetstringDecoder().feed(stream)
    assert str(caught.value) == message


def test_text_fed_to_the_decoder_is_refused():
    with pytest.raises(TypeError, match="encode the text first"):
        NetstringDecoder().feed("5:hello,")


def test_the_error_carries_the_payloads_completed_before_the_bad_byte():
    with pytest.raises(NetstringError) as caught:
        NetstringDecoder().feed(b"1:a,0:,2:bc;")
    assert caught.value.messages == [b"a", b""]


def test_after_an_error_the_decoder_stays_failed():
    decoder = NetstringDecoder()
    with pytest.raises(NetstringError):
        decoder.feed(b"x")
    with pytest.raises(NetstringError, match="decoder already failed: expected a digit") as caught:
        decoder.feed(b"1:a,")
    assert caught.value.messages == []


@given(payloads=payloads_strategy.filter(bool), data=st.data(), cuts=cuts_strategy)
def test_a_corrupted_terminator_raises_and_no_wrong_payload_comes_out(payloads, data, cuts):
    broken = data.draw(st.integers(min_value=0, max_value=len(payloads) - 1))
    bad_byte = data.draw(st.binary(min_size=1, max_size=1).filter(lambda b: b != b","))
    framed = [encode(p) for p in payloads]
    framed[broken] = framed[broken][:-1] + bad_byte
    yielded, error = feed_until_error(NetstringDecoder(), split(b"".join(framed), cuts))
    assert error is not None
    assert yielded == payloads[:broken]
