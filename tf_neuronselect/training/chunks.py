"""Callbacks that see the chunks of ``fit_with_shrinking`` as one training run.

Each chunk is its own ``model.fit``, which calls ``on_train_begin`` / ``on_train_end``; left
alone, EarlyStopping would forget its patience, ReduceLROnPlateau its wait and TensorBoard
its batch step at every removal. The wrapper passes the first ``on_train_begin`` and holds
``on_train_end`` until the whole run is over; every other hook (and ``set_model``, so the
callback always sees the current, smaller model) is forwarded.
"""

import keras

_FORWARDED = [
    f"on_{stage}_{event}"
    for stage in ("epoch", "train_batch", "test_batch", "predict_batch", "test", "predict")
    for event in ("begin", "end")
]


class AcrossChunks(keras.callbacks.Callback):
    """Wraps one user callback for the chunked fit; ``finish(logs)`` ends it."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.started = False

    def set_model(self, model):
        super().set_model(model)
        self.inner.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self.inner.set_params(params)

    def on_train_begin(self, logs=None):
        if not self.started:
            self.started = True
            self.inner.on_train_begin(logs)

    def on_train_end(self, logs=None):
        pass  # held back until the last chunk: see ``finish``

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


def check_callbacks(callbacks):
    """Refuses callbacks that cannot survive a removal of units."""
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
    return [AcrossChunks(callback) for callback in callbacks or []]
