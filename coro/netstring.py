"""Netstrings: messages framed by their length, parsed without doing any I/O.

A netstring (D. J. Bernstein) is a payload between its length, in decimal ASCII digits
followed by a colon, and a comma: ``b"5:hello,"`` carries ``b"hello"`` and ``b"0:,"``
carries nothing. The length has no sign, no spaces and no leading zeros.

If the end of the connection marked the end of the message, a connection cut short would
look just like one that ended on time: a server that crashes halfway through a poem leaves
the client with half a poem and no way to tell. A length prefix says in advance how many
bytes must come, so a truncated message is still waiting for its bytes when the connection
closes, and the reader knows. It also lets one connection carry many messages, and lets
the reader refuse a message that is too long before holding it.

>>> from coro.netstring import encode, NetstringDecoder
>>> encode(b"hello")
b'5:hello,'
>>> decoder = NetstringDecoder()
>>> decoder.feed(b"5:hel"), decoder.feed(b"lo,0:,3:a")
([], [b'hello', b''])
>>> decoder.buffered
3
"""

import enum

DEFAULT_MAX_LENGTH = 1 << 20  # 1 MiB

_COLON, _COMMA, _ZERO, _NINE = b":,09"


class NetstringError(ValueError):
    """The peer sent something that is not a netstring (or one too long).

    Attributes:
        messages: the payloads completed by the failing ``feed`` before the bad byte.
    """

    def __init__(self, message, messages=()):
        super().__init__(message)
        self.messages = list(messages)


def _byte_view(data):
    """``data`` as a memoryview of bytes, or a TypeError that says what was wrong."""
    if isinstance(data, str):
        raise TypeError("netstrings carry bytes; encode the text first")
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(f"netstrings carry bytes, not {type(data).__name__}") from None
    return view.cast("B")


def encode(payload):
    """Frame one payload as a netstring.

    Args:
        payload: the bytes to send (any bytes-like object).

    Returns:
        ``b"<length>:<payload>,"``.

    Raises:
        TypeError: if ``payload`` is not bytes-like (text must be encoded first).
    """
    view = _byte_view(payload)
    return b"%d:%b," % (len(view), view)


class _State(enum.Enum):
    LENGTH = "reading the length digits"
    PAYLOAD = "collecting the payload"
    COMMA = "expecting the closing comma"


class NetstringDecoder:
    """Turns a stream of bytes, cut anywhere, into the payloads of its netstrings.

    Invariant: the decoder holds at most one unfinished message, whose declared length never
    exceeds ``max_length`` (checked digit by digit), so ``buffered`` stays within
    ``max_length`` plus its header. Once it has failed, it stays failed.
    """

    def __init__(self, max_length=DEFAULT_MAX_LENGTH):
        if max_length < 0:
            raise ValueError(f"max_length must be at least 0, not {max_length!r}")
        self._max_length = max_length
        self._failure = None
        self._start_message()

    def _start_message(self):
        self._state = _State.LENGTH
        self._digits = 0
        self._length = 0
        self._payload = bytearray()

    @property
    def buffered(self):
        """How many bytes of an unfinished message (header and payload) have been taken in."""
        return self._digits + (self._state is not _State.LENGTH) + len(self._payload)

    def feed(self, data):
        """Take bytes as they came off the socket.

        Args:
            data: the next bytes of the stream, cut anywhere.

        Returns:
            The payloads completed by ``data``, in order (possibly ``[]``).

        Raises:
            NetstringError: on bytes that are not a netstring, or a length over ``max_length``.
                Its ``messages`` holds the payloads ``data`` completed before the bad byte, so
                none is lost. The stream can no longer be framed: every later ``feed`` raises.
        """
        if self._failure is not None:
            raise NetstringError(f"decoder already failed: {self._failure}")
        view = _byte_view(data)
        messages = []
        position = 0
        try:
            while position < len(view):
                if self._state is _State.PAYLOAD:
                    # Copy as much of the payload as this chunk holds in one slice.
                    chunk = view[position:position + self._length - len(self._payload)]
                    self._payload += chunk
                    position += len(chunk)
                    if len(self._payload) == self._length:
                        self._state = _State.COMMA
                    continue
                message = self._take_byte(view[position])
                position += 1
                if message is not None:
                    messages.append(message)
        except NetstringError as error:
            self._failure = str(error)
            error.messages = messages
            raise
        return messages

    def _take_byte(self, byte):
        """One byte of a header or the closing comma; returns the payload it completes."""
        if self._state is _State.COMMA:
            if byte != _COMMA:
                raise NetstringError(f"expected ',' after {self._length} bytes of payload, "
                                     f"got {bytes([byte])!r}")
            message = bytes(self._payload)
            self._start_message()
            return message
        if byte == _COLON and self._digits:
            self._state = _State.PAYLOAD if self._length else _State.COMMA
            return None
        if byte == _COLON:
            raise NetstringError("netstring has no length digits before ':'")
        if not _ZERO <= byte <= _NINE:
            expected = (f"a digit or ':' after netstring length {self._length}" if self._digits
                        else "a digit at the start of a netstring")
            raise NetstringError(f"expected {expected}, got {bytes([byte])!r}")
        if self._digits == 1 and self._length == 0:
            raise NetstringError(f"netstring length has a leading zero: {bytes([_ZERO, byte])!r}")
        self._digits += 1
        self._length = self._length * 10 + byte - _ZERO
        if self._length > self._max_length:
            raise NetstringError(f"netstring length {self._length}... is over the limit "
                                 f"of {self._max_length} bytes")
        return None
