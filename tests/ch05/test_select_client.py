"""The select client: one thread, one multiplexer, every failure still named."""

from coro import select_client
from tests.client_checks import MultiplexerClientChecks


class TestSelectClient(MultiplexerClientChecks):
    stage = select_client
    module = "coro.select_client"
