"""Graceful stop on SIGINT/SIGTERM: finish the current step, checkpoint, exit.

The first signal only sets a flag that the training loop checks after every
optimizer step, so the checkpoint it then writes is consistent (parameters,
optimizer state and counters of the same step). A second signal raises
``KeyboardInterrupt`` for an immediate abort without saving.
"""
import signal
import threading

__all__ = ["GracefulStop"]


class GracefulStop:
    """Context manager that turns SIGINT/SIGTERM into a stop request.

    Attributes
    ----------
    requested : str or None
        Name of the first signal received (``'SIGTERM'``), else ``None``.
    """

    SIGNALS = ("SIGINT", "SIGTERM")

    def __init__(self, on_request=None):
        self.requested = None
        self._old = {}
        self._on_request = on_request

    def _handler(self, signum, frame):
        name = signal.Signals(signum).name
        if self.requested is not None:
            raise KeyboardInterrupt("second %s: aborting without a checkpoint" % name)
        self.requested = name
        if self._on_request is not None:
            self._on_request(name)

    def __enter__(self):
        # handlers can only be installed from the main thread (e.g. not under some
        # test runners' worker threads); then signals keep their default action
        if threading.current_thread() is threading.main_thread():
            for name in self.SIGNALS:
                sig = getattr(signal, name)
                self._old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old = {}
        return False
