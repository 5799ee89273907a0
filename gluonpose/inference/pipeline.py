"""A pipelined frame stream: consecutive frames in different stages at once.

:class:`ThreadedPipeline` runs a chain of per-item functions (*stages*) over
an iterable, each stage in its own thread, joined by bounded queues. While
the network works on frame ``t``, the reader decodes and crops frame ``t + 1``
and the caller draws and writes frame ``t - 1`` (AlphaPose's multi-threaded
video flow). It pays off because the slow parts release the GIL: OpenCV's
video decoding, warping, drawing and encoding, and MXNet's operators.

Guarantees
----------
* **Order**: every stage is one thread reading one FIFO queue, so items come
  out in the order they went in, and a stage sees them in that order (the
  tracker relies on it).
* **Back-pressure**: each queue holds at most ``queue_size`` items; a slow
  consumer blocks the stages before it instead of growing memory. At most
  ``(len(stages) + 1) * (queue_size + 1)`` items are in flight.
* **Errors**: an exception in any stage (or in the source) stops every
  thread, and the consumer's iteration raises :class:`StageError` naming the
  stage and the item index, chained to the original exception.
* **Early exit**: closing the iterator (``break`` out of a ``for`` loop, or
  ``close()``) stops and joins the threads.
"""
import queue
import threading

__all__ = ["ThreadedPipeline", "StageError"]

_END = object()          # end-of-stream marker that travels through every queue
_POLL = 0.05             # seconds between checks of the stop flag while blocked


class StageError(RuntimeError):
    """A stage of a :class:`ThreadedPipeline` failed.

    Attributes
    ----------
    stage : str
        The stage's name (``'source'`` for the input iterable).
    index : int or None
        Position of the item being processed (``None`` when unknown).
    """

    def __init__(self, stage, index, error):
        self.stage, self.index, self.error = stage, index, error
        text = str(error).strip().splitlines()
        reason = text[0] if text else type(error).__name__
        if not isinstance(error, (OSError, ValueError, RuntimeError)):
            reason = "%s: %s" % (type(error).__name__, reason)
        where = "" if index is None else " at frame %d" % index
        super().__init__("%s stage failed%s: %s" % (stage, where, reason))


class _Failure:
    """An error travelling downstream in place of an item."""

    __slots__ = ("error",)

    def __init__(self, error):
        self.error = error


class ThreadedPipeline:
    """Iterate ``stages`` over ``source`` with one thread per stage.

    Parameters
    ----------
    source : iterable
        The items (frames); iterated in its own thread, named ``source_name``.
    stages : sequence of (str, callable)
        ``(name, fn)`` pairs applied in order, ``fn(item) -> item``.
    queue_size : int
        Items each queue may hold (>= 1): the back-pressure bound.
    source_name : str
        Name of the source's stage in error messages.

    Examples
    --------
    >>> pipe = ThreadedPipeline(range(5), [("square", lambda x: x * x)])
    >>> list(pipe)
    [0, 1, 4, 9, 16]
    """

    def __init__(self, source, stages, queue_size=2, source_name="read"):
        if int(queue_size) < 1:
            raise ValueError("queue_size must be >= 1, got %r" % (queue_size,))
        self.source = source
        self.stages = [(str(name), fn) for name, fn in stages]
        self.queue_size = int(queue_size)
        self.source_name = str(source_name)
        self._stop = threading.Event()
        self._queues = [queue.Queue(self.queue_size) for _ in range(len(self.stages) + 1)]
        self._threads = []
        self._started = False

    # ----------------------------------------------------------------------------- plumbing
    def _put(self, q, item):
        """Put unless the pipeline is stopping; False when it is."""
        while not self._stop.is_set():
            try:
                q.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def _get(self, q):
        """Next item, or ``_END`` when the pipeline is stopping."""
        while not self._stop.is_set():
            try:
                return q.get(timeout=_POLL)
            except queue.Empty:
                continue
        return _END

    def _feed(self):
        out = self._queues[0]
        index = 0
        try:
            for item in self.source:
                if not self._put(out, (index, item)):
                    return
                index += 1
        except BaseException as err:          # noqa: B902 (reported to the consumer)
            self._put(out, (index, _Failure(StageError(self.source_name, index, err))))
            return
        self._put(out, (index, _END))

    def _work(self, k):
        name, fn = self.stages[k]
        inbox, out = self._queues[k], self._queues[k + 1]
        while True:
            got = self._get(inbox)
            if got is _END:
                return
            index, item = got
            if item is not _END and not isinstance(item, _Failure):
                try:
                    item = fn(item)
                except BaseException as err:  # noqa: B902 (reported to the consumer)
                    item = _Failure(StageError(name, index, err))
            if not self._put(out, (index, item)) or item is _END or isinstance(item, _Failure):
                return

    def _start(self):
        self._started = True
        targets = [(self.source_name, self._feed, ())]
        targets += [(name, self._work, (k,)) for k, (name, _) in enumerate(self.stages)]
        for name, target, args in targets:
            thread = threading.Thread(target=target, args=args, daemon=True,
                                      name="gluonpose-%s" % name)
            thread.start()
            self._threads.append(thread)

    def close(self):
        """Stop every stage and wait for the threads (idempotent)."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads = []

    # ----------------------------------------------------------------------------- API
    def __iter__(self):
        if self._started:
            raise RuntimeError("a ThreadedPipeline can be iterated once")
        self._start()
        last = self._queues[-1]
        try:
            while True:
                got = self._get(last)
                if got is _END:                 # stopped from outside
                    return
                _, item = got
                if item is _END:
                    return
                if isinstance(item, _Failure):
                    raise item.error from item.error.error
                yield item
        finally:
            self.close()
