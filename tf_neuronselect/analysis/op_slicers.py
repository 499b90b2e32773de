"""Slicers of ``keras.ops`` calls in a functional graph: ``x + 3.0``, ``x * (1 / 6)``,
``ops.relu6(x)``, ``x * y``. Keras records each call as an operation node (not a layer), as in
MobileNetV3's hard-sigmoid and ConvNeXt's residual adds.

An element-wise op with one tensor operand (the others Python numbers or arrays that broadcast
along the channels) keeps channels; with several tensor operands it merges them channel by
channel, like an Add layer. Only the ops listed here are known; any other op (a matmul, a
transpose, a mean) has no slicer and is refused by name when a removable channel reaches it.
"""

import keras
import numpy as np

from tf_neuronselect.analysis import slicers
from tf_neuronselect.utils import keras_private

UNARY = ("relu", "relu6", "sigmoid", "hard_sigmoid", "silu", "hard_silu", "gelu", "tanh", "elu",
         "selu", "softplus", "softsign", "leaky_relu", "abs", "negative", "square", "sqrt",
         "exp", "log1p", "sign")
BINARY = ("add", "subtract", "multiply", "divide", "true_divide", "maximum", "minimum",
          "power")


class OpSlicer(slicers.Slicer):
    """An element-wise ``keras.ops`` call (see the module doc)."""

    def role(self, operation):
        tensors = keras_private.operation_node(operation).input_tensors
        return slicers.MERGE if len(tensors) > 1 else slicers.CHANNELWISE

    def constant(self, operation, values, shapes):
        return slicers.evaluate_constant(_runner(operation), values, shapes)

    def weights(self, operation, keep_in, keep_out, bias_fold):
        return []

    def arguments(self, operation, args, kwargs, keep_out):
        """The call's arguments with every array constant that spans the channels sliced to
        ``keep_out``."""
        channels = keras_private.operation_node(operation).outputs[0].shape[-1]
        return ([_slice_constant(a, keep_out, channels) for a in args],
                {k: _slice_constant(v, keep_out, channels) for k, v in kwargs.items()})


class ProductOpSlicer(OpSlicer):
    """``x * y`` (or ``ops.multiply``): zero in a factor is zero in the product."""

    constant_rule = "multiplied by zero in '{name}'"
    zero_absorbing = True

    def constant(self, operation, values, shapes):
        return slicers.zero_where_a_factor_is_zero(super().constant(operation, values, shapes),
                                                   values)


class FlipSlicer(OpSlicer):
    """``ops.flip(x, axis)``: keeps channels unless it reverses the channel axis."""

    def role(self, operation):
        node = keras_private.operation_node(operation)
        axis = getattr(operation, "axis", None)  # an argument of the op, not of its call
        rank = len(node.outputs[0].shape)
        axes = axis if isinstance(axis, (list, tuple)) else [axis]
        if axis is None or any(a % rank == rank - 1 for a in axes):
            return slicers.PINNED
        return slicers.CHANNELWISE

    def constant(self, operation, values, shapes):
        return values[0].copy()


def _runner(operation):
    node = keras_private.operation_node(operation)

    def run(arrays):
        mapping = {id(t): a for t, a in zip(node.input_tensors, arrays)}
        args, kwargs = keras_private.call_arguments(node, mapping)
        return operation(*args, **kwargs)

    return run


def _slice_constant(value, keep, channels):
    if isinstance(value, np.ndarray) and value.ndim and value.shape[-1] == channels > 1:
        return np.take(value, keep, axis=-1)
    return value


def op_slicers():
    """``{operation class: slicer}`` for the ops of ``UNARY`` and ``BINARY``."""
    table = {}
    for name in UNARY:
        table[keras_private.op_class(getattr(keras.ops, name))] = OpSlicer()
    for name in BINARY:
        slicer = ProductOpSlicer() if name == "multiply" else OpSlicer()
        table[keras_private.op_class(getattr(keras.ops, name), 2.0)] = slicer
    table[keras_private.op_class(keras.ops.flip, 0)] = FlipSlicer()
    return table
