"""Tri-state ReLU (Srinivas & Babu 2015): learnable width gates per channel, one depth gate."""

import math
import weakref

import keras
from keras import ops

from tf_neuronselect.api_export import neuronselect_export
from tf_neuronselect.layers.constraints import UnitInterval
from tf_neuronselect.regularizers.binarizing import Binarizing
from tf_neuronselect.utils import keras_private
from tf_neuronselect.utils.validation import validate_bool
from tf_neuronselect.utils.validation import validate_choice
from tf_neuronselect.utils.validation import validate_non_negative_float

THRESHOLD = 0.5
COMPLEXITY_MEASURES = ("neurons", "parameters", "fan_in")


def binarize(gate):
    """The inference value of a gate: 1 where it is >= 0.5, else 0."""
    return ops.cast(gate >= THRESHOLD, gate.dtype)


def straight_through(gate):
    """``binarize(gate)`` in the forward pass, the identity in the backward pass (STE)."""
    return gate + ops.stop_gradient(binarize(gate) - gate)


def _kernel_size(operation):
    shape = getattr(getattr(operation, "kernel", None), "shape", None)
    return 0 if shape is None else math.prod(int(dim) for dim in shape)


def _upstream_tri_state(tensor, max_hops=64):
    """Walks back through single-input layers to the previous TriStateReLU, if any.

    Returns ``(upstream, kernel_size)``: the previous TriStateReLU, or the static channel count
    of the tensor where the walk stopped (a model input or a merge), which stands in for the
    previous layer's width; and the number of kernel weights met on the way (the weights that
    connect the previous layer to this one).
    """
    kernel_size = 0
    for _ in range(max_hops):
        history = keras_private.producer(tensor)
        if history is None:
            break
        operation, node_index, _ = history
        if isinstance(operation, TriStateReLU):
            return operation, kernel_size
        kernel_size += _kernel_size(operation)
        parents = keras_private.node_input_tensors(operation, node_index)
        if len(parents) != 1:
            break
        tensor = parents[0]
    return tensor.shape[-1] or 1, kernel_size


@neuronselect_export
class TriStateReLU(keras.layers.Layer):
    """``f(x) = w * x`` for ``x >= 0`` and ``w * d * x`` for ``x < 0``, per channel ``w``.

    ``w`` (``width_gate``, one per channel of the last axis, starts at 1) and ``d``
    (``depth_gate``, one per layer, starts at 0) are clipped to [0, 1]. ``w = 0`` removes a
    channel, ``d = 0`` makes the layer a ReLU and ``d = 1`` makes it linear, so it can be
    collapsed into the next layer. Inference (``training=False``) always uses the gates
    binarized at 0.5, and so does the compact model ``ns.shrink`` builds.

    Training forward pass:
        - ``straight_through=False`` (the paper): the real-valued gates. The network learns to
          rely on gates sitting mid-range (the next layer simply rescales), so unless the
          binarizing penalty has driven every gate to 0 or 1 the binarized network is a
          different, often broken, network.
        - ``straight_through=True``: the binarized gates, with a straight-through gradient
          (``w + stop_gradient(binarize(w) - w)``): the training forward pass *is* the
          inference network, so no accuracy is lost at binarization. The real-valued gate
          integrates the gradient: a closed channel still receives the gradient of "opening"
          it (its input times the output gradient) and reopens when the loss wants it more
          than the complexity term wants it closed. No binarizing penalty is needed (its pull
          towards 1 on open gates only delays pruning); ``binarize`` still works if wanted.
          An open gate gets no loss gradient on average (the next layer absorbs any scale),
          so useful channels end up hovering just above 0.5, briefly closing and reopening;
          a decaying learning rate (e.g. cosine) makes these flips rare by the end of
          training, and the shrunk model then equals the trained one exactly.

    Penalties (the paper's ``lambda_b R_b + lambda_m R_m``):
        - ``binarize * sum(w (1 - w) + d (1 - d))`` on the gates, pushing them to 0 or 1.
        - ``complexity * fan * (sum w_l) * (sum w_{l-1})`` while the layer is non-linear (the
          indicator is treated as a constant): the width product of consecutive tri-state
          layers, found by walking back through single-input layers when the layer is first
          called on a symbolic tensor. The first such layer uses its chain's input width. With
          ``straight_through=True`` the sums are of the binarized gates (straight-through), so
          the gradient on a gate is the live width of its neighbours.
        - ``linearity * (1 - d)``: favours ``d -> 1`` so layers can be collapsed (depth).

    ``complexity_measure`` sets ``fan`` and who pays for the connecting weights:
        - ``"neurons"`` (the paper, written for dense nets): ``fan = 1``, the term counts
          pairs of connected neurons, and both layers' gates get its gradient.
        - ``"parameters"``: ``fan`` = kernel weights met between the previous tri-state layer
          and this one / (previous width * this width), e.g. 25 for a 5x5 convolution and 16
          for a Dense layer after flattening a 4x4 feature map. The term is then the live
          parameter count of the connecting kernel (``complexity`` is a price per
          parameter), and both layers' gates get its gradient: a channel is charged for its
          incoming and outgoing weights.
        - ``"fan_in"``: the same value, but only this layer's gates get the gradient (the
          previous width is held constant): a unit is charged for its live incoming weights.

    The choice matters because gradient-based pruning is greedy. In LeNet-5 a conv2 channel
    feeds 16 * 500 weights of the flattened fc1 layer, so with ``"parameters"`` (and, less
    so, ``"neurons"``: 520 vs 50) conv2 is charged ten times more per unit than fc1 at the
    start and collapses before fc1 has shrunk (MNIST: 20-10-366 units, or conv2 down to one
    channel); with ``"fan_in"`` the wide fc1 layer, which holds most weights, shrinks first,
    which then makes conv2 channels cheap to keep (MNIST, ``complexity=6e-6``: 20-10-13 units,
    1.14% error, 55x fewer parameters). ``"fan_in"`` is what the recipes use.

    Args:
        binarize: ``lambda_b``, non-negative float.
        complexity: ``lambda_m`` for the width term, non-negative float.
        linearity: strength of the depth term, non-negative float.
        straight_through: train with the binarized gates and a straight-through gradient.
        learn_depth: train the depth gate. ``False`` keeps it at its value (0: a ReLU), for
            layers that cannot be collapsed anyway (e.g. followed by max-pooling) or when depth
            is not being selected: with ``straight_through=True`` an unpenalised depth gate
            otherwise drifts towards a leaky slope and flips the layer to linear at 0.5.
        complexity_measure: ``"neurons"``, ``"parameters"`` or ``"fan_in"`` (see above).
        **kwargs: base layer keyword arguments such as ``name``.
    """

    def __init__(self, binarize=0.0, complexity=0.0, linearity=0.0, straight_through=False,
                 complexity_measure="neurons", learn_depth=True, **kwargs):
        super().__init__(**kwargs)
        self.binarize = validate_non_negative_float(binarize, "binarize", "TriStateReLU")
        self.complexity = validate_non_negative_float(complexity, "complexity", "TriStateReLU")
        self.linearity = validate_non_negative_float(linearity, "linearity", "TriStateReLU")
        self.straight_through = validate_bool(straight_through, "straight_through", "TriStateReLU")
        self.complexity_measure = validate_choice(
            complexity_measure, "complexity_measure", COMPLEXITY_MEASURES, "TriStateReLU")
        self.learn_depth = validate_bool(learn_depth, "learn_depth", "TriStateReLU")
        self._previous_width = 1.0
        self._fan = 1.0

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, keras.KerasTensor):
            upstream, kernel_size = _upstream_tri_state(inputs)
            # A weak reference: the previous layer must not become a tracked sublayer.
            if isinstance(upstream, TriStateReLU):
                self._previous_width = weakref.ref(upstream)
                previous_channels = upstream.width_gate.shape[0]
            else:
                self._previous_width = previous_channels = float(upstream)
            self._fan = self._fan_from(kernel_size, previous_channels, inputs.shape[-1])
        return super().__call__(inputs, *args, **kwargs)

    def _fan_from(self, kernel_size, previous_channels, channels):
        if self.complexity_measure == "neurons" or not kernel_size or not channels:
            return 1.0
        return float(kernel_size) / (float(previous_channels) * float(channels))

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
            regularizer=regularizer if self.learn_depth else None, constraint=UnitInterval(),
            trainable=self.learn_depth,
        )

    def _training_gate(self, gate):
        """The gate as the training forward pass (and the complexity term) sees it."""
        return straight_through(gate) if self.straight_through else gate

    def _previous_width_value(self):
        if isinstance(self._previous_width, weakref.ref):
            previous = self._previous_width()
            if previous is not None and previous.built:
                total = ops.sum(previous._training_gate(previous.width_gate))
                return ops.stop_gradient(total) if self.complexity_measure == "fan_in" else total
            return 1.0
        return self._previous_width

    def _add_architecture_losses(self, width, depth):
        if self.complexity:
            nonlinear = ops.stop_gradient(1.0 - binarize(self.depth_gate))
            width_product = ops.sum(width) * self._previous_width_value()
            self.add_loss(self.complexity * self._fan * nonlinear * width_product)
        if self.linearity:
            self.add_loss(self.linearity * (1.0 - depth))

    def call(self, inputs, training=None):
        if training:
            width = self._training_gate(self.width_gate)
            depth = self._training_gate(self.depth_gate)
            self._add_architecture_losses(width, depth)
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
            "straight_through": self.straight_through,
            "complexity_measure": self.complexity_measure,
            "learn_depth": self.learn_depth,
        })
        return config
