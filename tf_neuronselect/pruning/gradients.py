"""The gradient of a model's loss with respect to its weights, averaged over a few batches,
without a backend's gradient API: a copy of the model is compiled with an optimizer that only
adds up the gradients it is given, and fit for one pass (Keras computes the gradients)."""

import keras

from tf_neuronselect.analysis.graph import ModelGraph
from tf_neuronselect.analysis.replay import copy_call
from tf_neuronselect.analysis.replay import replay
from tf_neuronselect.pruning.data import inputs_of
from tf_neuronselect.pruning.data import labels_of
from tf_neuronselect.utils import keras_private
from tf_neuronselect.utils.arrays import to_numpy

_BATCH = 128


class _GradientSum(keras.optimizers.Optimizer):
    """Adds every gradient to a slot and leaves the weights alone."""

    def __init__(self):
        super().__init__(learning_rate=0.0, name="gradient_sum")

    def build(self, variables):
        super().build(variables)
        self.sums = [self.add_variable_from_reference(v, "sum") for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        self.assign_add(self.sums[keras_private.variable_index(self, variable)], gradient)


def weight_gradients(model, data, loss=None):
    """``{variable path: mean gradient}`` of ``loss`` (default: the loss ``model`` was compiled
    with) over ``data`` (``(x, y)``), for every trainable weight."""
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
    return {v.path: to_numpy(s) / steps
            for v, s in zip(keras_private.optimizer_variables(optimizer), optimizer.sums)}
