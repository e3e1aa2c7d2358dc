"""Waiting for many Deferreds at once: :class:`DeferredList` and :func:`gather`.

A program that downloads ten poems at once has ten Deferreds, and usually wants to
know when all of them are done, or the first one, or the first failure. A
DeferredList is a Deferred that fires when the Deferreds it was given have, with
their outcomes in the order they were given, whatever order they came in:

>>> from coro.deferred.deferred import Deferred, succeed
>>> from coro.deferred.deferred_list import DeferredList
>>> slow, fast = Deferred(), succeed("fast")
>>> both = DeferredList([slow, fast])
>>> both.called
False
>>> slow.callback("slow")
>>> both.result
[(True, 'slow'), (True, 'fast')]
"""

from coro.deferred.deferred import Deferred


class FirstError(Exception):
    """The first of a group of Deferreds to fail, and where it was in the group.

    Attributes:
        sub_failure: The :class:`~coro.deferred.failure.Failure` it failed with.
        index: Its position in the list the group was made from.
    """

    def __init__(self, sub_failure, index):
        super().__init__(sub_failure, index)
        self.sub_failure = sub_failure
        self.index = index

    def __str__(self):
        return f"Deferred #{self.index} failed: {self.sub_failure.get_error_message()}"


class DeferredList(Deferred):
    """A Deferred that fires when a list of Deferreds has.

    Its result is a list of ``(True, result)`` or ``(False, failure)``, one per
    Deferred, in the order of ``deferreds``. It fires once every one has fired,
    unless ``fire_on_one_callback`` or ``fire_on_one_errback`` says to fire earlier.
    Cancelling it cancels every Deferred in it that has not fired.

    Args:
        deferreds: The Deferreds to wait for.
        fire_on_one_callback: Fire with ``(result, index)`` as soon as one succeeds.
        fire_on_one_errback: Fail with :exc:`FirstError` as soon as one fails.
        consume_errors: Handle each failure here (it is in the results), so that the
            Deferred it came from ends with None and does not report it as unhandled.
    """

    def __init__(self, deferreds, *, fire_on_one_callback=False, fire_on_one_errback=False,
                 consume_errors=False):
        super().__init__(canceller=self._cancel_all)
        self.deferreds = list(deferreds)
        self.results = [None] * len(self.deferreds)
        self._fire_on_one_callback = fire_on_one_callback
        self._fire_on_one_errback = fire_on_one_errback
        self._consume_errors = consume_errors
        self._finished = 0
        if not self.deferreds and not fire_on_one_callback:
            self.callback([])
        for index, deferred in enumerate(self.deferreds):
            deferred.add_callbacks(self._one_fired, self._one_fired,
                                   callback_args=(index, True), errback_args=(index, False))

    def _one_fired(self, result, index, succeeded):
        self.results[index] = (succeeded, result)
        self._finished += 1
        if not self.called:
            if succeeded and self._fire_on_one_callback:
                self.callback((result, index))
            elif not succeeded and self._fire_on_one_errback:
                self.errback(FirstError(result, index))
            elif self._finished == len(self.deferreds):
                self.callback(self.results)
        if not succeeded and self._consume_errors:
            return None
        return result

    def _cancel_all(self, _):
        # A canceller that raises must not leave the Deferreds after it running: each is
        # cancelled, then the errors are raised, one as itself, several as a group.
        errors = []
        for deferred in self.deferreds:
            try:
                deferred.cancel()
            except Exception as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise ExceptionGroup("cancelling a DeferredList", errors)


def gather(deferreds):
    """A Deferred of the list of the results of ``deferreds``, in their order.

    It fails with :exc:`FirstError` as soon as one of them fails; that failure is
    handled here, so it is reported once, through the gathered Deferred. The others
    are left to run (cancel the gathered Deferred to cancel them).
    """
    group = DeferredList(deferreds, fire_on_one_errback=True, consume_errors=True)
    return group.add_callback(lambda results: [result for _, result in results])

