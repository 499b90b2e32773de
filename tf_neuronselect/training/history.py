"""Tracking how many units are alive while a model trains."""

import warnings

import keras

from tf_neuronselect.selection.dead import layer_status
from tf_neuronselect.surgery.reporting import model_size
from tf_neuronselect.utils import keras_private
from tf_neuronselect.utils.steps import StepCounter
from tf_neuronselect.utils.validation import validate_bool
from tf_neuronselect.utils.validation import validate_non_negative_float
from tf_neuronselect.utils.validation import validate_positive_int


def alive_units(model, tol=0.0):
    """``{layer name: alive units}`` for every layer with removable units of its own."""
    counts = {}
    for layer in keras_private.own_layers(model):
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

    With ``sizes=True`` it also puts ``params`` and ``macs`` (of the model ``shrink`` would
    make now, see ``model_size``) into each epoch's logs and ``self.sizes``; models the planner
    cannot read (subclassed, shared layers) get a warning and no sizes. The same tracker can
    be passed to every chunk of ``fit_with_shrinking``: its step count runs on.

    Args:
        tol: group-norm tolerance passed to the dead-unit test.
        every_n_steps: also record every N steps (None: only per epoch). Steps are real
            training steps; with ``compile(steps_per_execution=k)`` Keras runs callbacks only
            every k steps, so a record lands at the first execution boundary at or after each
            multiple of N.
        sizes: also record parameter and multiply-add counts after every epoch.
    """

    def __init__(self, tol=0.0, every_n_steps=None, sizes=True):
        super().__init__()
        self.tol = validate_non_negative_float(tol, "tol", "NeuronHistory")
        self.every_n_steps = validate_positive_int(every_n_steps, "every_n_steps",
                                                   "NeuronHistory", allow_none=True, example=50)
        self.track_sizes = validate_bool(sizes, "sizes", "NeuronHistory")
        self.history = []  # list of (step, {layer: alive})
        self.sizes = []  # list of (step, {"params": ..., "macs": ...})
        self._steps = StepCounter()

    @property
    def _step(self):
        return self._steps.total

    def on_train_begin(self, logs=None):
        self._record()

    def on_epoch_begin(self, epoch, logs=None):
        self._steps.begin_epoch()

    def on_train_batch_end(self, batch, logs=None):
        if self._steps.end_batch(batch, (self.params or {}).get("steps"), self.every_n_steps):
            self._record()

    def on_epoch_end(self, epoch, logs=None):
        counts = self._record()
        if logs is not None:
            logs["units"] = sum(counts.values())
        size = self._record_size()
        if size is not None and logs is not None:
            logs.update(size)

    def _record_size(self):
        if not self.track_sizes:
            return None
        try:
            size = model_size(self.model, self.tol)
        except (ValueError, TypeError) as error:
            self.track_sizes = False  # warn once, not every epoch
            warnings.warn(f"NeuronHistory: no params/MACs tracking for this model: {error}",
                          stacklevel=2)
            return None
        self.sizes.append((self._step, size))
        return size

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

    def plot(self, path):
        """Saves a PNG of alive units per layer against training steps (log scale) and, when
        sizes were tracked, parameters and MACs below it; returns ``path``."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        steps, per_layer = self.per_layer()
        rows = 2 if self.sizes else 1
        figure, axes = plt.subplots(rows, 1, figsize=(6, 3.2 * rows), squeeze=False)
        for name, counts in per_layer.items():
            axes[0][0].plot(steps, counts, marker="o", markersize=3, label=name)
        axes[0][0].set(ylabel="alive units", yscale="log", title="Alive units per layer")
        axes[0][0].legend(fontsize=8)
        if self.sizes:
            size_steps = [step for step, _ in self.sizes]
            for key in ("params", "macs"):
                axes[1][0].plot(size_steps, [size[key] for _, size in self.sizes],
                                marker="o", markersize=3, label=key)
            axes[1][0].set(ylabel="count", yscale="log", title="Size after shrink")
            axes[1][0].legend(fontsize=8)
        axes[-1][0].set_xlabel("training step")
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        plt.close(figure)
        return path
