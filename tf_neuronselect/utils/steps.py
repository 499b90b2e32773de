"""Training steps as a callback sees them, right under ``steps_per_execution``."""


class StepCounter:
    """Training steps done so far, counted from the batch indices Keras passes to callbacks.

    With ``compile(steps_per_execution=k)`` Keras calls ``on_train_batch_end`` once per k
    steps, with the index of the execution's last batch, so counting calls gives 1/k of the
    real steps. The index is capped at the epoch's steps because an epoch's last execution may
    be shorter than k. Call ``begin_epoch`` from ``on_epoch_begin`` and ``end_batch`` from
    ``on_train_batch_end``.
    """

    def __init__(self):
        self.total = 0
        self._epoch_start = 0

    def begin_epoch(self):
        self._epoch_start = self.total

    def end_batch(self, batch, steps_per_epoch=None, every_n=None):
        """Moves to the end of batch ``batch`` of this epoch. Returns whether the steps done
        in this call passed a multiple of ``every_n`` (always False when it is None)."""
        done_in_epoch = int(batch) + 1
        if steps_per_epoch:
            done_in_epoch = min(done_in_epoch, int(steps_per_epoch))
        previous, self.total = self.total, self._epoch_start + done_in_epoch
        return bool(every_n) and self.total // every_n > previous // every_n
