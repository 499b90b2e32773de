"""Tri-state ReLU (Srinivas & Babu 2015): learnable width gates per channel, one depth gate."""

import weakref

import keras
from keras import ops

from tf_neuronselect.api_export import neuronselect_export
from tf_neuronselect.layers.constraints import UnitInterval
from tf_neuronselect.regularizers.binarizing import Binarizing
from tf_neuronselect.utils.validation import validate_non_negative_float

THRESHOLD = 0.5


def binarize(gate):
    """The inference value of a gate: 1 where it is >= 0.5, else 0."""
    return ops.cast(gate >= THRESHOLD, gate.dtype)


def _upstream_tri_state(tensor, max_hops=64):
    """Walks back through single-input layers to the previous TriStateReLU, if any.

    Returns that layer, or the static channel count of the tensor where the walk stopped (a
    model input or a merge), which stands in for the previous layer's width.
    """
    for _ in range(max_hops):
        history = getattr(tensor, "_keras_history", None)
        if history is None:
            break
        operation, node_index, _ = history
        if isinstance(operation, TriStateReLU):
            return operation
        parents = operation._inbound_nodes[node_index].input_tensors
        if len(parents) != 1:
            break
        tensor = parents[0]
    return tensor.shape[-1] or 1


@neuronselect_export
class TriStateReLU(keras.layers.Layer):
    """``f(x) = w * x`` for ``x >= 0`` and ``w * d * x`` for ``x < 0``, per channel ``w``.

    ``w`` (``width_gate``, one per channel of the last axis, starts at 1) and ``d``
    (``depth_gate``, one per layer, starts at 0) are clipped to [0, 1]. ``w = 0`` removes a
    channel, ``d = 0`` makes the layer a ReLU and ``d = 1`` makes it linear, so it can be
    collapsed into the next layer. Training uses the real-valued gates; inference
    (``training=False``) uses them binarized at 0.5.

    Penalties (the paper's ``lambda_b R_b + lambda_m R_m``):
        - ``binarize * sum(w (1 - w) + d (1 - d))`` on the gates, pushing them to 0 or 1.
        - ``complexity * (sum w_l) * (sum w_{l-1})`` while the layer is non-linear (the
          indicator is treated as a constant): the width product of consecutive tri-state
          layers, found by walking back through single-input layers when the layer is first
          called on a symbolic tensor. The first such layer uses its chain's input width.
        - ``linearity * (1 - d)``: favours ``d -> 1`` so layers can be collapsed (depth).

    Args:
        binarize: ``lambda_b``, non-negative float.
        complexity: ``lambda_m`` for the width term, non-negative float.
        linearity: strength of the depth term, non-negative float.
        **kwargs: base layer keyword arguments such as ``name``.
    """

    def __init__(self, binarize=0.0, complexity=0.0, linearity=0.0, **kwargs):
        super().__init__(**kwargs)
        self.binarize = validate_non_negative_float(binarize, "binarize", "TriStateReLU")
        self.complexity = validate_non_negative_float(complexity, "complexity", "TriStateReLU")
        self.linearity = validate_non_negative_float(linearity, "linearity", "TriStateReLU")
        self._previous_width = 1.0

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, keras.KerasTensor):
            upstream = _upstream_tri_state(inputs)
            # A weak reference: the previous layer must not become a tracked sublayer.
            self._previous_width = (
                weakref.ref(upstream) if isinstance(upstream, TriStateReLU) else float(upstream)
            )
        return super().__call__(inputs, *args, **kwargs)

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(
                f"TriStateReLU '{self.name}': expected the last (channel) axis of the input to "
                f"be known. Received: input_shape={input_shape}. Give the input a fixed number "
                "of channels, e.g. keras.Input((None, 16))."
            )
        regularizer = Binarizing(self.binarize) if self.binarize else None
        self.width_gate = self.add_weight(
            name="width_gate", shape=(input_shape[-1],), initializer="ones",
            regularizer=regularizer, constraint=UnitInterval(),
        )
        self.depth_gate = self.add_weight(
            name="depth_gate", shape=(), initializer="zeros",
            regularizer=regularizer, constraint=UnitInterval(),
        )

    def _previous_width_value(self):
        if isinstance(self._previous_width, weakref.ref):
            previous = self._previous_width()
            if previous is not None and previous.built:
                return ops.sum(previous.width_gate)
            return 1.0
        return self._previous_width

    def _add_architecture_losses(self):
        if self.complexity:
            nonlinear = ops.stop_gradient(1.0 - binarize(self.depth_gate))
            width_product = ops.sum(self.width_gate) * self._previous_width_value()
            self.add_loss(self.complexity * nonlinear * width_product)
        if self.linearity:
            self.add_loss(self.linearity * (1.0 - self.depth_gate))

    def call(self, inputs, training=None):
        if training:
            width, depth = self.width_gate, self.depth_gate
            self._add_architecture_losses()
        else:
            width, depth = binarize(self.width_gate), binarize(self.depth_gate)
        width = ops.cast(width, inputs.dtype)
        depth = ops.cast(depth, inputs.dtype)
        return ops.where(inputs >= 0, width * inputs, width * depth * inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "binarize": self.binarize,
            "complexity": self.complexity,
            "linearity": self.linearity,
        })
        return config
