"""Tracking how many units are alive while a model trains."""

import keras

from tf_neuronselect.selection.dead import layer_status


def alive_units(model, tol=0.0):
    """``{layer name: alive units}`` for every layer with removable units of its own."""
    counts = {}
    for layer in model._flatten_layers(include_self=False):
        status = layer_status(layer, tol) if layer.built else None
        if status is not None:
            counts[layer.name] = int((~status.dead).sum())
    return counts


class NeuronHistory(keras.callbacks.Callback):
    """Records the alive units of every prunable layer (Dense/Conv, Gate, TriStateReLU).

    After every epoch (and, with ``every_n_steps``, every N training steps) it stores
    ``{layer: alive units}`` in ``self.history`` and puts the total into the epoch's logs as
    ``units``, so it shows in the progress bar, in ``model.fit(...).history`` and, when a
    ``keras.callbacks.TensorBoard`` callback comes after it in the list, in TensorBoard.

    Args:
        tol: group-norm tolerance passed to the dead-unit test.
        every_n_steps: also record every N steps (None: only per epoch).
    """

    def __init__(self, tol=0.0, every_n_steps=None):
        super().__init__()
        self.tol = float(tol)
        self.every_n_steps = every_n_steps
        self.history = []  # list of (step, {layer: alive})
        self._step = 0

    def on_train_begin(self, logs=None):
        self._record()

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self.every_n_steps and self._step % self.every_n_steps == 0:
            self._record()

    def on_epoch_end(self, epoch, logs=None):
        counts = self._record()
        if logs is not None:
            logs["units"] = sum(counts.values())

    def _record(self):
        counts = alive_units(self.model, self.tol)
        if not self.history or self.history[-1][0] != self._step:
            self.history.append((self._step, counts))
        return counts

    def per_layer(self):
        """``{layer: [alive units at each record]}`` and the list of steps."""
        steps = [step for step, _ in self.history]
        names = list(self.history[0][1]) if self.history else []
        return steps, {name: [counts[name] for _, counts in self.history] for name in names}
