"""The gradient of a model's loss with respect to its weights over a few batches (its mean, and
the root mean square of the batch gradients), without a backend's gradient API: a copy of the
model is compiled with an optimizer that only adds up the gradients it is given, and their
squares, and fit for one pass (Keras computes the gradients)."""

import keras
import numpy as np

from tf_neuronselect.analysis.graph import ModelGraph
from tf_neuronselect.analysis.replay import copy_call
from tf_neuronselect.analysis.replay import replay
from tf_neuronselect.pruning.data import inputs_of
from tf_neuronselect.pruning.data import labels_of
from tf_neuronselect.utils import keras_private
from tf_neuronselect.utils.arrays import to_numpy

_BATCH = 128


class _GradientSum(keras.optimizers.Optimizer):
    """Adds every gradient, and its square, to slots and leaves the weights alone."""

    def __init__(self):
        super().__init__(learning_rate=0.0, name="gradient_sum")

    def build(self, variables):
        super().build(variables)
        self.sums = [self.add_variable_from_reference(v, "sum") for v in variables]
        self.squares = [self.add_variable_from_reference(v, "square") for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        index = keras_private.variable_index(self, variable)
        self.assign_add(self.sums[index], gradient)
        self.assign_add(self.squares[index], keras.ops.square(gradient))


def weight_gradients(model, data, loss=None):
    """``{variable path: mean gradient}`` of ``loss`` (default: the loss ``model`` was compiled
    with) over ``data`` (``(x, y)``), for every trainable weight."""
    means, _ = gradient_moments(model, data, loss)
    return means


def gradient_rms(model, data, loss=None):
    """``{variable path: root mean square of the batch gradients}`` over ``data``, batches of
    128 (what Adam's second moment estimates, the scale of its steps)."""
    _, squares = gradient_moments(model, data, loss)
    return {path: np.sqrt(value) for path, value in squares.items()}


def gradient_moments(model, data, loss=None):
    """``({path: mean gradient}, {path: mean squared gradient})`` over the batches of
    ``data``: see ``weight_gradients``."""
    loss = loss or (keras_private.compile_arguments(model) or {}).get("loss")
    if loss is None:
        raise ValueError(
            "prune: expected a loss for the Taylor importance. Received: a model that was never "
            "compiled and loss=None. How to fix: compile the model, or pass loss=... "
            "(e.g. keras.losses.SparseCategoricalCrossentropy(from_logits=True))."
        )
    copy = replay(ModelGraph(model), lambda node, args, kwargs: args[0] if node.is_input
                  else copy_call(node.operation, args, kwargs, stock_only=True))
    optimizer = _GradientSum()
    copy.compile(optimizer=optimizer, loss=loss)
    x, y = inputs_of(data), labels_of(data)
    copy.fit(x, y, batch_size=_BATCH, epochs=1, shuffle=False, verbose=0)
    steps = max(1, -(-len(y) // _BATCH))
    variables = keras_private.optimizer_variables(optimizer)
    return ({v.path: to_numpy(s) / steps for v, s in zip(variables, optimizer.sums)},
            {v.path: to_numpy(s) / steps for v, s in zip(variables, optimizer.squares)})
