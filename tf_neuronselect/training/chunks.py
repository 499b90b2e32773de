"""Callbacks that see the chunks of ``fit_with_shrinking`` as one training run.

Each chunk is its own ``model.fit``, which calls ``on_train_begin`` / ``on_train_end``; left
alone, EarlyStopping would forget its patience, ReduceLROnPlateau its wait and TensorBoard
its batch step at every removal. The wrapper passes the first ``on_train_begin`` and holds
``on_train_end`` until the whole run is over; every other hook (and ``set_model``, so the
callback always sees the current, smaller model) is forwarded.

A removal in the middle of an epoch splits it over two chunks. The wrapper then hides the
seam (``RunState``): the first chunk's ``on_epoch_end`` and the second chunk's
``on_epoch_begin`` are not forwarded, and the second chunk's batch indices (and
``params["steps"]``) run on from where the first stopped, so the callback sees one epoch.
"""

import dataclasses

import keras

from tf_neuronselect.utils import keras_private

_BATCH_ENDS = ("on_batch_end", "on_train_batch_end", "on_test_batch_end",
               "on_predict_batch_end")
_FORWARDED = [
    f"on_{stage}_{event}"
    for stage in ("test_batch", "predict_batch", "test", "predict")
    for event in ("begin", "end")
]


@dataclasses.dataclass
class RunState:
    """Where the chunked run stands, shared by the wrappers and the removal points.

    Attributes:
        interrupted: the current chunk stopped inside an epoch for a removal.
        resumed_epoch: the epoch the current chunk continues (None: it starts a new epoch).
        offset: batches of ``resumed_epoch`` done before the current chunk.
    """

    interrupted: bool = False
    resumed_epoch: int | None = None
    offset: int = 0

    def resume(self, epoch, offset):
        self.interrupted = False
        self.resumed_epoch, self.offset = (epoch, offset) if offset else (None, 0)


class AcrossChunks(keras.callbacks.Callback):
    """Wraps one user callback for the chunked fit; ``finish(logs)`` ends it."""

    def __init__(self, inner, state):
        super().__init__()
        self.inner = inner
        self.state = state
        self.started = False
        # Keras runs batch-end hooks off the training thread only when no callback needs
        # them on it: a wrapper must not take that away from a callback that has none.
        self.async_safe = getattr(inner, "async_safe", False) or all(
            keras_private.is_default_hook(inner, name) for name in _BATCH_ENDS)

    def set_model(self, model):
        super().set_model(model)
        self.inner.set_model(model)

    def set_params(self, params):
        if self.state.offset and params and params.get("steps"):
            params = dict(params, steps=params["steps"] + self.state.offset)
        super().set_params(params)
        self.inner.set_params(params)

    def on_train_begin(self, logs=None):
        if not self.started:
            self.started = True
            self.inner.on_train_begin(logs)

    def on_train_end(self, logs=None):
        pass  # held back until the last chunk: see ``finish``

    def on_epoch_begin(self, epoch, logs=None):
        if epoch != self.state.resumed_epoch:
            self.inner.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if not self.state.interrupted:
            self.inner.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self.inner.on_train_batch_begin(batch + self.state.offset, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.inner.on_train_batch_end(batch + self.state.offset, logs)

    def finish(self, logs=None):
        if self.started:
            self.inner.on_train_end(logs)


def _forward(name):
    def hook(self, *args, **kwargs):
        return getattr(self.inner, name)(*args, **kwargs)

    hook.__name__ = name
    return hook


for _name in _FORWARDED:
    setattr(AcrossChunks, _name, _forward(_name))


def check_callbacks(callbacks, state):
    """Refuses callbacks that cannot survive a removal of units; wraps the others."""
    for callback in callbacks or []:
        if isinstance(callback, keras.callbacks.EarlyStopping) and \
                callback.restore_best_weights:
            raise ValueError(
                "fit_with_shrinking: expected callbacks that do not restore old weights. "
                "Received: EarlyStopping(restore_best_weights=True), whose saved weights no "
                "longer fit the model once units are removed. How to fix: pass "
                "restore_best_weights=False, or keep the best model with "
                "keras.callbacks.ModelCheckpoint(save_best_only=True)."
            )
    return [AcrossChunks(callback, state) for callback in callbacks or []]
